"""What the system wrote in a lead's history, in the reader's language.

Services store a `LeadEvent`'s reason and actor in English: a stable record that webhooks, the CRM export and
the audit read as it is. The lead page says them again here: state, tier and owner changes ("claimed",
"SLA: Claim deadline missed"), the hand-off reason ("score 60", the agreement's trigger reasons), a segment
move's matched conditions. A reason people typed, or one no template matches, reads as stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext, gettext_noop, pgettext

from alignment.phrasebook import Phrasebook
from sla.criteria import Condition, CriteriaError, describe
from sla.wording import condition_words


def _stock(value: str) -> str:
    """A label the product wrote in English (a clock, a default reason): its catalogue entry, else as typed."""
    return gettext(value) if value else value


# feedback.models.ContactAttempt.Channel, stored by its code in "first contact: call" (leads cannot import feedback)
_CHANNELS = {"call": gettext_noop("Call"), "email": gettext_noop("E-mail"), "meeting": gettext_noop("Meeting"),
             "social": gettext_noop("Social")}  # fmt: skip
_DURATION = re.compile(r"(?:(?P<days>\d+) d)? ?(?:(?P<hours>\d+) h)? ?(?:(?P<minutes>\d+) min)?")
_UNITS = {
    "days": gettext_noop("%(n)s d"),
    "hours": gettext_noop("%(n)s h"),
    "minutes": gettext_noop("%(n)s min"),
}


def _channel(code: str) -> str:
    return gettext(_CHANNELS[code]) if code in _CHANNELS else code


def _duration(text: str) -> str:
    """ "1 d 2 h 5 min" (leads.lifecycle.services._duration) → "1日 2時間 5分"."""
    if text == "under a minute":
        return gettext("under a minute")
    match = _DURATION.fullmatch(text)
    if not match or not text:
        return text
    return " ".join(gettext(_UNITS[unit]) % {"n": n} for unit, n in match.groupdict().items() if n)


REASONS = Phrasebook(
    [
        # owners (leads.queue.assignment, leads.queue.breaches, leads.segmenting)
        gettext_noop("claimed"),
        gettext_noop("released to the shared queue"),
        gettext_noop("assigned"),
        gettext_noop("reassigned"),
        gettext_noop("new MQL, assigned round-robin"),
        gettext_noop("%(clock)s deadline missed (escalation)"),
        gettext_noop("%(clock)s deadline missed"),
        gettext_noop("moved to segment %(segment)s"),  # leads.segmenting.lead_place released the owner
        # states (leads.services merges, leads.lifecycle.services, feedback.services)
        gettext_noop("merged with lead %(lead)s, which was with sales"),
        gettext_noop("identify linked their ids"),
        gettext_noop("waiting on the customer (clocks paused)"),
        gettext_noop("customer answered (clocks resumed, deadlines moved by %(duration)s)"),
        gettext_noop("first contact: %(channel)s"),
        gettext_noop("accepted"),
        gettext_noop("qualified"),
        gettext_noop("rejected: %(label)s (%(comment)s)"),
        gettext_noop("rejected: %(label)s"),
        gettext_noop("won: %(amount)s"),
        gettext_noop("lost: %(label)s"),
        gettext_noop("disqualified: %(label)s"),
        # the hand-off (leads.scoring.rescore._why) and a segment move (sla.segments.place)
        gettext_noop("score %(score)s"),
        gettext_noop("no other segment's conditions hold"),
    ],
    sayers={"clock": _stock, "label": _stock, "channel": _channel, "duration": _duration},
)

# Who did it, when no person did (LeadEvent.actor_label)
ACTORS = Phrasebook([
    gettext_noop("ingest"), gettext_noop("scoring"), gettext_noop("agreement activated"), gettext_noop("ageing"),
    gettext_noop("import"), gettext_noop("segments"), gettext_noop("sla"), gettext_noop("round-robin"),
])  # fmt: skip

# The starter agreement's trigger reasons (sla.content.STARTER_MQL), quoted in a hand-off reason
STARTER_TRIGGERS = (
    gettext_noop("requested a demo"),
    gettext_noop("viewed pricing"),
    gettext_noop("came back after 180+ days of silence"),
)


def reason_words(reason: str) -> str:
    """An event's reason, or a lead's hand-off reason ("score 60", "requested a demo; viewed pricing")."""
    if not reason or REASONS.knows(reason):
        return REASONS.say(reason)
    return "; ".join(gettext(part) if part in STARTER_TRIGGERS else part for part in reason.split("; "))


def actor_words(label: str) -> str:
    return ACTORS.say(label)


def segment_move_words(reason: str, data: Mapping[str, Any], conditions_now: Mapping[int, Any]) -> str:
    """Why a lead moved segment: the conditions that matched, in the reader's language. New events keep them
    (`data["conditions"]`); an older one is said from its segment's conditions of today when they still read
    exactly as stored, else as stored."""
    stored = data.get("conditions")
    conditions = _conditions(stored) if isinstance(stored, list) else None
    if conditions is None:
        current = conditions_now.get(data.get("to_id"))  # type: ignore[call-overload]
        if current and " and ".join(describe(condition) for condition in current) == reason:
            conditions = tuple(current)
    if not conditions:
        return reason_words(reason)
    return pgettext("between conditions", " and ").join(
        condition_words(condition) for condition in conditions
    )


def _conditions(items: list[Any]) -> tuple[Condition, ...] | None:
    try:
        return tuple(Condition.from_dict(item) for item in items)
    except CriteriaError:
        return None
