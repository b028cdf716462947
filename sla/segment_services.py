"""Writes to segments: create, edit (name, conditions, team), precedence; each transactional and audited.

Who may: an admin, or a manager of the segment (a member of its team; a manager in no team works across all
segments and may also create one). Moving the leads a change concerns is `leads.segments.moves`' job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from alignment.audit import audit_record
from alignment.roles import MANAGERS, Role, user_roles
from sla.exceptions import AgreementError
from sla.models import Segment
from sla.segments import conditions_from
from sla.services import in_user_segments, segment_scope


class SegmentRefused(AgreementError):
    """The user may not make this change (the message says why, in their language)."""


def may_edit_segment(user: Any, segment: Segment) -> bool:
    roles = user_roles(user)
    return Role.ADMIN in roles or bool(roles & MANAGERS and in_user_segments(user, segment.pk))


def may_create_segment(user: Any) -> bool:
    """An admin, or a manager who works across every segment (in no team): a new segment takes leads from all."""
    roles = user_roles(user)
    return Role.ADMIN in roles or bool(roles & MANAGERS and segment_scope(user) is None)


def team_candidates() -> Any:
    """The people a segment's team may hold: active users with a role."""
    User = get_user_model()
    return (
        User.objects.filter(is_active=True, groups__name__in=[role.value for role in Role])
        .distinct()
        .order_by("first_name", "last_name", "username")
        .prefetch_related("groups")
    )


@transaction.atomic
def segment_save(
    *,
    user: Any,
    now: datetime,
    segment: Segment | None,
    name: str,
    description: str,
    conditions: list[dict[str, Any]],
    member_ids: list[int] | None,
) -> Segment:
    """Create (segment None) or edit a segment. The default segment keeps no conditions: it takes every lead no
    other segment takes. `member_ids` None leaves the team as it is."""
    if segment is None:
        if not may_create_segment(user):
            raise SegmentRefused(_("Only an admin or a manager of every segment creates segments."))
        last = Segment.objects.filter(is_default=False).order_by("-position").first()
        segment = Segment(position=(last.position + 10) if last else 10)
        before: dict[str, Any] = {}
    else:
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        if not may_edit_segment(user, segment):
            raise SegmentRefused(_("You do not manage the segment “%(name)s”.") % {"name": segment.name})
        before = {"name": segment.name, "description": segment.description, "conditions": segment.conditions}
    conditions_from(conditions)  # SegmentError names the place
    segment.name, segment.description = name, description
    segment.conditions = [] if segment.is_default else conditions
    segment.full_clean()
    segment.save()
    changes = {key: (before.get(key), getattr(segment, key)) for key in ("name", "description", "conditions")}
    if member_ids is not None:
        allowed = set(
            team_candidates().prefetch_related(None).filter(pk__in=member_ids).values_list("pk", flat=True)
        )
        kept = set(segment.members.values_list("pk", flat=True))
        if allowed != kept:
            segment.members.set(sorted(allowed))
            changes["members"] = (sorted(kept), sorted(allowed))
    changes = {key: pair for key, pair in changes.items() if pair[0] != pair[1]}
    action = "segment.created" if not before else "segment.edited"
    if changes or not before:
        audit_record(actor=user, action=action, target=segment, changes=changes, at=now)
    return segment


@transaction.atomic
def segment_move(*, user: Any, now: datetime, segment_id: int, direction: str) -> Segment:
    """Move a segment one place up (tried earlier) or down in precedence; the default one stays last."""
    ordered = list(Segment.objects.select_for_update().filter(is_default=False).order_by("position", "pk"))
    segment = next((s for s in ordered if s.pk == segment_id), None)
    if segment is None:
        raise SegmentRefused(_("The default segment is always tried last."))
    if not may_edit_segment(user, segment):
        raise SegmentRefused(_("You do not manage the segment “%(name)s”.") % {"name": segment.name})
    index = ordered.index(segment)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
    before = segment.position
    for place, item in enumerate(ordered, start=1):
        if item.position != place * 10:
            Segment.objects.filter(pk=item.pk).update(position=place * 10)
            item.position = place * 10
    if segment.position != before:
        audit_record(actor=user, action="segment.moved", target=segment,
                     changes={"position": (before, segment.position)}, at=now)  # fmt: skip
    return segment
