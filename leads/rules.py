"""The active agreement compiled for leads: criteria and terms parsed once per version, shared by scoring and
the queue. Nothing here imports the rest of `leads`, so every package may depend on it."""

from __future__ import annotations

from dataclasses import dataclass

from sla.agreement import Agreement
from sla.criteria import MqlCriteria
from sla.models import AgreementVersion
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
