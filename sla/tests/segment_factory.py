"""The segment most tests need: Enterprise Japan (country Japan and 500+ employees), after the default one."""

from __future__ import annotations

from typing import Any

from sla.models import Segment

JAPAN_CONDITIONS = [
    {"field": "country", "op": "equals", "value": "Japan"},
    {"field": "employees", "op": "gte", "value": 500},
]


def japan_segment_create(**fields: Any) -> Segment:
    """Enterprise Japan at position 10 (before the default segment); `fields` override any column."""
    return Segment.objects.create(
        **{"name": "Enterprise Japan", "position": 10, "conditions": list(JAPAN_CONDITIONS), **fields}
    )
