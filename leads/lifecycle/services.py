"""Apply a lifecycle move to a stored lead: the state change, the clocks it stops, the owner it clears, the
event it records; then restamp the lead's SLA clocks. The rules themselves are leads.lifecycle.rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from leads.exceptions import LeadError
from leads.lifecycle import rules as life
from leads.models import Lead, LeadEvent, SlaBreach
from leads.queue.clocks import stamp_clocks
from leads.signals import lead_state_changed

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
            f"This lead is now {lead.get_state_display()}; refresh the page to see its latest state."
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
        lead.state = chosen.to.value
        changed.append("state")
    if chosen.clears_owner and lead.owner_id:
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
