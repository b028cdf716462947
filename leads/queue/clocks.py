"""Which SLA clocks of a lead are running and when the next one falls due. Pure Python, no ORM."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from leads.lifecycle.rules import Clock, clocks_running


@dataclass(frozen=True)
class ClockState:
    state: str
    claim_due_at: datetime | None
    first_contact_due_at: datetime | None
    accept_due_at: datetime | None
    outcome_due_at: datetime | None
    claimed_at: datetime | None
    first_contact_at: datetime | None
    decided_at: datetime | None
    outcome_at: datetime | None
    status_update_due_at: datetime | None = None
    paused_at: datetime | None = None


def running_clocks(lead: ClockState) -> list[tuple[str, datetime]]:
    """(clock, deadline) of each clock that has started and not stopped, soonest first.

    The claim and accept clocks run while the lead waits as an MQL; first contact until a contact is logged;
    the outcome clock until an outcome is recorded; the status-update clock while accepted (each update moves
    its deadline). A recycled or closed lead, or one waiting on the customer (paused), has no running clock.
    """
    running = clocks_running(lead.state, paused=lead.paused_at is not None)
    clocks = []
    if Clock.CLAIM in running and lead.claimed_at is None and lead.claim_due_at:
        clocks.append(("claim", lead.claim_due_at))
    if Clock.FIRST_CONTACT in running and lead.first_contact_at is None and lead.first_contact_due_at:
        clocks.append(("first_contact", lead.first_contact_due_at))
    if Clock.ACCEPT in running and lead.decided_at is None and lead.accept_due_at:
        clocks.append(("accept", lead.accept_due_at))
    if Clock.OUTCOME in running and lead.outcome_at is None and lead.outcome_due_at:
        clocks.append(("outcome", lead.outcome_due_at))
    if Clock.STATUS_UPDATE in running and lead.status_update_due_at:
        clocks.append(("status_update", lead.status_update_due_at))
    return sorted(clocks, key=lambda clock: clock[1])


def next_check(lead: ClockState, *, flagged: Iterable[tuple[str, datetime]] = ()) -> datetime | None:
    """The earliest deadline among running clocks not already flagged as breached (None: nothing to watch)."""
    done = set(flagged)
    return next((due for clock, due in running_clocks(lead) if (clock, due) not in done), None)


def clock_state(lead: object) -> ClockState:
    return ClockState(**{name: getattr(lead, name) for name in ClockState.__dataclass_fields__})


def clock_fields(lead: ClockState, *, flagged: Iterable[tuple[str, datetime]] = ()) -> dict[str, object]:
    """The stored clock summary of a lead: the soonest running clock, its deadline, and when to check next."""
    running = running_clocks(lead)
    clock, due = running[0] if running else ("", None)
    return {"sla_clock": clock, "sla_due_at": due, "next_sla_check_at": next_check(lead, flagged=flagged)}


def stamp_clocks(lead: object, *, flagged: Iterable[tuple[str, datetime]] = ()) -> list[str]:
    """Set the clock summary on a model instance; returns the field names for save(update_fields=...)."""
    fields = clock_fields(clock_state(lead), flagged=flagged)
    for name, value in fields.items():
        setattr(lead, name, value)
    return list(fields)
