"""The segments with their active agreements, loaded once: which segment a lead belongs to and which agreement
scores it, answered together by `SegmentBook.place` (the rule itself is pure: `sla.segments.place`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sla.models import AgreementVersion, Status
from sla.segments import Placement, SegmentSpec, place, spec_of


@dataclass(frozen=True)
class SegmentBook:
    specs: tuple[SegmentSpec, ...]
    default_id: int | None
    active: Mapping[int | None, AgreementVersion] = field(default_factory=dict)

    @classmethod
    def load(cls) -> SegmentBook:
        """One query: the versions in force with their segments. A segment takes leads once an agreement of its
        own is in force (a segment just created in the admin leaves its leads where they are until then)."""
        specs: list[SegmentSpec] = []
        active: dict[int | None, AgreementVersion] = {}
        for version in AgreementVersion.objects.filter(status=Status.ACTIVE).select_related("segment"):
            s = version.segment
            if s is not None:
                specs.append(
                    spec_of(
                        id=s.pk,
                        name=s.name,
                        position=s.position,
                        is_default=s.is_default,
                        conditions=s.conditions,
                    )
                )
            active[version.segment_id] = version
        default_id = next((s.id for s in specs if s.is_default), None)
        if default_id is not None and None in active:  # a version of the default segment stored without one
            active.setdefault(default_id, active[None])
        return cls(specs=tuple(specs), default_id=default_id, active=active)

    def place(self, attributes: Mapping[str, Any]) -> tuple[Placement, AgreementVersion | None]:
        """Which segment these attributes belong to (and why), and the agreement that scores them there."""
        placement = place(attributes, self.specs)
        return placement, self.active.get(placement.segment_id)

    def segment_of(self, version: AgreementVersion) -> int | None:
        """The segment a version applies to (a version with none applies to the default segment)."""
        return version.segment_id or self.default_id
