"""The CRM write-back export (leads/crm_export.py) as a download for managers."""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from alignment.roles import Role, role_required
from leads import crm_export as export


@role_required(Role.MARKETING_MANAGER, Role.SALES_MANAGER, Role.ADMIN)
@require_GET
def crm_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """MQL status and reason for HubSpot or Salesforce (`?since=YYYY-MM-DD`: leads changed since that day)."""
    if fmt not in export.FORMATS:
        return HttpResponse(
            _("Unknown format: use hubspot or salesforce."), status=404, content_type="text/plain"
        )
    since_text = request.GET.get("since", "")
    try:
        since_date = parse_date(since_text) if since_text else None
    except ValueError:
        since_date = None
    if since_text and since_date is None:
        return HttpResponse("since: use a date like 2026-12-01.", status=400, content_type="text/plain")
    since = timezone.make_aware(datetime.combine(since_date, time.min)) if since_date else None
    rows = export.crm_csv(fmt=fmt, leads=export.crm_leads(since=since), site_url=settings.SITE_URL)
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="alignment-{fmt}-leads.csv"'
    return response
