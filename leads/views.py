from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

from alignment.names import person_name
from alignment.paging import count_up_to, keys_for
from alignment.roles import ALL_ROLES, MANAGERS, SALES, Role, role_required, user_roles
from leads import jobs
from leads import queue as queue_services
from leads.audience import Audience
from leads.exceptions import LeadError
from leads.filters import TABS, LeadListFilter, QueueFilter, queue_order
from leads.lifecycle import services as lifecycle_services
from leads.models import HANDED_OVER_STATES, LONG_LATE, ImportJob, Lead, RescoreJob, SlaBreach, Tier
from leads.presenters import clock_rows, clock_view, history_lines, why_view
from leads.queue.assignment import rep_statuses
from leads.rules import rules_for
from leads.scoping import lead_or_404, visible_leads
from leads.scoring import Rules
from leads.segmenting import placement_of, segment_book
from leads.tables import LeadListTable, QueueTable, keyset_table
from sla.models import AgreementVersion
from sla.services import in_user_segments, segment_scope

QUEUE_ROLES = SALES | {Role.ADMIN, Role.MARKETING_MANAGER, Role.MARKETER}
PER_PAGE = 25


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _decorate(leads: Any, *, now, in_force: list[AgreementVersion] | None = None) -> None:
    """Clocks in words, each in its own segment's business calendar (`in_force`: the active versions; loaded
    here in one query when not given)."""
    if in_force is None:
        in_force = list(AgreementVersion.objects.filter(status="active").select_related("segment"))
    calendars = {v.segment_id: Rules.of(v).terms.calendar for v in in_force}
    default = next((calendars[v.segment_id] for v in in_force if _is_default(v)), None)
    for lead in leads:
        lead_calendar = calendars.get(lead.segment_id, default)
        lead.clock = clock_view(lead, now=now, calendar=lead_calendar)
        lead.why = why_view(lead)


def _is_default(version: AgreementVersion) -> bool:
    return version.segment is None or version.segment.is_default


def _segment_tabs(user: Any, in_force: list[AgreementVersion]) -> list[Any]:
    """The segments to offer as queue tabs: those with an agreement in force that this user works in."""
    segments = sorted({v.segment for v in in_force if v.segment}, key=lambda s: (s.position, s.pk))
    return [s for s in segments if in_user_segments(user, s.pk)]


def _choices() -> dict[str, list[str]]:
    """Sources and campaigns to filter by; a distinct over the whole queue, so cached for a few minutes."""

    def compute() -> dict[str, list[str]]:
        base = Lead.objects.in_queue()
        return {
            name: list(
                base.exclude(**{name: ""}).order_by(name).values_list(name, flat=True).distinct()[:200]
            )
            for name in ("source", "campaign")
        }

    return cache.get_or_set("leads:queue-choices", compute, timeout=300)


def queue_leads(params: Any, *, user: Any, segment: Any = None) -> tuple[QueueFilter, QuerySet[Lead]]:
    """The queue's rows for these URL parameters (tab, filters, search): every restriction in this one place."""
    queryset = visible_leads(user, Lead.objects.in_queue().select_related("owner"))
    queryset = queryset.in_segments([segment]) if segment is not None else queryset  # the segment tab
    filterset = QueueFilter(params, queryset=queryset, user=user, choices=_choices())
    return filterset, filterset.qs


def _queue_context(request: HtmxHttpRequest) -> dict[str, Any]:
    now = timezone.now()
    params = request.GET.copy()
    if params.get("tab") not in dict(TABS):
        params["tab"] = "all"
    in_force = list(AgreementVersion.objects.filter(status="active").select_related("segment"))
    segments = _segment_tabs(request.user, in_force)
    segment = next((s for s in segments if str(s.pk) == params.get("segment")), None)
    filterset, leads = queue_leads(params, user=request.user, segment=segment)
    keys, partitions = queue_order(params["tab"], now=now)
    can_manage = bool(user_roles(request.user) & {Role.SALES_MANAGER, Role.ADMIN})
    table = keyset_table(
        QueueTable, leads, request, per_page=PER_PAGE, keys=keys, partitions=partitions,
        context={
            "can_claim": Role.REP in user_roles(request.user),
            "can_manage": can_manage,
            "user": request.user,
            "query": request.GET.urlencode(),
        },
    )  # fmt: skip
    records = table.keyset.records
    _decorate(records, now=now, in_force=in_force)
    hot_ids = [lead.pk for lead in records if lead.tier == Tier.HOT and lead.owner_id is None]
    overdue = visible_leads(request.user, Lead.objects.in_queue().overdue(now=now))
    counts = overdue.aggregate(
        overdue=Count("pk"), long_late=Count("pk", filter=Q(sla_due_at__lt=now - LONG_LATE))
    )
    return {
        "table": table,
        "filter": filterset,
        "tabs": TABS,
        "tab": params["tab"],
        "query": params.urlencode(),
        "hot_ids": ",".join(map(str, hot_ids)),
        "poll_seconds": settings.QUEUE_POLL_SECONDS,
        "overdue_count": counts["overdue"],
        "long_late_count": counts["long_late"],
        "now": now,
        "segments": segments,
        "segment": segment,
    }


