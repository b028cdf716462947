"""Which segment a lead belongs to, and why. Pure Python: no Django import.

A segment is a part of the funnel (enterprise Japan, SMB global…) with its own agreement, team and queue. Its
conditions are attribute conditions of the agreement's own kind (`sla.criteria.Condition`: field, op, value), all
of which must hold. Segments are tried in precedence order (`position`, then id); the first whose conditions all
hold takes the lead; the default segment takes every lead no other one takes. `sla.segment_book` loads the
segments with their active agreements and answers both questions at once for the ORM layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sla.criteria import Condition, CriteriaError, condition_holds, describe


class SegmentError(ValueError):
    """A segment's conditions are not valid (the message names the place)."""


@dataclass(frozen=True)
class SegmentSpec:
    id: int
    name: str
    position: int
    is_default: bool
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Placement:
    """The segment a lead belongs to and why: the conditions that matched, in words (or the default's reason)."""

    segment_id: int | None
    name: str
    why: str
    matched: bool = False  # False: the default segment took it (no other segment's conditions hold)


def conditions_from(data: Any) -> tuple[Condition, ...]:
    if not isinstance(data, list):
        raise SegmentError("conditions: expected a list of {field, op, value}")
    try:
        return tuple(Condition.from_dict(item, path=f"conditions[{i}]") for i, item in enumerate(data))
    except CriteriaError as error:
        raise SegmentError(str(error)) from error


def spec_of(*, id: int, name: str, position: int, is_default: bool, conditions: Any) -> SegmentSpec:
    return SegmentSpec(
        id=id, name=name, position=position, is_default=is_default, conditions=conditions_from(conditions)
    )


def place(attributes: Mapping[str, Any], segments: Iterable[SegmentSpec]) -> Placement:
    """The first segment (by precedence) whose conditions all hold; else the default; else none at all."""
    ordered = sorted(segments, key=lambda s: (s.position, s.id))
    for segment in ordered:
        if segment.is_default or not segment.conditions:
            continue
        if all(condition_holds(condition, attributes) for condition in segment.conditions):
            why = " and ".join(describe(condition) for condition in segment.conditions)
            return Placement(segment_id=segment.id, name=segment.name, why=why, matched=True)
    default = next((s for s in ordered if s.is_default), None)
    if default is None:
        return Placement(segment_id=None, name="", why="")
    return Placement(segment_id=default.id, name=default.name, why="no other segment's conditions hold")
