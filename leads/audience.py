"""Who is told about a lead: the holders of a role in the lead's segment team (sla.Segment.team).

A segment's alerts (hot leads, warnings, breaches, escalation steps) go to the members of its team who hold the
role asked for. A segment with no team, or whose team has nobody of that role, falls back to every holder of the
role (as before segments existed), so no alert is lost. Loaded once per batch in three queries, whatever the
number of leads and segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from alignment.roles import Role
from sla.models import Segment


@dataclass(frozen=True)
class Audience:
    holders: tuple[Any, ...]  # every active holder of the roles, by primary key
    teams: dict[int, frozenset[int]]  # segment id → the user ids of its team (only segments with a team)
    default_id: int | None

    @classmethod
    def load(cls, *roles: Role) -> Audience:
        """The active holders of `roles` and, for each segment, which of them are in its team (three queries)."""
        User = get_user_model()
        holders = tuple(
            User.objects.filter(is_active=True, groups__name__in=[role.value for role in roles])
            .distinct()
            .order_by("pk")
        )
        teams: dict[int, set[int]] = {}
        default_id = None
        memberships = User.groups.through.objects.filter(
            user_id__in=[user.pk for user in holders]
        ).values_list("group_id", "user_id")
        by_group: dict[int, set[int]] = {}
        for group_id, user_id in memberships:
            by_group.setdefault(group_id, set()).add(user_id)
        for pk, team_id, is_default in Segment.objects.values_list("pk", "team_id", "is_default"):
            if is_default:
                default_id = pk
            if team_id is not None:
                teams[pk] = by_group.get(team_id, set())
        return cls(
            holders=holders,
            teams={pk: frozenset(ids) for pk, ids in teams.items()},
            default_id=default_id,
        )

    @classmethod
    def nobody(cls) -> Audience:
        """No one to tell (nothing in the batch asks for these roles): no query."""
        return cls(holders=(), teams={}, default_id=None)

    def of(self, segment_id: int | None) -> list[Any]:
        """The people to tell about a lead of this segment (None: the default segment)."""
        team = self.teams.get(segment_id if segment_id is not None else self.default_id or -1)
        members = [user for user in self.holders if team and user.pk in team]
        return members or list(self.holders)

    def ids_of(self, segment_id: int | None) -> list[int]:
        return [user.pk for user in self.of(segment_id)]
