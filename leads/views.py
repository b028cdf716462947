from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from alignment.roles import ALL_ROLES, role_required
from leads.models import Lead, RescoreJob


@role_required(ALL_ROLES)
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead.objects.select_related("owner", "scored_with"), pk=pk)
    activities = lead.activities.order_by("-occurred_at")[:100]
    events = lead.events.select_related("actor").order_by("-at", "-pk")[:100]
    identities = lead.identities.all()
    return render(
        request,
        "leads/detail.html",
        {
            "lead": lead,
            "activities": activities,
            "events": events,
            "identities": identities,
            "b": lead.breakdown,
        },
    )


@role_required(ALL_ROLES)
@require_GET
def rescore_status(request: HttpRequest) -> HttpResponse:
    """The progress of the rescoring run an agreement's activation started (polled while it runs)."""
    version_id = request.GET.get("version", "")
    job = (
        RescoreJob.objects.filter(agreement_id=int(version_id)).order_by("-created_at").first()
        if version_id.isdigit()
        else None
    )
    return render(request, "leads/_rescore_status.html", {"job": job})
