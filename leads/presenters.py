"""What a queue row says, computed from stored fields only (no query per row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from leads.models import Clock, Lead
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


def _span(minutes: float) -> str:
    minutes = int(round(minutes))
    if minutes < 60:
        return _("%(m)d min") % {"m": minutes}
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        if rest and hours < 10:
            return _("%(h)d h %(m)d min") % {"h": hours, "m": rest}
        return _("%(h)d h") % {"h": hours}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours} if hours else _("%(d)d d") % {"d": days}


def clock_view(lead: Lead, *, now: datetime, calendar: BusinessCalendar | None) -> ClockView:
    """Business time left on the soonest running clock, or how late it is (in real time)."""
    if not lead.sla_clock or lead.sla_due_at is None:
        return ClockView(label="", text="—", urgency="none", due_at=None)
    label = str(Clock(lead.sla_clock).label)
    if lead.sla_due_at <= now:
        return ClockView(label=label, text=_("%(span)s late") % {"span": _span((now - lead.sla_due_at).total_seconds() / 60)},
                         urgency="late", due_at=lead.sla_due_at)  # fmt: skip
    left = (
        business_minutes_between(start=now, end=lead.sla_due_at, calendar=calendar)
        if calendar
        else (lead.sla_due_at - now).total_seconds() / 60
    )
    soon = left <= (15 if lead.tier == "hot" else 60)
    return ClockView(
        label=label,
        text=_("%(span)s left") % {"span": _span(left)},
        urgency="soon" if soon else "ok",
        due_at=lead.sla_due_at,
    )


def why_view(lead: Lead) -> WhyView:
    """The trigger (or the top rules) that qualified the lead, and its latest key action."""
    evaluation = lead.evaluation
    if evaluation.triggers:
        reasons = [hit.reason for hit in evaluation.triggers]
    else:
        top = sorted((hit for hit in evaluation.breakdown if hit.points > 0), key=lambda h: -h.points)
        reasons = [f"{hit.name} +{hit.points}" for hit in top[:2]]
    # the latest action: a trigger's firing, or any evidence quoted by a rule
    actions: list[tuple[datetime, str]] = [
        (hit.occurred_at, _action_words(kind="", detail="", reason=hit.reason))
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
