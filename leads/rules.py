"""The active agreement compiled for leads: criteria and terms parsed once per version, shared by scoring and
the queue. Nothing here imports the rest of `leads`, so every package may depend on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sla.agreement import Agreement
from sla.criteria import MqlCriteria
from sla.models import AgreementVersion, Status
from sla.terms import ServiceTerms


@dataclass(frozen=True)
class Rules:
    """An agreement version compiled for scoring (criteria and terms parsed once, reused for every lead)."""

    version: AgreementVersion
    criteria: MqlCriteria
    terms: ServiceTerms

    agreement: Agreement

    @classmethod
    def of(cls, version: AgreementVersion) -> Rules:
        cached = _compiled.get(version.pk)
        if cached is None or cached.version.content_hash != version.content_hash:
            agreement = Agreement.of(version)
            cached = cls(
                version=version, criteria=agreement.criteria, terms=agreement.terms, agreement=agreement
            )
            _compiled[version.pk] = cached
        return cached


_compiled: dict[int, Rules] = {}


def active_rules() -> Rules | None:
    version = AgreementVersion.objects.active()
    return Rules.of(version) if version else None


@dataclass(frozen=True)
class RulesInForce:
    """Each segment's agreement in force, compiled (loaded in one query). A lead follows its own segment's terms
    and business calendar; a lead with no segment, or of a segment with no agreement of its own in force yet,
    follows the default segment's."""

    by_segment: Mapping[int, Rules] = field(default_factory=dict)
    default: Rules | None = None

    @classmethod
    def load(cls) -> RulesInForce:
        by_segment: dict[int, Rules] = {}
        default: Rules | None = None
        for version in AgreementVersion.objects.filter(status=Status.ACTIVE).select_related("segment"):
            rules = Rules.of(version)
            if version.segment_id is not None:
                by_segment[version.segment_id] = rules
            if version.segment_id is None or version.segment.is_default:
                default = rules
        return cls(by_segment=by_segment, default=default)

    def of(self, segment_id: int | None) -> Rules | None:
        """The rules a lead of this segment follows (None: no agreement in force at all)."""
        if segment_id is None:
            return self.default
        return self.by_segment.get(segment_id, self.default)

    def all(self) -> list[Rules]:
        """Each agreement in force once (the default one included)."""
        seen = {rules.version.pk: rules for rules in [*self.by_segment.values(), self.default] if rules}
        return list(seen.values())


def rules_for(segment_id: int | None) -> Rules | None:
    """The rules in force for one lead's segment (one query)."""
    return RulesInForce.load().of(segment_id)
