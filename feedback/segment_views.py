"""The what-if page's segment part (loaded into it): open leads that would change segment."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from alignment.roles import role_required
from feedback.review_views import WHATIF_ROLES
from leads.segments.moves import moves_under
from sla.models import AgreementVersion
from sla.segment_book import SegmentBook
from sla.services import in_user_segments


@role_required(WHATIF_ROLES)
@require_GET
def whatif_segments(request: HttpRequest, pk: int) -> HttpResponse:
    version = AgreementVersion.objects.select_related("segment").filter(pk=pk).first()
    if version is None or not in_user_segments(request.user, version.segment_id):
        raise Http404("No such agreement version.")
    context = {"version": version, "moves": moves_under(SegmentBook.load(), segment_id=version.segment_id)}
    return render(request, "feedback/_whatif_segments.html", context)
