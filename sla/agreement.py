"""The agreement as one typed object: what every module outside `sla` reads instead of the stored JSON.

`Agreement.of(version)` parses a version's content once (cached per version and content hash) into frozen
dataclasses: the MQL criteria (typed rules, gates, triggers), the SQL checklist and the service terms. Readers use
attributes (`agreement.criteria.threshold`, `agreement.terms.calendar`), so a misspelt key is an AttributeError at
the first test rather than a silent `None`, and the content's shape is written in one place.

Where to add a rule field (one place): the rule's dataclass in `sla/criteria/schema.py` (field, `from_dict`,
`to_dict`); the engine (`sla/criteria/engine.py`), the one evaluator, then reads the typed attribute, and the form (`sla/forms.py`) offers it. No reader parses JSON by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sla.criteria import MqlCriteria, SqlCriteria
from sla.terms import ServiceTerms

SECTIONS = ("mql", "sql", "terms")


class _Version(Protocol):
    pk: Any
    content: dict[str, Any]
    content_hash: str


@dataclass(frozen=True)
class Agreement:
    """One version's content, typed: `criteria` (MQL rules), `checklist` (SQL criteria), `terms`."""

    criteria: MqlCriteria
    checklist: SqlCriteria
    terms: ServiceTerms

    @classmethod
    def from_dict(cls, content: dict[str, Any]) -> Agreement:
        """Raises CriteriaError or TermsError naming the place of the first problem (as validation does)."""
        return cls(
            criteria=MqlCriteria.from_dict(content["mql"]),
            checklist=SqlCriteria.from_dict(content["sql"]),
            terms=ServiceTerms.from_dict(content["terms"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "mql": self.criteria.to_dict(),
            "sql": self.checklist.to_dict(),
            "terms": self.terms.to_dict(),
        }

    @classmethod
    def of(cls, version: _Version) -> Agreement:
        """The version's agreement, parsed once per content (a draft edited meanwhile is parsed again)."""
        cached = _parsed.get(version.pk)
        if cached is not None and cached[0] == version.content_hash:
            return cached[1]
        agreement = cls.from_dict(version.content)
        if version.pk is not None:
            _parsed[version.pk] = (version.content_hash, agreement)
        return agreement

    @property
    def threshold(self) -> int:
        return self.criteria.threshold

    def points_by_rule(self) -> dict[str, int]:
        """Points of every scoring rule by id (fit and engagement rules, and "inactivity" when penalised)."""
        points = {
            rule.id: rule.points for rule in (*self.criteria.fit_rules, *self.criteria.engagement_rules)
        }
        if self.criteria.inactivity is not None:
            points["inactivity"] = self.criteria.inactivity.points
        return points

    def trigger_ids(self) -> set[str]:
        return {trigger.id for trigger in self.criteria.triggers}


# One entry per version (its latest content hash), so an edited draft is parsed again and never piles up.
_parsed: dict[Any, tuple[str, Agreement]] = {}
