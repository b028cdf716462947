"""Which segment a lead belongs to (sla.segments.place): pure, no database."""

from __future__ import annotations

import pytest

from sla.segments import SegmentError, place, spec_of

JAPAN = spec_of(
    id=2,
    name="Enterprise Japan",
    position=10,
    is_default=False,
    conditions=[
        {"field": "country", "op": "equals", "value": "Japan"},
        {"field": "employees", "op": "gte", "value": 500},
    ],
)
PARTNERS = spec_of(
    id=3, name="Partners", position=20, is_default=False,
    conditions=[{"field": "source", "op": "equals", "value": "partner"}],
)  # fmt: skip
SMB = spec_of(id=1, name="SMB global", position=1000, is_default=True, conditions=[])


def test_a_lead_matching_every_condition_goes_to_that_segment_and_says_why():
    placement = place({"country": "japan", "employees": 1200}, [SMB, PARTNERS, JAPAN])
    assert (placement.segment_id, placement.name, placement.matched) == (2, "Enterprise Japan", True)
    assert placement.why == "country is Japan and employees ≥ 500"


def test_precedence_decides_between_two_segments_that_both_match():
    attributes = {"country": "Japan", "employees": 800, "source": "partner"}
    assert place(attributes, [SMB, PARTNERS, JAPAN]).name == "Enterprise Japan"
    later_japan = spec_of(id=2, name="Enterprise Japan", position=30, is_default=False, conditions=[
        {"field": "country", "op": "equals", "value": "Japan"},
    ])  # fmt: skip
    assert place(attributes, [SMB, PARTNERS, later_japan]).name == "Partners"


def test_a_lead_that_matches_only_part_of_the_conditions_falls_to_the_default():
    placement = place({"country": "Japan", "employees": 40}, [SMB, JAPAN])
    assert (placement.segment_id, placement.matched) == (1, False)


def test_without_any_segment_nothing_is_placed():
    assert place({"country": "Japan"}, []).segment_id is None


def test_a_bad_condition_is_refused_with_its_place():
    with pytest.raises(SegmentError, match=r"conditions\[0\]"):
        spec_of(id=9, name="x", position=1, is_default=False, conditions=[{"field": "country", "op": "nope"}])
