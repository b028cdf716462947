"""Put a lead in its segment before it is scored, and score it with that segment's agreement.

`sla.segment_book.SegmentBook.place` decides both (the rule is `sla.segments.place`, pure); this module applies
the answer to a lead row: it moves the lead (a recorded transition: a `segment` LeadEvent saying why) and picks
the compiled rules. Scoring (`leads.scoring.rescore.leads_rescore`) calls `lead_place` once per lead.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from django.utils.translation import pgettext

from leads.models import Lead, LeadEvent
from leads.normalise import LEAD_FIELDS, lead_attributes
from leads.rules import Rules
from sla.segment_book import SegmentBook
from sla.segments import Placement
from sla.wording import condition_words


def segment_book() -> SegmentBook:
    return SegmentBook.load()


def placement_of(lead: Lead, book: SegmentBook) -> Placement:
    """The segment this lead belongs to now, and why (the lead page shows it, in the reader's language)."""
    placement = book.place(_attributes(lead))[0]
    spec = next((s for s in book.specs if s.id == placement.segment_id), None)
    if not placement.matched or spec is None:
        return placement
    joiner = pgettext("between conditions", " and ")
    return replace(placement, why=joiner.join(condition_words(condition) for condition in spec.conditions))


def lead_place(
    lead: Lead, book: SegmentBook, *, given: Rules | None, now: datetime, events: list[LeadEvent]
) -> Rules | None:
    """Move the lead to its segment (appending the transition to `events`) and return the rules that score it.

    `given` (an activation's rescore passes the new version's rules) is used for the leads of its own segment;
    a lead of another segment is scored by its own segment's active agreement.
    """
    placement, version = book.place(_attributes(lead))
    current = lead.segment_id or book.default_id
    if placement.segment_id is not None and placement.segment_id != current:
        events.append(
            LeadEvent(
                lead=lead,
                at=now,
                kind=LeadEvent.Kind.SEGMENT,
                from_value=_name(book, current),
                to_value=placement.name,
                actor_label="segments",
                reason=placement.why[:500],
                data={
                    "from_id": current,
                    "to_id": placement.segment_id,
                    "conditions": _matched(book, placement),
                },
            )
        )
    if placement.segment_id is not None:
        lead.segment_id = placement.segment_id
    if given is not None and book.segment_of(given.version) == placement.segment_id:
        return given
    if version is None:
        return given if not book.specs else None
    return Rules.of(version)


def _matched(book: SegmentBook, placement: Placement) -> list[dict[str, Any]]:
    """The conditions that placed the lead, kept so its history says them in the reader's language."""
    spec = next((s for s in book.specs if s.id == placement.segment_id), None)
    return [condition.to_dict() for condition in spec.conditions] if spec and placement.matched else []


def _name(book: SegmentBook, segment_id: int | None) -> str:
    return next((spec.name for spec in book.specs if spec.id == segment_id), "")


def _attributes(lead: Lead) -> dict[str, Any]:
    return lead_attributes({name: getattr(lead, name) for name in LEAD_FIELDS}, lead.attributes or {})
