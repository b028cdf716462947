"""The segments screen: every segment a user works in, in precedence order; an admin or the segment's managers
edit one (name, conditions, team, precedence), see how many open leads a change would move, and apply it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alignment.roles import ALL_ROLES, MANAGERS, Role, role_required, user_roles
from leads.models import RescoreJob
from leads.segmenting import segment_book
from leads.segments.job import segment_job_shown, segment_job_start
from leads.segments.moves import book_with, moves_under
from leads.segments.rows import segment_rows
from sla.forms import LEAD_FIELDS
from sla.models import Segment
from sla.segment_forms import SegmentForm, condition_formset
from sla.segment_services import (
    SegmentRefused,
    may_create_segment,
    may_edit_segment,
    segment_move,
    segment_save,
    team_candidates,
)
from sla.segments import SegmentError
from sla.services import in_user_segments

EDITORS = MANAGERS | {Role.ADMIN}


def _segment_or_404(user: Any, pk: int) -> Segment:
    segment = Segment.objects.select_related("team").filter(pk=pk).first()
    if segment is None or not in_user_segments(user, segment.pk):
        raise Http404("No such segment.")
    return segment


@role_required(ALL_ROLES)
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    context = {"rows": segment_rows(request.user), "can_create": may_create_segment(request.user),
               **_job_context(request, segment_job_shown(request.GET.get("job")))}  # fmt: skip
    return render(request, "leads/segments/list.html", context)


@role_required(ALL_ROLES)
@require_GET
def segment_job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress of a segment change moving its leads (polled while it runs)."""
    job = RescoreJob.objects.filter(pk=pk, agreement__isnull=True).first()
    context = _job_context(request, job)
    if context["segment_job"] is None:
        raise Http404("No such segment change.")
    return render(request, "leads/segments/_job.html", context)


@role_required(EDITORS)
@require_http_methods(["GET", "POST"])
def segment_new(request: HttpRequest) -> HttpResponse:
    if not may_create_segment(request.user):
        raise PermissionDenied(_("Only an admin or a manager of every segment creates segments."))
    return _edit(request, None)


@role_required(ALL_ROLES)
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment_or_404(request.user, pk)
    if request.method == "POST" and not may_edit_segment(request.user, segment):
        raise PermissionDenied(_("You do not manage the segment “%(name)s”.") % {"name": segment.name})
    return _edit(request, segment)


@role_required(EDITORS)
@require_POST
def segment_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview alone (htmx, as the conditions change): how many open leads the typed conditions would move."""
    segment = _segment_or_404(request.user, pk)
    if not may_edit_segment(request.user, segment):
        raise PermissionDenied(_("You do not manage the segment “%(name)s”.") % {"name": segment.name})
    conditions = condition_formset(segment, request.POST)
    typed = conditions.conditions() if conditions.is_valid() else None
    context = {"segment": segment, "preview": _preview(segment, typed) if typed is not None else None,
               "unreadable": typed is None}  # fmt: skip
    return render(request, "leads/segments/edit.html#segment-preview", context)


@role_required(EDITORS)
@require_POST
def segment_precedence(request: HttpRequest, pk: int, direction: str) -> HttpResponse:
    segment = _segment_or_404(request.user, pk)
    if direction not in ("up", "down"):
        raise Http404("No such direction.")
    now = timezone.now()
    try:
        segment_move(user=request.user, now=now, segment_id=segment.pk, direction=direction)
    except SegmentRefused as error:
        messages.error(request, str(error))
        return redirect("leads:segments")
    job = _moves_start(request, segment, now)
    return redirect(_with_job(reverse("leads:segments"), job))


def _edit(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    candidates = list(team_candidates())
    member_ids = list(segment.members.values_list("pk", flat=True)) if segment else []
    editable = segment is None or may_edit_segment(request.user, segment)
    if request.method == "GET":
        form = SegmentForm(initial=SegmentForm.initial_from(segment, member_ids), segment=segment,
                           candidates=candidates)  # fmt: skip
        return _page(request, segment, form, condition_formset(segment), editable=editable)
    form = SegmentForm(request.POST, segment=segment, candidates=candidates)
    conditions = condition_formset(segment, request.POST)
    typed = conditions.conditions() if conditions.is_valid() else None
    if not form.is_valid() or typed is None:
        return _page(request, segment, form, conditions, editable=True, status=422)
    if request.POST.get("action") != "apply":  # Preview (the form works without JavaScript too)
        return _page(request, segment, form, conditions, editable=True, preview=_preview(segment, typed))
    now = timezone.now()
    try:
        saved = segment_save(user=request.user, now=now, segment=segment, name=form.cleaned_data["name"],
                             description=form.cleaned_data["description"], conditions=typed,
                             member_ids=form.member_ids())  # fmt: skip
    except (SegmentRefused, SegmentError) as error:
        form.add_error(None, str(error))
        return _page(request, segment, form, conditions, editable=True, status=422)
    job = _moves_start(request, saved, now)
    return redirect(_with_job(reverse("leads:segment", args=[saved.pk]), job))


def _preview(segment: Segment | None, conditions: list[dict[str, Any]]) -> Any:
    if segment is None:
        return None  # a new segment takes no lead until an agreement of its own is in force
    return moves_under(book_with(segment_book(), segment, conditions=conditions), segment_id=segment.pk)


def _page(
    request: HttpRequest,
    segment: Segment | None,
    form: SegmentForm,
    conditions: Any,
    *,
    editable: bool,
    preview: Any = None,
    status: int = 200,
) -> HttpResponse:
    if not editable:
        for field in form.fields.values():
            field.disabled = True
        for row in conditions.forms:
            for field in row.fields.values():
                field.disabled = True
    row = segment_rows(request.user, Segment.objects.filter(pk=segment.pk))[0] if segment else None
    context = {"segment": segment, "row": row, "form": form, "conditions": conditions, "editable": editable,
               "preview": preview, "lead_fields": LEAD_FIELDS,
               **_job_context(request, segment_job_shown(request.GET.get("job")) if segment else None)}  # fmt: skip
    return render(request, "leads/segments/edit.html", context, status=status)


def _moves_start(request: HttpRequest, segment: Segment, now: Any) -> RescoreJob | None:
    """Hand the open leads the change moves to the background job (the one running, if any) and say so."""
    lead_ids = moves_under(segment_book(), segment_id=segment.pk).lead_ids
    job = segment_job_start(segment_id=segment.pk, lead_ids=lead_ids, now=now)
    if job is None:
        messages.success(
            request, _("Saved “%(name)s”. No open lead changes segment.") % {"name": segment.name}
        )
    else:
        messages.success(request, _("Saved “%(name)s”. Its open leads move in the background (below).")
                         % {"name": segment.name})  # fmt: skip
    return job


def _with_job(url: str, job: RescoreJob | None) -> str:
    return f"{url}?job={job.pk}" if job else url


def _job_context(request: HttpRequest, job: RescoreJob | None) -> dict[str, Any]:
    if job is not None and (job.segment_id is None or not in_user_segments(request.user, job.segment_id)):
        job = None  # another team's change: not theirs to follow
    return {"segment_job": job, "can_retry": bool(user_roles(request.user) & EDITORS)}
