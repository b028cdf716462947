"""Suggestions from the sparse model: add the rules it keeps, drop the ones it does not, set each kept rule's
points. Each comes with its evidence counted once — how many leads it fires on, their conversion against the
others', on which population — and with what accepting it does to the AUC on leads the model was not fitted on
(a seeded 30% of the population held back), so nobody signs a rule that only fits the past.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from feedback.learning.candidates import (
    MIN_LEADS,
    Candidate,
    activity_counts,
    candidates_for,
    fingerprint,
    fired_by_condition,
    fired_by_engagement,
    rule_key,
)
from feedback.learning.model import DEFAULT_CAP, POINTS_PER_DOUBLING, Fitted, auc_of, fit_rules, fit_with
from feedback.learning.population import Population
from sla.agreement import Agreement

CHECK_SHARE = 0.3
SECTIONS = ("fit_rules", "engagement_rules")


@dataclass(frozen=True)
class Plan:
    """What the model would sign, and the figures that justify it."""

    suggestions: list[dict[str, Any]]  # Suggestion fields: key, kind, title, evidence, change, numbers
    population: dict[str, Any]
    holdout: dict[str, Any]  # AUC now vs with every suggestion, on the held-back leads
    cap: int


def rule_cap(agreement: Agreement) -> int:
    return int(agreement.criteria.max_rules or DEFAULT_CAP)


def _current(agreement: Agreement) -> list[tuple[str, dict[str, Any]]]:
    return [
        (section, rule.to_dict()) for section in SECTIONS for rule in getattr(agreement.criteria, section)
    ]


def _column(
    section: str, rule: dict[str, Any], population: Population, counts: dict[str, np.ndarray]
) -> np.ndarray:
    if section == "fit_rules":
        return fired_by_condition(rule["condition"], population)
    return fired_by_engagement(rule, population, counts)


def _design(
    agreement: Agreement, population: Population, late: Collection[str] = frozenset()
) -> tuple[list[Candidate], np.ndarray]:
    """The agreement's own rules first, then every candidate firing on a different set of leads: a rule the model
    keeps is re-weighted, never re-added under another name."""
    counts = activity_counts(population)
    found: list[Candidate] = []
    for section, rule in _current(agreement):
        plain = {k: v for k, v in rule.items() if k not in ("id", "points")}
        found.append(
            Candidate(rule_key(section, rule), section, plain, _column(section, rule, population, counts))
        )
    seen = (
        {fingerprint(c.fired) for c in found}
        | {fingerprint(1 - c.fired) for c in found}
        | {c.key for c in found}
    )
    for candidate in candidates_for(population, late=late):
        if fingerprint(candidate.fired) not in seen and candidate.key not in seen:
            seen |= {fingerprint(candidate.fired), fingerprint(1 - candidate.fired), candidate.key}
            found.append(candidate)
    x = np.column_stack([c.fired for c in found]) if found else np.zeros((len(population), 0))
    return found, x


def _points_vector(rules: dict[str, int], found: list[Candidate]) -> np.ndarray:
    return np.array([rules.get(c.key, 0) for c in found], dtype=float)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _evidence(fired: np.ndarray, won: np.ndarray, population: str) -> tuple[str, dict[str, Any]]:
    on = fired > 0
    n_on, n_off = int(on.sum()), int((~on).sum())
    rate_on = float(won[on].mean()) if n_on else None
    rate_off = float(won[~on].mean()) if n_off else None
    text = _("Fires on %(on)s of %(all)s leads with a known result: %(rate_on)s of them converted, against "
             "%(rate_off)s of the %(off)s others (population: %(population)s).") % {
        "on": n_on, "all": n_on + n_off, "rate_on": _pct(rate_on), "rate_off": _pct(rate_off), "off": n_off,
        "population": population}  # fmt: skip
    return text, {"leads": n_on, "others": n_off, "conversion_with": rate_on, "conversion_without": rate_off}


def plan(
    agreement: Agreement, population: Population, *, seed: int = 0, late: Collection[str] = frozenset()
) -> Plan:
    """Fit on the population (70% to measure, then all of it to propose) and compare with the agreement. No new
    rule is proposed on a field in `late` (written after hand-off for most handed-over leads)."""
    cap = rule_cap(agreement)
    about = population.describe()
    if len(population) < 100 or population.won.min() == population.won.max():
        return Plan([], about, {}, cap)
    found, x = _design(agreement, population, late)
    y = population.won
    current = {rule_key(s, r): int(r.get("points", 0)) for s, r in _current(agreement)}
    # A rule firing on too few leads cannot be judged: it stays as it is, and counts against the cap.
    judged = x.sum(axis=0) >= MIN_LEADS
    unjudged = sum(1 for c, ok in zip(found, judged, strict=True) if not ok and c.key in current)
    model_cap = max(cap - unjudged, 0)
    x_fit = np.where(judged, x, 0.0)
    # 1. measure: fit on 70%, judge on the 30% the model never saw (C chosen by cross-validation on the 70%)
    rng = np.random.default_rng(seed)
    check = rng.random(len(population)) < CHECK_SHARE
    measured = fit_rules(x_fit[~check], y[~check], cap=model_cap, seed=seed)
    measured_rules = {found[c].key: p for c, p in zip(measured.columns, measured.points, strict=True)}
    now_auc = auc_of(x[check] @ _points_vector(current, found), y[check])
    all_auc = auc_of(measured.scores(x[check]), y[check])
    # 2. propose: the same procedure on every lead
    final: Fitted = fit_with(x_fit, y, measured.strength, cap=model_cap, cv_auc=measured.cv_auc)
    proposed = {found[c].key: p for c, p in zip(final.columns, final.points, strict=True)}
    by_key = {c.key: (i, c) for i, c in enumerate(found)}
    ids = {rule_key(s, r): (s, r) for s, r in _current(agreement)}
    suggestions = []
    for key in [*ids, *(k for k in proposed if k not in ids)]:
        index, candidate = by_key[key]
        old, new = current.get(key, 0), proposed.get(key, 0)
        if old == new or not judged[index]:
            continue  # nothing to change, or too few leads to say anything about the rule
        alone = dict(current)
        alone[key] = measured_rules.get(key, new)
        alone_auc = auc_of(x[check] @ _points_vector(alone, found), y[check])
        text, numbers = _evidence(x[:, index], y, about["text"])
        numbers |= {"points": old, "proposed": new, "auc_now": now_auc, "auc_with": alone_auc,
                    "auc_with_all": all_auc, "checked_on": int(check.sum())}  # fmt: skip
        check_text = " " + _("On %(n)s leads held back from fitting, AUC %(now)s now, %(alone)s with this change "
                             "alone, %(all)s with every suggestion.") % {
            "n": int(check.sum()), "now": _f(now_auc), "alone": _f(alone_auc), "all": _f(all_auc)}  # fmt: skip
        why = " " + _("The sparse model (at most %(cap)s rules, %(per)s points = twice the odds) gives it "
                      "%(points)s points.") % {"cap": cap, "per": POINTS_PER_DOUBLING, "points": f"{new:+d}"}  # fmt: skip
        if key in ids and new == 0:
            section, rule = ids[key]
            suggestions.append({
                "key": f"learn-remove-{rule['id']}", "kind": "remove",
                "title": _("Remove “%(name)s” (%(points)s): the model keeps it out")
                % {"name": rule["name"], "points": f"{old:+d}"},
                "evidence": text + " " + _("The sparse model gives it no weight once the other rules are counted.")
                + check_text,
                "change": {"op": "remove_rule", "section": section, "rule_id": rule["id"]}, "numbers": numbers,
            })  # fmt: skip
        elif key in ids:
            section, rule = ids[key]
            title = (
                _("Lower “%(name)s”: %(old)s → %(new)s")
                if new < old
                else _("Raise “%(name)s”: %(old)s → %(new)s")
            )
            suggestions.append({
                "key": f"learn-points-{rule['id']}", "kind": "reweight",
                "title": title % {"name": rule["name"], "old": f"{old:+d}", "new": f"{new:+d}"},
                "evidence": text + why + check_text,
                "change": {"op": "set_points", "section": section, "rule_id": rule["id"], "points": new},
                "numbers": numbers,
            })  # fmt: skip
        else:
            rule = {**copy.deepcopy(candidate.rule), "points": new}
            suggestions.append({
                "key": f"learn-add-{key}"[:100], "kind": "add_rule",
                "title": _("Add “%(name)s” (%(points)s)") % {"name": candidate.name, "points": f"{new:+d}"},
                "evidence": text + why + check_text,
                "change": {"op": "add_rule", "section": candidate.section, "rule": rule}, "numbers": numbers,
            })  # fmt: skip
    holdout = {"checked_on": int(check.sum()), "auc_now": now_auc, "auc_with_all": all_auc,
               "rules_proposed": len(proposed), "cv_auc": final.cv_auc, "strength": final.strength}  # fmt: skip
    return Plan(suggestions, about, holdout, cap)


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
