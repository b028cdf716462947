"""Rules that could be written, each with the leads it fires on: the material the sparse model chooses from.

Fit candidates come from the leads' own attributes — each frequent value, numeric cut-offs at the quantiles of
the values (so a cut-off always splits real leads), and blank fields (an empty form field says something too).
Engagement candidates come from activities: "did X at least K times", K at the quantiles of the counts. Fields
that reveal the outcome (`outcome_*`), attributes written after hand-off for most handed-over leads (`late`, from
`leads.attribute_timing`) and identifiers (a distinct value per lead) are never candidates.
Each candidate is a plain rule dict, ready to add to an agreement, plus a 0/1 column over the population.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from feedback.learning.population import Population
from sla.criteria.operators import _matcher, _number, describe
from sla.criteria.schema import Condition, Op, is_leaky_field

MIN_SHARE = 0.01  # a candidate must fire on at least 1% of the population (and not on more than 99%)
MIN_LEADS = 20
QUANTILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
MAX_VALUES = 40  # the most frequent values of a text field
SKIP_FIELDS = {"email", "first_name", "last_name", "company", "job_title"}


@dataclass(frozen=True)
class Candidate:
    key: str  # what the rule tests, canonical: equal keys are the same rule whatever its name or points
    section: str  # fit_rules or engagement_rules
    rule: dict[str, Any]  # without id and points
    fired: np.ndarray  # 0/1 per lead of the population

    @property
    def name(self) -> str:
        return str(self.rule["name"])


def condition_key(condition: dict[str, Any]) -> str:
    plain = Condition.from_dict(condition).to_dict()
    return "fit:" + json.dumps(plain, sort_keys=True, default=str)


def engagement_key(rule: dict[str, Any]) -> str:
    what = {k: rule.get(k) for k in ("activity", "where", "min_count", "window_days")}
    what["activity"] = str(what["activity"]).strip().casefold()
    what["min_count"] = int(what["min_count"] or 1)
    return "engagement:" + json.dumps(what, sort_keys=True, default=str)


def rule_key(section: str, rule: dict[str, Any]) -> str:
    return condition_key(rule["condition"]) if section == "fit_rules" else engagement_key(rule)


def fired_by_condition(condition: dict[str, Any], population: Population) -> np.ndarray:
    parsed = Condition.from_dict(condition)
    matches = _matcher(parsed.op, parsed.value)
    codes, values = population.column(parsed.field)
    return np.array([matches(value) for value in values], dtype=float)[codes] if values else np.zeros(0)


def activity_counts(population: Population) -> dict[str, np.ndarray]:
    """How many activities of each type each lead did (type names compared trimmed and case-folded)."""
    counts: dict[str, np.ndarray] = {}
    for i, facts in enumerate(population.activities):
        for kind, n in Counter(f.type.strip().casefold() for f in facts).items():
            counts.setdefault(kind, np.zeros(len(population)))[i] = n
    return counts


def fired_by_engagement(rule: dict[str, Any], population: Population,
                        counts: dict[str, np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
    """1 where the lead did the activity at least min_count times (rules with a `where` or a window are judged
    by the engine in the backtest; here they count every matching type)."""
    counts = counts if counts is not None else activity_counts(population)
    column = counts.get(str(rule["activity"]).strip().casefold())
    if column is None:
        return np.zeros(len(population))
    return (column >= int(rule.get("min_count") or 1)).astype(float)


def _useful(fired: np.ndarray) -> bool:
    n, share = int(fired.sum()), float(fired.mean()) if fired.size else 0.0
    return n >= MIN_LEADS and len(fired) - n >= MIN_LEADS and MIN_SHARE <= share <= 1 - MIN_SHARE


def _label(field: str) -> str:
    """A field's name in the reader's language (従業員数), else the code in words ("Job title")."""
    translated = pgettext("lead field", field)
    return translated if translated != field else field.replace("_", " ").capitalize()


def _activity(kind: str) -> str:
    translated = pgettext("activity type", kind)
    return translated if translated != kind else kind.replace("_", " ")


def _fit_candidates(population: Population, late: Collection[str] = frozenset()) -> list[Candidate]:
    found: list[Candidate] = []
    fields = sorted({key for attributes in population.attributes for key in attributes})
    for field in fields:
        if field in SKIP_FIELDS or field in late or is_leaky_field(field):
            continue
        raw = [a.get(field) for a in population.attributes]
        present = [value for value in raw if value is not None and str(value).strip() != ""]
        conditions: list[tuple[dict[str, Any], str]] = []
        if present and len(present) < len(raw):
            conditions.append(
                (
                    {"field": field, "op": "is_empty", "value": None},
                    _("%(field)s is blank") % {"field": _label(field)},
                )
            )
        numbers = np.array([n for n in (_number(v) for v in present) if n is not None])
        if present and len(numbers) >= 0.95 * len(present):
            cuts = sorted({float(q) for q in np.quantile(numbers, QUANTILES)} - {float(numbers.min())})
            for cut in cuts:
                value = int(cut) if float(cut).is_integer() else round(float(cut), 2)
                conditions.append(
                    (
                        {"field": field, "op": "gte", "value": value},
                        _("%(field)s ≥ %(value)s") % {"field": _label(field), "value": value},
                    )
                )
        else:
            texts = Counter(str(value).strip() for value in present)
            if len(texts) > 0.5 * len(population):
                continue  # an identifier, not a trait
            for value, _count in texts.most_common(MAX_VALUES):
                conditions.append(
                    (
                        {"field": field, "op": "equals", "value": value},
                        _("%(field)s is %(value)s") % {"field": _label(field), "value": value},
                    )
                )
        for condition, name in conditions:
            fired = fired_by_condition(condition, population)
            if _useful(fired):
                rule = {"name": name[:200], "condition": condition}
                found.append(Candidate(condition_key(condition), "fit_rules", rule, fired))
    return found


def _engagement_candidates(population: Population) -> list[Candidate]:
    found: list[Candidate] = []
    for kind, column in sorted(activity_counts(population).items()):
        doers = column[column > 0]
        if doers.size < MIN_LEADS:
            continue
        for k in sorted({1, *(int(q) for q in np.quantile(doers, QUANTILES) if q >= 1)}):
            rule = {
                "name": (_("%(activity)s at least %(count)s×") % {"activity": _activity(kind), "count": k})[:200], "activity": kind, "where": None,
                "max_count": 1, "window_days": None, "min_count": k,
            }  # fmt: skip
            fired = (column >= k).astype(float)
            if _useful(fired):
                found.append(Candidate(engagement_key(rule), "engagement_rules", rule, fired))
    return found


def fingerprint(fired: np.ndarray) -> bytes:
    return np.packbits(fired > 0).tobytes()


def candidates_for(population: Population, *, late: Collection[str] = frozenset()) -> list[Candidate]:
    """Every candidate, kept once per set of leads it fires on (the first, simplest one), and never with its
    complement too: "is blank" and "is not blank" are one fact, and two columns would split its weight."""
    found: list[Candidate] = []
    seen: set[bytes] = set()
    for candidate in [*_fit_candidates(population, late), *_engagement_candidates(population)]:
        if fingerprint(candidate.fired) not in seen:
            seen |= {fingerprint(candidate.fired), fingerprint(1 - candidate.fired)}
            found.append(candidate)
    return found


def describe_condition(condition: dict[str, Any]) -> str:
    return describe(Condition.from_dict(condition))


__all__ = ["Candidate", "Op", "candidates_for", "rule_key"]