@role_required(QUEUE_ROLES)
@require_GET
def queue(request: HtmxHttpRequest) -> HttpResponse:
    context = _queue_context(request)
    template = "leads/queue.html"
    if request.htmx and request.htmx.target == "queue-table":
        template += "#queue-table"
    return render(request, template, context)


def _after_action(request: HtmxHttpRequest, *, ok: str = "", error: str = "") -> HttpResponse:
    """Re-render the queue the rep was looking at (same filters, sort and page), with the outcome said.

    A refused action (the claim race lost) is still a 200 for htmx: the table is fresh and says who has the
    lead; an error status would make htmx drop the table and show only a status code.
    """
    if not request.htmx:
        if error:
            messages.error(request, error)
        elif ok:
            messages.success(request, ok)
        return redirect(f"{reverse('leads:queue')}?{request.GET.urlencode()}")
    context = _queue_context(request)
    context.update(action_ok=ok, action_error=error)
    response = render(request, "leads/queue.html#queue-table", context)
    if not error:
        trigger_client_event(response, "queueChanged")
    return response


@role_required(Role.REP)
@require_POST
def claim(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    lead = lead_or_404(request.user, pk)
    try:
        queue_services.lead_claim(lead_id=lead.pk, rep=request.user, now=timezone.now())
    except LeadError as error:
        return _after_action(request, error=str(error))
    return _after_action(
        request, ok=_("%(lead)s is yours. The first-contact clock is running.") % {"lead": lead}
    )


@role_required(SALES | {Role.ADMIN})
@require_POST
def release(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    lead = lead_or_404(request.user, pk)
    try:
        queue_services.lead_release(lead_id=lead.pk, user=request.user, now=timezone.now())
    except LeadError as error:
        return _after_action(request, error=str(error))
    return _after_action(request, ok=_("%(lead)s is back in the shared queue.") % {"lead": lead})


@role_required(Role.SALES_MANAGER, Role.ADMIN)
@require_http_methods(["GET", "POST"])
def assign(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    lead = lead_or_404(request.user, pk, Lead.objects.select_related("owner"))
    if request.method == "GET":
        # the reps of the lead's segment team (everyone's when it has none: leads.audience), each marked when
        # away, off hours or over capacity (a manager may still choose them)
        team = set(Audience.load(Role.REP).ids_of(lead.segment_id))
        reps = [status for status in rep_statuses(now=timezone.now()) if status.user.pk in team]
        return render(
            request, "leads/_assign_form.html", {"lead": lead, "reps": reps, "query": request.GET.urlencode()}
        )
    User = get_user_model()
    try:
        rep = User.objects.get(pk=int(request.POST.get("rep", "0")))
    except (ValueError, User.DoesNotExist):
        return _after_action(request, error=_("Choose a rep to assign the lead to."))
    if not in_user_segments(rep, lead.segment_id):
        return _after_action(
            request, error=_("%(rep)s does not work in this lead's segment.") % {"rep": person_name(rep)}
        )
    try:
        queue_services.lead_assign(lead_id=lead.pk, rep=rep, by=request.user, now=timezone.now())
    except LeadError as error:
        return _after_action(request, error=str(error))
    return _after_action(
        request, ok=_("%(lead)s assigned to %(rep)s.") % {"lead": lead, "rep": person_name(rep)}
    )


@role_required(Role.REP, Role.SALES_MANAGER)
@require_GET
def my_day(request: HtmxHttpRequest) -> HttpResponse:
    """A rep's day: my leads by urgency, what is due next, what I missed."""
    now = timezone.now()
    mine = list(  # only the leads of the user's segments, as the queue shows them
        visible_leads(request.user, Lead.objects.in_queue().filter(owner=request.user))
        .select_related("owner")
        .by_priority()[:200]
    )
    _decorate(mine, now=now)
    end_of_day = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    overdue = [lead for lead in mine if lead.sla_due_at and lead.sla_due_at <= now]
    today = [lead for lead in mine if lead.sla_due_at and now < lead.sla_due_at <= end_of_day]
    later = [lead for lead in mine if lead not in overdue and lead not in today]
    missed = SlaBreach.objects.filter(owner=request.user, detected_at__gte=now - timedelta(days=7))
    scope = segment_scope(request.user)
    if scope is not None:  # a member of some segments: only what they missed there
        owned = Q(pk__in=[])
        for segment in scope:
            owned |= segment.owns("lead__segment")
        missed = missed.filter(owned)
    missed = missed.select_related("lead")[:50]
    unassigned_hot = (
        visible_leads(request.user, Lead.objects.in_queue()).filter(owner__isnull=True, tier=Tier.HOT).count()
    )
    return render(
        request,
        "leads/my_day.html",
        {
            "overdue": overdue,
            "today": today,
            "later": later,
            "missed": missed,
            "unassigned_hot": unassigned_hot,
        },
    )


@role_required(ALL_ROLES)
@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_or_404(request.user, pk, Lead.objects.select_related("owner", "scored_with"))
    now = timezone.now()
    _decorate([lead], now=now)
    activities = lead.activities.order_by("-occurred_at")[:100]
    events = lead.events.select_related("actor").order_by("-at", "-pk")[:100]
    book = segment_book()
    return render(
        request,
        "leads/detail.html",
        {
            "lead": lead,
            "activities": activities,
            "events": history_lines(
                list(events), segment_conditions={spec.id: spec.conditions for spec in book.specs}
            ),
            "identities": lead.identities.all(),
            "data_problems": lead.data_problems.order_by("-created_at", "-pk")[:50],
            "breaches": lead.breaches.select_related("owner", "new_owner"),
            "b": lead.evaluation,
            "now": now,
            "clock_rows": clock_rows(lead, now=now),
            "placement": placement_of(lead, book),
            "can_claim": Role.REP in user_roles(request.user)
            and lead.owner_id is None
            and lead.state == "mql",
            **_waiting_context(request, lead),
        },
    )


def _may_pause(user: Any, lead: Lead) -> bool:
    """The owner, or a sales manager, says a lead with sales waits on the customer (and when it answered)."""
    roles = user_roles(user)
    if lead.state not in HANDED_OVER_STATES:
        return False
    return Role.SALES_MANAGER in roles or (Role.REP in roles and lead.owner_id == user.pk)


def _waiting_context(request: HttpRequest, lead: Lead) -> dict[str, bool]:
    rules = rules_for(lead.segment_id)
    return {
        "can_pause": _may_pause(request.user, lead),
        "pause_allowed": bool(rules and rules.terms.pause_on_customer),
    }


@role_required(SALES)
@require_POST
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead waits on the customer: its clocks stop (if the agreement allows it)."""
    return _waiting_action(
        request, pk, lifecycle_services.lead_pause, _("Waiting on the customer: clocks paused.")
    )


@role_required(SALES)
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer answered: clocks run again, deadlines moved by the wait."""
    return _waiting_action(
        request, pk, lifecycle_services.lead_resume, _("Clocks resumed; deadlines moved by the time waited.")
    )


def _waiting_action(request: HttpRequest, pk: int, service: Any, ok: str) -> HttpResponse:
    lead = lead_or_404(request.user, pk)
    if not _may_pause(request.user, lead):
        messages.error(
            request, _("Only the lead's owner or a sales manager can do this while the lead is with sales.")
        )
        return redirect(lead.get_absolute_url())
    try:
        service(lead_id=lead.pk, actor=request.user, now=timezone.now())
    except LeadError as error:
        messages.error(request, str(error))
        return redirect(lead.get_absolute_url())
    messages.success(request, ok)
    return redirect(lead.get_absolute_url())


@role_required(ALL_ROLES)
@require_GET
def rescore_status(request: HttpRequest) -> HttpResponse:
    """The progress of the rescoring run an agreement's activation started (polled while it runs)."""
    version_id = request.GET.get("version", "")
    if version_id and not version_id.isdigit():
        raise Http404("No such agreement version.")
    job = (
        RescoreJob.objects.filter(agreement_id=int(version_id))
        .select_related("agreement")
        .order_by("-created_at")
        .first()
        if version_id
        else None
    )
    if job is not None and not _job_in_user_segments(request.user, job):
        raise Http404("No such agreement version.")
    return render(request, "leads/_rescore_status.html", _rescore_context(request, job))


RESCORE_RETRY_ROLES = MANAGERS | {Role.ADMIN}


def _job_in_user_segments(user: Any, job: RescoreJob) -> bool:
    """Whether the run belongs to a segment the user works in: a segment change's segment, or the segment of the
    agreement version an activation rescores."""
    segment_id = job.segment_id if job.is_segment_change else job.agreement.segment_id
    return in_user_segments(user, segment_id)


def _rescore_context(request: HttpRequest, job: RescoreJob | None) -> dict[str, Any]:
    return {"job": job, "can_retry": bool(user_roles(request.user) & RESCORE_RETRY_ROLES)}


@role_required(RESCORE_RETRY_ROLES)
@require_POST
def rescore_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a failed rescoring job again: it resumes after the last lead it finished."""
    job = get_object_or_404(RescoreJob.objects.select_related("agreement"), pk=pk)
    if not _job_in_user_segments(request.user, job):  # another team's run is not theirs to restart
        raise Http404("No such rescoring run.")
    try:
        retried = jobs.job_retry(jobs.RESCORE, job_id=job.pk, now=timezone.now())
    except IntegrityError:  # a segment change's move, while another one runs (one at a time)
        return HttpResponse(
            _("Another segment change is moving leads now; retry this one when it has finished."), status=409
        )
    if not retried:
        return HttpResponse(
            _("This rescoring run is %(status)s, not failed: nothing to retry.")
            % {"status": str(job.get_status_display()).lower()},
            status=409,
        )
    job.refresh_from_db()
    if job.is_segment_change:  # a segment change's move (leads.segments.job), shown on the segments screen
        if not request.htmx:
            messages.success(request, _("Moving the leads resumes where it stopped."))
            return redirect(f"{reverse('leads:segments')}?job={job.pk}")
        return render(request, "leads/segments/_job.html", {"segment_job": job, "can_retry": True})
    if not request.htmx:
        messages.success(request, _("Rescoring resumes where it stopped."))
        return redirect(reverse("sla:version", args=[job.agreement_id]))
    return render(request, "leads/_rescore_status.html", _rescore_context(request, job))


LIST_PER_PAGE = 50
LIST_COUNT_UP_TO = (
    10_000  # counted exactly up to here, "more than" beyond: a count of 1M leads costs a heap scan
)


@role_required(ALL_ROLES)
@require_GET
def lead_list(request: HtmxHttpRequest) -> HttpResponse:
    """Find any lead: every state, imported ones included, searchable, filtered and sorted from the URL."""
    sources = cache.get_or_set(
        "leads:list-sources",
        lambda: list(
            Lead.objects.exclude(source="")
            .order_by("source")
            .values_list("source", flat=True)
            .distinct()[:200]
        ),
        timeout=300,
    )
    queryset = visible_leads(request.user, Lead.objects.select_related("owner"))
    filterset = LeadListFilter(request.GET, queryset=queryset, sources=sources)
    if filterset.is_bound and not filterset.is_valid():
        # A hand-edited URL (import_job=abc): say so rather than fail
        return render(request, "leads/list.html", {"filter": filterset, "table": None}, status=400)
    leads = filterset.qs
    table = keyset_table(
        LeadListTable, leads, request, per_page=LIST_PER_PAGE, keys=keys_for(Lead, ["-updated_at"])
    )
    table.total = count_up_to(leads, LIST_COUNT_UP_TO)
    job_id = filterset.form.cleaned_data.get("import_job")
    context = {
        "filter": filterset,
        "table": table,
        "import_job": ImportJob.objects.defer("data", "errors").filter(pk=job_id).first() if job_id else None,
    }
    template = "leads/list.html"
    if request.htmx and request.htmx.target == "leads-table":
        template += "#leads-table"
    return render(request, template, context)
