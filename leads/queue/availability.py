"""Whether a rep can take a lead now, and whose turn it is under weighted round-robin. Pure Python, no ORM.

A rep is unavailable while away (marked away, or inside a planned absence), outside their working hours, or at
capacity. The Assign menu shows every rep with the reason instead of hiding the unavailable ones; round-robin
only picks available reps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any


@dataclass(frozen=True)
class Availability:
    available: bool
    away: bool
    off_hours: bool
    over_capacity: bool
    reason: str  # in words, "" when available
    # the same words as (template, values) pairs, for `leads.queue.wording.availability_words` to translate
    notes: tuple[tuple[str, dict[str, Any]], ...] = field(default=(), compare=False, hash=False)


def availability(
    *,
    is_away: bool,
    away_from: datetime | None,
    away_until: datetime | None,
    works_from: time | None,
    works_until: time | None,
    open_leads: int,
    capacity: int,
    now: datetime,
    local_now: time,
) -> Availability:
    """`now` is an aware instant for the absence; `local_now` the wall-clock time for the working hours."""
    planned = away_from is not None or away_until is not None
    in_absence = (
        planned and (away_from is None or away_from <= now) and (away_until is None or now < away_until)
    )
    away = is_away or in_absence
    off_hours = not within_hours(local_now, works_from, works_until)
    over = open_leads >= capacity
    reasons, notes = [], []
    if away:
        until = f" until {away_until:%a %-d %b %H:%M}" if in_absence and away_until else ""
        reasons.append(f"away{until}")
        if until:
            notes.append(("away until %(until)s", {"until": away_until}))
        else:
            notes.append(("away", {}))
    if off_hours and works_from and works_until:
        reasons.append(f"outside working hours ({works_from:%H:%M}–{works_until:%H:%M})")
        notes.append(
            (
                "outside working hours (%(from)s–%(until)s)",
                {"from": f"{works_from:%H:%M}", "until": f"{works_until:%H:%M}"},
            )
        )
    if over:
        reasons.append(f"over capacity ({open_leads}/{capacity})")
        notes.append(("over capacity (%(open)s/%(capacity)s)", {"open": open_leads, "capacity": capacity}))
    return Availability(
        available=not (away or off_hours or over),
        away=away,
        off_hours=off_hours,
        over_capacity=over,
        reason=", ".join(reasons),
        notes=tuple(notes),
    )


def within_hours(at: time, works_from: time | None, works_until: time | None) -> bool:
    """Inside [from, until); hours that cross midnight (22:00–06:00) wrap; no hours set means any time."""
    if works_from is None or works_until is None or works_from == works_until:
        return True
    if works_from < works_until:
        return works_from <= at < works_until
    return at >= works_from or at < works_until


@dataclass(frozen=True)
class Turn:
    key: int
    weight: int
    assigned: int  # leads given by round-robin so far
    last_assigned_at: datetime | None


def next_turn(candidates: Sequence[Turn]) -> int | None:
    """Weighted round-robin (stride scheduling): the rep whose next lead brings their count per weight lowest.

    Over any run of assignments each rep's share tends to weight / total weight (weights 2 and 1 give 2:1);
    ties go to the least recently assigned, then the lowest id, so the order is deterministic.
    """
    if not candidates:
        return None
    floor = datetime.min

    def order(turn: Turn) -> tuple[float, datetime, int]:
        last = turn.last_assigned_at.replace(tzinfo=None) if turn.last_assigned_at else floor
        return ((turn.assigned + 1) / max(turn.weight, 1), last, turn.key)

    return min(candidates, key=order).key


def level_count(*, weight: int, others: Sequence[Turn]) -> int:
    """The round-robin count a returning (or re-weighted) rep starts from: level with the others' count per
    weight, so a rep back from two weeks away does not take every new lead until they catch up."""
    if not others:
        return 0
    return int(min(turn.assigned / max(turn.weight, 1) for turn in others) * max(weight, 1))
