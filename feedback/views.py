"""The outcome panel (inline on the lead page and the queue row), the nurture list, the reason lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event
from django_tables2 import RequestConfig

from alignment.roles import ALL_ROLES, MARKETING, SALES, Role, role_required, user_roles
from feedback import services
from feedback.exceptions import OutcomeRefused
from feedback.forms import (
    ContactForm,
    DisqualifyForm,
    LoseForm,
    OpportunityForm,
    QualifyForm,
    RejectForm,
    WinForm,
)
from feedback.models import ContactAttempt, Cycle
from feedback.tables import NurtureTable
from leads.lifecycle import rules as life
from leads.models import Lead, State
from leads.scoping import lead_or_404

RECORDERS = SALES | {Role.ADMIN}
# The lifecycle action behind each form: panel.html shows a form when the lifecycle allows its action (`can`);
# a refusal on a form it does not show goes on top of the panel.
FORM_ACTIONS = {
    "contact_form": life.Action.CONTACT,
    "accept_form": life.Action.ACCEPT,
    "reject_form": life.Action.REJECT,
    "qualify_form": life.Action.QUALIFY,
    "disqualify_form": life.Action.DISQUALIFY,
    "opportunity_form": life.Action.OPPORTUNITY,
    "win_form": life.Action.WIN,
    "lose_form": life.Action.LOSE,
}


def _panel_context(request: HttpRequest, lead: Lead, **forms_: Any) -> dict[str, Any]:
    cycle = (
        Cycle.objects.filter(lead=lead)
        .select_related("rejection_reason", "outcome_reason", "agreement")
        .last()
    )
    roles = user_roles(request.user)
    can_record = bool(
        roles & {Role.SALES_MANAGER, Role.ADMIN} or (Role.REP in roles and lead.owner_id == request.user.pk)
    )
    qualify_form = forms_.pop("qualify_form", None)
    can = {action.value: True for action in life.allowed_actions(lead.state)}
    if qualify_form is None and cycle and can.get(life.Action.QUALIFY):
        try:
            criteria = services.sql_criteria_for(cycle)
        except OutcomeRefused:
            criteria = None
        if criteria:
            qualify_form = QualifyForm(criteria=criteria, answers=cycle.qualification, prefix="q")
    return {
        "lead": lead,
        "cycle": cycle,
        "cycles": Cycle.objects.filter(lead=lead).select_related(
            "rejection_reason", "outcome_reason", "owner"
        ),
        "contacts": ContactAttempt.objects.filter(lead=lead).select_related("rep")[:20],
        "can_record": can_record and cycle is not None and cycle.closed_at is None,
        "needs_claim": Role.REP in roles and lead.owner_id is None and bool(can.get(life.Action.CLAIM)),
        "can": can,
        "qualifying_moves_on": bool(can.get(life.Action.QUALIFY))
        and life.next_state(life.Action.QUALIFY, lead.state) != lead.state,
        "contact_form": forms_.pop("contact_form", None) or ContactForm(prefix="contact"),
        "reject_form": forms_.pop("reject_form", None) or RejectForm(prefix="reject"),
        "qualify_form": qualify_form,
        "opportunity_form": forms_.pop("opportunity_form", None)
        or OpportunityForm(
            prefix="opp",
            initial={"amount": cycle.opportunity_amount, "expected_close": cycle.expected_close}
            if cycle
            else {},
        ),
        "win_form": forms_.pop("win_form", None)
        or WinForm(prefix="win", initial={"amount": cycle.opportunity_amount if cycle else None}),
        "lose_form": forms_.pop("lose_form", None) or LoseForm(prefix="lose"),
        "disqualify_form": forms_.pop("disqualify_form", None) or DisqualifyForm(prefix="dq"),
        **forms_,
    }


@role_required(ALL_ROLES)
@require_GET
def panel(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_or_404(request.user, pk, Lead.objects.select_related("owner"))
    return render(request, "feedback/panel.html#outcome-panel", _panel_context(request, lead))


def _act(
    request: HttpRequest,
    pk: int,
    form: forms.Form,
    name: str,
    action: Callable[[Lead, dict[str, Any]], Any],
    done: str,
) -> HttpResponse:
    """Validate the form, run the service, and answer with the refreshed panel (422 with the reason if refused)."""
    lead = lead_or_404(request.user, pk, Lead.objects.select_related("owner"))
    status = 200
    message = ""
    if form.is_valid():
        try:
            action(lead, form.cleaned_data)
            message = done
        except OutcomeRefused as error:
            form.add_error(None, str(error))
            status = 422
    else:
        status = 422
    lead.refresh_from_db()
    context = _panel_context(request, lead, **({name: form} if status != 200 else {}))
    context["panel_message"] = message
    if status != 200 and not (context["can_record"] and life.allowed(FORM_ACTIONS[name], lead.state)):
        context["panel_error"] = " ".join(form.non_field_errors()) or _(
            "This step is not open for this lead now."
        )
    response = render(request, "feedback/panel.html#outcome-panel", context, status=status)
    if status == 200:
        trigger_client_event(response, "leadChanged")
    return response


def _with_reason(
    request: HttpRequest, pk: int, form: forms.Form, name: str, service: Callable[..., Any], done: str
) -> HttpResponse:
    """Reject, lose and disqualify: the same form (reason from a managed list + comment), another service."""
    return _act(request, pk, form, name, lambda lead, data: service(
        lead_id=lead.pk, user=request.user, now=timezone.now(), reason=data["reason"], comment=data["comment"]), done)  # fmt: skip


@role_required(RECORDERS)
@require_POST
def contact(request: HttpRequest, pk: int) -> HttpResponse:
    form = ContactForm(request.POST, prefix="contact")
    return _act(request, pk, form, "contact_form", lambda lead, data: services.contact_log(
        lead_id=lead.pk, user=request.user, now=timezone.now(), **data), _("Contact logged."))  # fmt: skip


@role_required(RECORDERS)
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, forms.Form(request.POST), "accept_form", lambda lead, data: services.lead_accept(
        lead_id=lead.pk, user=request.user, now=timezone.now()), _("Accepted: this is now a sales-accepted lead."))  # fmt: skip


@role_required(RECORDERS)
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _with_reason(request, pk, RejectForm(request.POST, prefix="reject"), "reject_form", services.lead_reject,
                        _("Rejected and recycled to marketing with your reason."))  # fmt: skip


@role_required(RECORDERS)
@require_POST
def qualify(request: HttpRequest, pk: int) -> HttpResponse:
    lead = lead_or_404(request.user, pk)
    cycle = Cycle.objects.filter(lead=lead, closed_at__isnull=True).first()
    try:
        criteria = services.sql_criteria_for(cycle) if cycle else None
    except OutcomeRefused:
        criteria = None
    if criteria is None:
        context = _panel_context(request, lead, panel_error=_("This lead has no open hand-over to qualify."))
        return render(request, "feedback/panel.html#outcome-panel", context, status=422)
    form = QualifyForm(request.POST, criteria=criteria, answers={}, prefix="q")
    return _act(request, pk, form, "qualify_form", lambda lead, data: services.lead_qualify(
        lead_id=lead.pk, user=request.user, now=timezone.now(), answers=form.answers()),
        _("Qualified: this is now a sales-qualified lead."))  # fmt: skip


@role_required(RECORDERS)
@require_POST
def opportunity(request: HttpRequest, pk: int) -> HttpResponse:
    form = OpportunityForm(request.POST, prefix="opp")
    return _act(request, pk, form, "opportunity_form", lambda lead, data: services.opportunity_set(
        lead_id=lead.pk, user=request.user, now=timezone.now(), **data), _("Opportunity saved."))  # fmt: skip


@role_required(RECORDERS)
@require_POST
def win(request: HttpRequest, pk: int) -> HttpResponse:
    form = WinForm(request.POST, prefix="win")
    return _act(request, pk, form, "win_form", lambda lead, data: services.lead_win(
        lead_id=lead.pk, user=request.user, now=timezone.now(), amount=data["amount"]), _("Won. Well done!"))  # fmt: skip


@role_required(RECORDERS)
@require_POST
def lose(request: HttpRequest, pk: int) -> HttpResponse:
    return _with_reason(request, pk, LoseForm(request.POST, prefix="lose"), "lose_form", services.lead_lose,
                        _("Recorded as lost."))  # fmt: skip


@role_required(RECORDERS)
@require_POST
def disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    return _with_reason(request, pk, DisqualifyForm(request.POST, prefix="dq"), "disqualify_form",
                        services.lead_disqualify, _("Recorded as disqualified."))  # fmt: skip


@role_required(MARKETING | {Role.SALES_MANAGER, Role.ADMIN})
@require_GET
def nurture(request: HttpRequest) -> HttpResponse:
    """Leads sales handed back, with why: marketing's nurture pool."""
    cycles = (
        Cycle.objects.filter(outcome=Cycle.Outcome.REJECTED, lead__state=State.RECYCLED)
        .select_related("lead", "rejection_reason", "owner")
        .order_by("-rejected_at")
    )
    reason = request.GET.get("reason", "")
    if reason.isdigit():
        cycles = cycles.filter(rejection_reason_id=int(reason))
    table = NurtureTable(cycles)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    counts = (
        Cycle.objects.filter(outcome=Cycle.Outcome.REJECTED, lead__state=State.RECYCLED)
        .values("rejection_reason__id", "rejection_reason__label")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    template = "feedback/nurture.html"
    if getattr(request, "htmx", None) and request.htmx.target == "nurture-table":
        template += "#nurture-table"
    return render(request, template, {"table": table, "counts": counts, "reason": reason})
