"""Moves of a lead through sales' hands that other apps (feedback) ask for: stop a clock, change state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from leads.exceptions import LeadError
from leads.models import Lead, LeadEvent, SlaBreach, State
from leads.queue.clocks import stamp_clocks

CLOCK_FIELDS = {"first_contact": "first_contact_at", "decision": "decided_at", "outcome": "outcome_at"}


@transaction.atomic
def lead_progress(
    *,
    lead_id: int,
    actor: Any,
    now: datetime,
    to_state: State | None = None,
    expect_states: tuple[str, ...] = (),
    stop: tuple[str, ...] = (),
    clear_owner: bool = False,
    reason: str = "",
) -> Lead:
    """Change a lead's state and/or stop clocks, record the event, and restamp its SLA clocks. Locks the row.

    `expect_states` guards against a concurrent change: the move is refused if the lead is no longer in one.
    """
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead_id)
    if expect_states and lead.state not in expect_states:
        raise LeadError(
            f"This lead is now {lead.get_state_display()}; refresh the page to see its latest state."
        )
    changed = ["updated_at"]
    for clock in stop:
        field = CLOCK_FIELDS[clock]
        if getattr(lead, field) is None:
            setattr(lead, field, now)
            changed.append(field)
    if to_state and to_state != lead.state:
        LeadEvent.objects.create(
            lead=lead, at=now, kind=LeadEvent.Kind.STATE, from_value=lead.state, to_value=to_state,
            actor=actor, actor_label=actor.get_username(), reason=reason[:500],
        )  # fmt: skip
        lead.state = to_state
        changed.append("state")
    if clear_owner and lead.owner_id:
        LeadEvent.objects.create(
            lead=lead, at=now, kind=LeadEvent.Kind.OWNER, from_value=lead.owner.get_username(), to_value="",
            actor=actor, actor_label=actor.get_username(), reason=reason[:500],
        )  # fmt: skip
        lead.owner = None
        changed.append("owner")
    lead.updated_at = now
    flagged = set(SlaBreach.objects.filter(lead=lead).values_list("clock", "deadline"))
    changed += stamp_clocks(lead, flagged=flagged)
    lead.save(update_fields=changed)
    return lead
