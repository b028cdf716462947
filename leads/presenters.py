"""What a queue row says, computed from stored fields only (no query per row)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from alignment.names import person_name
from leads.history_words import actor_words, reason_words, segment_move_words
from leads.lifecycle.rules import LABELS, State, clocks_running_in
from leads.models import Clock, Lead, LeadEvent, Tier
from leads.queue.wording import due_words, late_words
from sla.calendar import BusinessCalendar, business_minutes_between


@dataclass(frozen=True)
class ClockView:
    label: str
    text: str
    urgency: str  # late, soon, ok, none
    due_at: datetime | None


@dataclass(frozen=True)
class WhyView:
    reasons: list[str]
    latest: str
    latest_at: datetime | None


def clock_view(lead: Lead, *, now: datetime, calendar: BusinessCalendar | None) -> ClockView:
    """The soonest running clock in words (leads.queue.wording): business time left, or real time late."""
    if not lead.sla_clock or lead.sla_due_at is None:
        return ClockView(label="", text="—", urgency="none", due_at=None)
    label = str(Clock(lead.sla_clock).label)
    if lead.sla_due_at <= now:
        return ClockView(
            label=label, text=late_words(now - lead.sla_due_at), urgency="late", due_at=lead.sla_due_at
        )
    left = (
        business_minutes_between(start=now, end=lead.sla_due_at, calendar=calendar)
        if calendar
        else (lead.sla_due_at - now).total_seconds() / 60
    )
    soon = left <= (15 if lead.tier == "hot" else 60)
    zone = calendar.zone if calendar else timezone.get_current_timezone()
    text = due_words(
        business_minutes_left=left, due_local=lead.sla_due_at.astimezone(zone), now_local=now.astimezone(zone)
    )
    return ClockView(label=label, text=text, urgency="soon" if soon else "ok", due_at=lead.sla_due_at)


@dataclass(frozen=True)
class ClockRow:
    label: str
    due_at: datetime | None
    stopped_at: datetime | None
    status: str  # met, late, overdue, running, not needed, "" (never started)


# (label, clock, deadline field, stop field) in the order a lead meets them
_CLOCK_ROWS = (
    (_l("Claim"), Clock.CLAIM, "claim_due_at", "claimed_at"),
    (_l("First contact"), Clock.FIRST_CONTACT, "first_contact_due_at", "first_contact_at"),
    (_l("Accept or reject"), Clock.ACCEPT, "accept_due_at", "decided_at"),
    (_l("Outcome"), Clock.OUTCOME, "outcome_due_at", "outcome_at"),
    (
        _l("Next status update"),
        Clock.STATUS_UPDATE,
        "status_update_due_at",
        None,
    ),  # recurring: shown when set
)


def clock_rows(lead: Lead, *, now: datetime) -> list[ClockRow]:
    """Each SLA clock of the lead page, said as a person reads it.

    A clock the lead's state no longer runs (a rejected lead's first contact, a won deal's outcome) is "not
    needed", never "overdue": nobody can meet it any more, so calling it late would nag forever.
    """
    running = clocks_running_in(lead.state)
    rows = []
    for label, clock, due_field, stop_field in _CLOCK_ROWS:
        due, stopped = getattr(lead, due_field), getattr(lead, stop_field) if stop_field else None
        if due is None and stop_field is None:
            continue
        if due is None:
            status = ""
        elif stopped:
            status = "met" if stopped <= due else "late"
        elif clock not in running:
            status = "not needed"
        else:
            status = "overdue" if due < now else "running"
        rows.append(ClockRow(label=str(label), due_at=due, stopped_at=stopped, status=status))
    return rows


def why_view(lead: Lead) -> WhyView:
    """The trigger (or the top rules) that qualified the lead, and its latest key action."""
    evaluation = lead.evaluation
    if evaluation.triggers:
        reasons = [reason_words(hit.reason) for hit in evaluation.triggers]
    else:
        top = sorted((hit for hit in evaluation.breakdown if hit.points > 0), key=lambda h: -h.points)
        reasons = [f"{hit.name} +{hit.points}" for hit in top[:2]]
    # the latest action: a trigger's firing, or any evidence quoted by a rule
    actions: list[tuple[datetime, str]] = [
        (hit.occurred_at, _action_words(kind="", detail="", reason=reason_words(hit.reason)))
        for hit in evaluation.triggers
        if hit.occurred_at is not None
    ]
    actions += [
        (item.occurred_at, _action_words(kind=item.type, detail=item.detail, reason=""))
        for hit in evaluation.breakdown
        for item in hit.evidence
        if item.occurred_at is not None
    ]
    latest_detail, latest_at = "", None
    for at, words in actions:
        if latest_at is None or at > latest_at:
            latest_at, latest_detail = at, words
    return WhyView(reasons=reasons, latest=latest_detail, latest_at=latest_at)


def _action_words(*, kind: str, detail: str, reason: str) -> str:
    if kind == "page" and detail:
        return _("viewed %(page)s") % {"page": detail}
    if kind == "demo_request":
        return _("requested a demo")
    if kind and detail:
        return f"{kind.replace('_', ' ')}: {detail}"
    return reason or kind.replace("_", " ") or _("acted")


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    what: str
    before: str
    after: str
    by: str
    reason: str


def _value_words(kind: str, value: str, names: dict[str, str]) -> str:
    if not value:
        return "—"
    if kind == LeadEvent.Kind.STATE and value in LABELS:  # StrEnum members hash as their values
        return _(LABELS[State(value)])
    if kind == LeadEvent.Kind.TIER:
        return dict(Tier.choices).get(value, value)
    if kind == LeadEvent.Kind.OWNER:
        return names.get(value, value)
    if kind == LeadEvent.Kind.SEGMENT:
        return _(value)  # the default segment's name the product wrote ("All leads"), else as typed
    return value


def history_lines(
    events: list[LeadEvent], *, segment_conditions: Mapping[int, Any] | None = None
) -> list[HistoryLine]:
    """A lead's history in words: states by their labels, owners and actors by their names (one query), what the
    system wrote in the reader's language (leads.history_words; `segment_conditions`: each segment's conditions
    today, to say an older segment move's reason)."""
    usernames = {e.from_value for e in events if e.kind == LeadEvent.Kind.OWNER}
    usernames |= {e.to_value for e in events if e.kind == LeadEvent.Kind.OWNER}
    users = get_user_model().objects.filter(username__in=usernames - {""})
    names = {user.get_username(): person_name(user) for user in users}
    return [
        HistoryLine(
            at=event.at,
            what=event.get_kind_display(),
            before=_value_words(event.kind, event.from_value, names),
            after=_value_words(event.kind, event.to_value, names),
            by=person_name(event.actor) if event.actor else actor_words(event.actor_label),
            reason=segment_move_words(event.reason, event.data or {}, segment_conditions or {})
            if event.kind == LeadEvent.Kind.SEGMENT
            else reason_words(event.reason),
        )
        for event in events
    ]
