"""The segments screen's reads: each segment a user works in, with its conditions in words, agreement in force,
team and open leads, in a fixed number of queries whatever the number of segments and members."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Count, Prefetch

from alignment.roles import ROLE_LABELS, Role
from leads.models import Lead
from sla.models import AgreementVersion, Segment, Status
from sla.segment_services import may_edit_segment
from sla.segments import conditions_from
from sla.services import segment_scope
from sla.wording import condition_words


@dataclass(frozen=True)
class Member:
    user: Any
    roles: str  # the member's roles in the reader's language, "Rep, Sales manager"


@dataclass(frozen=True)
class SegmentRow:
    segment: Segment
    conditions: list[str]  # in the reader's language
    agreement: AgreementVersion | None
    members: list[Member]
    open_leads: int
    can_edit: bool


def segments_visible(user: Any) -> Any:
    """The segments a user works in, in precedence order (the default one last)."""
    scope = segment_scope(user)
    segments = Segment.objects.order_by("is_default", "position", "pk")
    return segments if scope is None else segments.filter(pk__in=[s.pk for s in scope])


def segment_rows(user: Any, segments: Any = None) -> list[SegmentRow]:
    segments = list(
        (segments if segments is not None else segments_visible(user))
        .select_related("team")
        .prefetch_related(
            Prefetch("team__user_set", to_attr="people"), Prefetch("team__people__groups", to_attr="roles_of")
        )
    )
    default = next((s for s in Segment.objects.filter(is_default=True)), None) if segments else None
    in_force = {
        version.segment_id or (default.pk if default else None): version
        for version in AgreementVersion.objects.filter(status=Status.ACTIVE)
    }
    counts = {
        row["segment_id"]: row["n"]
        for row in Lead.objects.open().values("segment_id").annotate(n=Count("pk"))
    }
    if default is not None:
        counts[default.pk] = counts.get(default.pk, 0) + counts.pop(None, 0)
    return [
        SegmentRow(
            segment=segment,
            conditions=[condition_words(c) for c in conditions_from(segment.conditions)],
            agreement=in_force.get(segment.pk),
            members=_members(segment),
            open_leads=counts.get(segment.pk, 0),
            can_edit=may_edit_segment(user, segment),
        )
        for segment in segments
    ]


def _members(segment: Segment) -> list[Member]:
    people = sorted(getattr(segment.team, "people", []) if segment.team else [], key=_by_name)
    return [Member(user=user, roles=_roles(user.roles_of)) for user in people]


def _roles(groups: list[Group]) -> str:
    names = {group.name for group in groups}
    return ", ".join(str(ROLE_LABELS[role]) for role in Role if role.value in names)


def _by_name(user: Any) -> tuple[str, str, str]:
    return (user.first_name, user.last_name, user.username)
