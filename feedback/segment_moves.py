"""Leads that would change segment: each open lead placed by the segments as they are defined now
(`sla.segment_book`), against the segment it is stored in. They move (a recorded transition) at their next
scoring; the what-if page shows the count before a draft is signed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from leads.models import Lead
from leads.normalise import LEAD_FIELDS, lead_attributes
from sla.segment_book import SegmentBook


@dataclass(frozen=True)
class SegmentMove:
    from_name: str
    to_name: str
    leads: int


@dataclass(frozen=True)
class SegmentMoves:
    open_leads: int
    moves: tuple[SegmentMove, ...]
    in_segment: int  # open leads the draft's segment holds now

    @property
    def moving(self) -> int:
        return sum(move.leads for move in self.moves)


def segment_moves(*, segment_id: int | None) -> SegmentMoves:
    """Open leads whose segment would change, by (from, to); `segment_id`: the draft's segment (None: default)."""
    book = SegmentBook.load()
    names = {spec.id: spec.name for spec in book.specs}
    target = segment_id or book.default_id
    counts: Counter[tuple[int | None, int | None]] = Counter()
    total = held = 0
    rows = Lead.objects.open().values_list("segment_id", "attributes", *LEAD_FIELDS)
    for stored, custom, *values in rows.iterator(chunk_size=5000):
        total += 1
        current = stored or book.default_id
        placement = book.place(lead_attributes(dict(zip(LEAD_FIELDS, values, strict=True)), custom or {}))[0]
        held += current == target
        if placement.segment_id is not None and placement.segment_id != current:
            counts[(current, placement.segment_id)] += 1
    moves = tuple(
        SegmentMove(from_name=names.get(a, ""), to_name=names.get(b, ""), leads=n)
        for (a, b), n in counts.most_common()
    )
    return SegmentMoves(open_leads=total, moves=moves, in_segment=held)
