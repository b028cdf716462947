"""Apply a lifecycle move to a stored lead: the state change, the clocks it stops, the owner it clears, the
event it records; then restamp the lead's SLA clocks. The rules themselves are leads.lifecycle.rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from leads.exceptions import LeadError
from leads.lifecycle import rules as life
from leads.lifecycle.hand_overs import hand_over_end
from leads.models import Lead, LeadEvent, SlaBreach
from leads.queue.clocks import stamp_clocks
from leads.rules import rules_for
from leads.signals import lead_state_changed
from sla.terms import TermsError

STOP_FIELDS = {
    life.Stop.CLAIM: "claimed_at",
    life.Stop.FIRST_CONTACT: "first_contact_at",
    life.Stop.DECISION: "decided_at",
    life.Stop.OUTCOME: "outcome_at",
}


@transaction.atomic
def lead_progress(
    *, lead_id: int, actor: Any, now: datetime, action: life.Action | str, reason: str = ""
) -> Lead:
    """Move a lead by `action` (leads.lifecycle.rules.MOVES): change its state, stop its clocks, clear its owner
    as the move says, record the event, and restamp its SLA clocks. Locks the row.

    The move is refused if the lead's state no longer allows it (a concurrent change got there first).
    """
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead_id)
    try:
        chosen = life.move(action, lead.state)
    except life.NotAllowed as error:
        raise LeadError(
            _("This lead is now %(state)s; refresh the page to see its latest state.")
            % {"state": lead.get_state_display()}
        ) from error
    changed = ["updated_at"]
    for stop in chosen.stops:
        field = STOP_FIELDS[stop]
        if getattr(lead, field) is None:
            setattr(lead, field, now)
            changed.append(field)
    if chosen.to and chosen.to != lead.state:
        LeadEvent.objects.create(
            lead=lead, at=now, kind=LeadEvent.Kind.STATE, from_value=lead.state, to_value=chosen.to,
            actor=actor, actor_label=actor.get_username(), reason=reason[:500],
        )  # fmt: skip
        lead_state_changed.send(
            sender=Lead, lead_id=lead.pk, from_state=lead.state, to_state=chosen.to.value,
            actor_id=actor.pk if getattr(actor, "is_authenticated", False) else None, reason=reason, at=now,
        )  # fmt: skip
        if lead.state in life.WITH_SALES and chosen.to not in life.WITH_SALES:
            hand_over_end(lead_id=lead.pk, at=now)  # the lead left sales: its hand-over is over
        lead.state = chosen.to.value
        changed.append("state")
    if chosen.clears_owner and lead.owner_id:
        LeadEvent.objects.create(
            lead=lead, at=now, kind=LeadEvent.Kind.OWNER, from_value=lead.owner.get_username(), to_value="",
            actor=actor, actor_label=actor.get_username(), reason=reason[:500],
        )  # fmt: skip
        lead.owner = None
        changed.append("owner")
    if chosen.action == life.Action.ACCEPT:
        changed += _status_update_restart(lead, now)
    lead.updated_at = now
    changed += _stamp(lead)
    lead.save(update_fields=changed)
    return lead


def _stamp(lead: Lead) -> list[str]:
    flagged = set(SlaBreach.objects.filter(lead=lead).values_list("clock", "deadline"))
    return stamp_clocks(lead, flagged=flagged)


def _status_update_restart(lead: Lead, now: datetime) -> list[str]:
    """Start the status-update clock afresh from `now` (the status_update_days of the lead's own segment's
    agreement, for its tier, counted in that agreement's calendar)."""
    rules = rules_for(lead.segment_id)
    if rules is None:
        return []
    try:
        lead.status_update_due_at = rules.terms.status_update_due(tier=lead.tier, since=now)
    except TermsError:
        return []  # a lead without a tier has no terms to report against
    return ["status_update_due_at"]


@transaction.atomic
def lead_status_updated(*, lead_id: int, now: datetime) -> Lead:
    """The owner reported on an accepted lead (a contact logged): the status-update clock restarts from now."""
    lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
    if life.Clock.STATUS_UPDATE not in life.clocks_running_in(lead.state):
        return lead
    changed = _status_update_restart(lead, now)
    if changed:
        lead.updated_at = now
        lead.save(update_fields=[*changed, "updated_at", *_stamp(lead)])
    return lead


@transaction.atomic
def lead_pause(*, lead_id: int, actor: Any, now: datetime) -> Lead:
    """The lead waits on the customer: every clock stops until `lead_resume` (only if the agreement allows it)."""
    lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
    rules = rules_for(lead.segment_id)  # the lead's own segment's agreement says whether it may wait
    allowed = bool(rules and rules.terms.pause_on_customer)
    if not life.may_pause(lead.state, allowed_by_terms=allowed, paused=lead.paused_at is not None):
        if not allowed:
            raise LeadError(
                _("The agreement in force does not allow pausing the clocks while waiting on the customer.")
            )
        if lead.paused_at is not None:
            raise LeadError(_("This lead is already waiting on the customer."))
        raise LeadError(
            _("This lead is %(state)s: it is not with sales, so it has no clocks to pause.")
            % {"state": lead.get_state_display()}
        )
    lead.paused_at, lead.updated_at = now, now
    LeadEvent.objects.create(
        lead=lead, at=now, kind=LeadEvent.Kind.STATE, from_value=lead.state, to_value=lead.state,
        actor=actor, actor_label=actor.get_username(), reason="waiting on the customer (clocks paused)",
    )  # fmt: skip
    lead.save(update_fields=["paused_at", "updated_at", *_stamp(lead)])
    return lead


@transaction.atomic
def lead_resume(*, lead_id: int, actor: Any, now: datetime) -> Lead:
    """The customer answered: the clocks run again, every deadline moved later by the time the lead waited."""
    lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
    if lead.paused_at is None:
        raise LeadError(_("This lead is not waiting on the customer."))
    paused_from = lead.paused_at
    for field in PAUSABLE_DEADLINES:
        setattr(lead, field, life.shift(getattr(lead, field), paused_from=paused_from, resumed_at=now))
    lead.paused_at, lead.updated_at = None, now
    waited = now - paused_from
    LeadEvent.objects.create(
        lead=lead, at=now, kind=LeadEvent.Kind.STATE, from_value=lead.state, to_value=lead.state,
        actor=actor, actor_label=actor.get_username(),
        reason=f"customer answered (clocks resumed, deadlines moved by {_duration(waited)})",
    )  # fmt: skip
    lead.save(update_fields=[*PAUSABLE_DEADLINES, "paused_at", "updated_at", *_stamp(lead)])
    return lead


PAUSABLE_DEADLINES = (
    "claim_due_at",
    "first_contact_due_at",
    "accept_due_at",
    "outcome_due_at",
    "status_update_due_at",
)


def _duration(delta: Any) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(part for part in parts if part) or "under a minute"
