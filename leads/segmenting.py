"""Put a lead in its segment before it is scored, and score it with that segment's agreement.

`sla.segment_book.SegmentBook.place` decides both (the rule is `sla.segments.place`, pure); this module applies
the answer to a lead row: it moves the lead (a recorded transition: a `segment` LeadEvent saying why) and picks
the compiled rules. Scoring (`leads.scoring.rescore.leads_rescore`) calls `lead_place` once per lead.

A lead that moves to a segment whose team does not include its owner goes back to that segment's queue (an
`owner` LeadEvent, "moved to segment X"), so the right team works it; a team with no reps keeps every owner.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import pgettext

from alignment.roles import Role
from leads.models import Lead, LeadEvent
from leads.normalise import LEAD_FIELDS, lead_attributes
from leads.rules import Rules
from sla.models import Segment
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


class Teams:
    """Each segment's team (the members of its group) and whether it has reps, loaded at the first question
    (three queries), so a batch that moves nobody with an owner asks nothing."""

    def __init__(self) -> None:
        self._teams: dict[int, tuple[frozenset[int], bool]] | None = None

    def keeps(self, owner_id: int, segment_id: int) -> bool:
        """Whether an owner keeps a lead moving into this segment: they are in its team, or it has no reps."""
        members, has_reps = self._load().get(segment_id, (frozenset(), False))
        return not has_reps or owner_id in members

    def _load(self) -> dict[int, tuple[frozenset[int], bool]]:
        if self._teams is None:
            User = get_user_model()
            team_of = dict(Segment.objects.filter(team__isnull=False).values_list("pk", "team_id"))
            by_group: dict[int, set[int]] = {}
            memberships = User.groups.through.objects.filter(group_id__in=team_of.values())
            for group_id, user_id in memberships.values_list("group_id", "user_id"):
                by_group.setdefault(group_id, set()).add(user_id)
            everyone = set().union(*by_group.values())
            reps = set(
                User.objects.filter(pk__in=everyone, is_active=True, groups__name=Role.REP.value).values_list(
                    "pk", flat=True
                )
            )
            self._teams = {
                pk: (frozenset(by_group.get(group, ())), bool(by_group.get(group, set()) & reps))
                for pk, group in team_of.items()
            }
        return self._teams


def lead_place(
    lead: Lead,
    book: SegmentBook,
    *,
    given: Rules | None,
    now: datetime,
    events: list[LeadEvent],
    teams: Teams | None = None,
) -> Rules | None:
    """Move the lead to its segment (appending the transition to `events`) and return the rules that score it.

    `given` (an activation's rescore passes the new version's rules) is used for the leads of its own segment;
    a lead of another segment is scored by its own segment's active agreement. A moving lead whose owner is not
    in the new segment's team is released to that segment's queue (`teams`: one per batch, see `Teams`).
    """
    placement, version = book.place(_attributes(lead))
    current = lead.segment_id or book.default_id
    if placement.segment_id is not None and placement.segment_id != current:
        if lead.owner_id and not (teams or Teams()).keeps(lead.owner_id, placement.segment_id):
            events.append(
                LeadEvent(
                    lead=lead,
                    at=now,
                    kind=LeadEvent.Kind.OWNER,
                    from_value="",  # the owner's name: owner_names_fill, once per batch
                    to_value="",
                    actor_label="segments",
                    reason=f"moved to segment {placement.name}"[:500],
                    data={"from_id": lead.owner_id},
                )
            )
            lead.owner = None
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


def owner_names_fill(events: list[LeadEvent]) -> None:
    """Name the released owners on their `owner` events (one query for the batch)."""
    released = [e for e in events if e.kind == LeadEvent.Kind.OWNER and not e.from_value and e.data]
    if not released:
        return
    ids = {e.data["from_id"] for e in released}
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    for event in released:
        event.from_value = names.get(event.data["from_id"], "")


def _matched(book: SegmentBook, placement: Placement) -> list[dict[str, Any]]:
    """The conditions that placed the lead, kept so its history says them in the reader's language."""
    spec = next((s for s in book.specs if s.id == placement.segment_id), None)
    return [condition.to_dict() for condition in spec.conditions] if spec and placement.matched else []


def _name(book: SegmentBook, segment_id: int | None) -> str:
    return next((spec.name for spec in book.specs if spec.id == segment_id), "")


def _attributes(lead: Lead) -> dict[str, Any]:
    return lead_attributes({name: getattr(lead, name) for name in LEAD_FIELDS}, lead.attributes or {})
