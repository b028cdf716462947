"""What a change to a segment does to the open leads: how many would move (the preview), and moving them.

The preview places every open lead with the segment book as it would be after the change (`sla.segment_book`,
the same rule scoring uses) and compares with the segment each lead is stored in. Applying hands the ids to a
background job (`leads.segments.job`) that moves them through scoring itself (`leads.scoring.leads_rescore` →
`leads.segmenting.lead_place`): each move is a recorded `segment` LeadEvent saying why, and the lead is judged by
its new segment's agreement.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from leads.models import Lead
from leads.normalise import LEAD_FIELDS, lead_attributes
from sla.segment_book import SegmentBook
from sla.segments import spec_of


@dataclass(frozen=True)
class Move:
    from_name: str
    to_name: str
    leads: int


@dataclass(frozen=True)
class Moves:
    """Open leads whose segment would change under a segment book: into and out of one segment, and in all."""

    open_leads: int
    in_segment: int  # open leads the segment holds now
    into: int
    out_of: int
    moves: tuple[Move, ...]
    lead_ids: tuple[int, ...]  # every open lead that would change segment (any segment)
    takes_leads: bool  # False: the segment has no agreement of its own in force, so it takes no lead yet

    @property
    def moving(self) -> int:
        return len(self.lead_ids)


def book_with(
    book: SegmentBook, segment: Any, *, conditions: list[dict[str, Any]] | None = None
) -> SegmentBook:
    """The book with this segment as it would be (its conditions and precedence); unchanged when the segment
    has no agreement in force (it takes no lead until one is)."""
    spec = spec_of(id=segment.pk, name=segment.name, position=segment.position, is_default=segment.is_default,
                   conditions=segment.conditions if conditions is None else conditions)  # fmt: skip
    if not any(s.id == segment.pk for s in book.specs):
        return book
    return replace(book, specs=tuple(spec if s.id == segment.pk else s for s in book.specs))


def moves_under(book: SegmentBook, *, segment_id: int | None) -> Moves:
    """Each open lead placed by `book`, against the segment it is in now (one pass over the open leads). With the
    book as it is (`SegmentBook.load()`) it is what the what-if's segment part counts (feedback.segment_views)."""
    names = {spec.id: spec.name for spec in book.specs}
    target = segment_id or book.default_id
    counts: Counter[tuple[int | None, int | None]] = Counter()
    ids: list[int] = []
    total = held = into = out_of = 0
    rows = Lead.objects.open().order_by("pk").values_list("pk", "segment_id", "attributes", *LEAD_FIELDS)
    for pk, stored, custom, *values in rows.iterator(chunk_size=5000):
        total += 1
        current = stored or book.default_id
        held += current == target
        placed = book.place(lead_attributes(dict(zip(LEAD_FIELDS, values, strict=True)), custom or {}))[0]
        if placed.segment_id is None or placed.segment_id == current:
            continue
        ids.append(pk)
        counts[(current, placed.segment_id)] += 1
        into += placed.segment_id == target
        out_of += current == target
    moves = tuple(
        Move(from_name=names.get(a, ""), to_name=names.get(b, ""), leads=n)
        for (a, b), n in counts.most_common()
    )
    return Moves(open_leads=total, in_segment=held, into=into, out_of=out_of, moves=moves, lead_ids=tuple(ids),
                 takes_leads=target in names)  # fmt: skip
