"""Suggestions for the next agreement, each with the evidence behind it and the change it would make.

The model is deliberately simple and explainable: a logistic regression of "won" on which rules had fired at
hand-off, over the reviewed month and the two before it. Its weights are evidence for a suggestion (rescaled to
the agreement's points), never a black box that scores leads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.fields.json import KT

from feedback.models import Cycle, CycleRule
from feedback.months import MIN_EVIDENCE, month_bounds, previous_month, rate
from leads.models import Activity, Lead
from sla.agreement import Agreement
from sla.models import AgreementVersion

WINDOW_MONTHS = 3
LOWER_BELOW = 0.8  # a scoring rule whose leads win less than 0.8× the others' rate earns fewer points
RAISE_ABOVE = 1.3


@dataclass(frozen=True)
class Suggestion:
    key: str
    kind: str  # reweight, remove, add_rule, threshold, trigger
    title: str
    evidence: str
    change: dict[str, Any] | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, iterations: int = 25) -> np.ndarray:
    """Newton–Raphson for an L2-regularised logistic regression; returns [intercept, weights...]."""
    design = np.hstack([np.ones((x.shape[0], 1)), x])
    weights = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ weights))
        gradient = design.T @ (y - p) - penalty * weights
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        weights += step
        if np.abs(step).max() < 1e-8:
            break
    return weights


def _window(month: date) -> Any:
    first = month
    for _ in range(WINDOW_MONTHS - 1):
        first = previous_month(first)
    start, _ = month_bounds(first)
    _, end = month_bounds(month)
    return Cycle.objects.filter(handed_over_at__gte=start, handed_over_at__lt=end)


def _rule_points(version: AgreementVersion | None) -> dict[str, tuple[str, Any]]:
    if version is None:
        return {}
    mql = Agreement.of(version).criteria
    return {
        rule.id: (section, rule)
        for section in ("fit_rules", "engagement_rules", "triggers")
        for rule in getattr(mql, section)
    }


def rule_weights(cycles: Any) -> tuple[dict[str, float], int]:
    """Logistic weights per rule id over closed cycles (won = 1), and how many cycles the model saw."""
    closed = list(cycles.filter(closed_at__isnull=False).order_by("id").values_list("id", "outcome"))
    if len(closed) < 2 * MIN_EVIDENCE:
        return {}, len(closed)
    ids = np.array([pk for pk, _ in closed])
    y = np.array([outcome == Cycle.Outcome.WON for _, outcome in closed], dtype=float)
    if y.min() == y.max():
        return {}, len(closed)
    pairs = np.array(
        list(
            CycleRule.objects.filter(cycle__in=cycles.filter(closed_at__isnull=False)).values_list(
                "cycle_id", "rule_id"
            )
        ),
        dtype=object,
    ).reshape(-1, 2)
    if not pairs.size:
        return {}, len(closed)
    rule_ids, cols = np.unique(pairs[:, 1].astype(str), return_inverse=True)
    rows = np.searchsorted(ids, pairs[:, 0].astype(np.int64))
    x = np.zeros((len(ids), len(rule_ids)))
    x[rows, cols] = 1.0
    weights = fit_logistic(x, y)
    return dict(zip(rule_ids.tolist(), weights[1:].tolist(), strict=True)), len(closed)


def _round_points(value: float) -> int:
    return int(5 * round(value / 5))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def reweight_suggestions(data: dict[str, Any], version: AgreementVersion | None, weights: dict[str, float],
                         seen: int) -> list[Suggestion]:  # fmt: skip
    rules = _rule_points(version)
    scoring = {rid: rule for rid, (section, rule) in rules.items() if section != "triggers" and rule.points}
    both = [
        (abs(scoring[rid].points), abs(w)) for rid, w in weights.items() if rid in scoring and abs(w) > 0.05
    ]
    scale = float(np.median([p for p, _ in both]) / np.median([w for _, w in both])) if both else None
    found = []
    for lift in data["rule_lifts"]:
        rid = lift["rule_id"]
        if rid not in scoring or not lift["enough"] or lift["win_lift"] is None:
            continue
        section, rule = rules[rid]
        points, weight = rule.points, weights.get(rid)
        model = _round_points(weight * scale) if weight is not None and scale else None
        evidence = (
            f"Fired on {lift['fired']} leads: {_pct(lift['win_rate_fired'])} won, against "
            f"{_pct(lift['win_rate_not_fired'])} of the {lift['not_fired']} where it did not (lift "
            f"{lift['win_lift']:.2f}); accepted {_pct(lift['accept_rate_fired'])} vs "
            f"{_pct(lift['accept_rate_not_fired'])}."
        )
        if weight is not None:
            evidence += f" Model weight {weight:+.2f} over {seen} closed hand-overs ≈ {model:+d} points."
        numbers = {"points": points, "lift": lift["win_lift"], "fired": lift["fired"], "model_points": model}
        lift_says = (
            "lower" if lift["win_lift"] < LOWER_BELOW else "raise" if lift["win_lift"] > RAISE_ABOVE else ""
        )
        if model is not None:
            model_says = "lower" if model <= points - 5 else "raise" if model >= points + 5 else ""
            if not lift_says or lift_says != model_says:
                continue  # the two pieces of evidence must agree before anyone is asked to change a rule
            new = model
        elif lift_says == "lower":
            new = _round_points(points * lift["win_lift"])
        elif lift_says == "raise":
            new = max(_round_points(points * min(lift["win_lift"], 2.0)), points + 5)
        else:
            continue
        if (points > 0 and new <= 0) or (points < 0 and new >= 0):
            effect = "win less" if points > 0 else "win no less"
            found.append(Suggestion(
                key=f"remove-{rid}", kind="remove", title=f"Remove “{rule.name}” ({points:+d}): its leads {effect}",
                evidence=evidence, change={"op": "remove_rule", "section": section, "rule_id": rid}, numbers=numbers,
            ))  # fmt: skip
        elif new != points:
            verb = "Lower" if new < points else "Raise"
            found.append(Suggestion(
                key=f"points-{rid}", kind="reweight", title=f"{verb} “{rule.name}”: {points:+d} → {new:+d}",
                evidence=evidence, numbers=numbers,
                change={"op": "set_points", "section": section, "rule_id": rid, "points": new},
            ))  # fmt: skip
    return found


def trigger_suggestions(data: dict[str, Any], version: AgreementVersion | None) -> list[Suggestion]:
    rules = _rule_points(version)
    overall = rate(data["funnel"]["won"], data["funnel"]["mqls"])
    found = []
    for lift in data["rule_lifts"]:
        rid = lift["rule_id"]
        if lift["kind"] != "trigger" or rid not in rules or lift["fired"] < MIN_EVIDENCE or overall is None:
            continue
        if lift["win_rate_fired"] is not None and lift["win_rate_fired"] < 0.5 * overall:
            section, rule = rules[rid]
            found.append(Suggestion(
                key=f"trigger-{rid}", kind="trigger", title=f"Trigger “{rule.name}” fires but rarely converts",
                evidence=(f"Fired on {lift['fired']} hand-overs, {_pct(lift['win_rate_fired'])} won, against "
                          f"{_pct(overall)} of all MQLs. Hot leads jump the queue: drop it or narrow it."),
                change={"op": "remove_rule", "section": section, "rule_id": rid},
                numbers={"fired": lift["fired"], "win_rate": lift["win_rate_fired"], "overall": overall},
            ))  # fmt: skip
    return found


def unscored_action_suggestions(month: date, version: AgreementVersion | None) -> list[Suggestion]:
    """Actions done before hand-off by leads that went on to win, which no engagement rule scores."""
    cycles = _window(month).filter(closed_at__isnull=False)
    total = cycles.count()
    won_total = cycles.filter(outcome=Cycle.Outcome.WON).count()
    if total < 2 * MIN_EVIDENCE or not won_total:
        return []
    base = won_total / total
    rules = Agreement.of(version).criteria.engagement_rules if version else ()
    covered_types = {rule.activity for rule in rules if rule.where is None}
    covered_paths = {
        (rule.activity, str(rule.where.value).lower())
        for rule in rules
        if rule.where is not None and rule.where.property == "path"
    }
    # what each lead did up to its hand-over (one join: the filter names the cycle once)
    rows = Activity.objects.filter(
        lead__cycles__in=cycles, occurred_at__lte=F("lead__cycles__handed_over_at")
    )
    groups = (
        rows.annotate(path=KT("properties__path"))
        .values("type", "path")
        .annotate(
            leads=Count("lead", distinct=True),
            won=Count("lead", filter=Q(lead__cycles__outcome=Cycle.Outcome.WON), distinct=True),
        )
        .filter(leads__gte=MIN_EVIDENCE)
        .order_by("-won")
    )
    found = []
    for group in groups[:200]:
        kind, path = group["type"], group["path"] or ""
        if kind in covered_types or any(kind == t and path.lower().startswith(p) for t, p in covered_paths):
            continue
        win_rate = group["won"] / group["leads"]
        lift = win_rate / base if base else None
        if lift is None or lift < 1.5:
            continue
        points = max(5, _round_points(10 * math.log2(lift)))
        what = f"{kind} {path}".strip()
        rule = {
            "name": f"{kind.replace('_', ' ').title()} {path}".strip(),
            "points": points, "activity": kind,
            "where": {"property": "path", "op": "starts_with", "value": path} if path else None,
            "max_count": 2, "window_days": 30, "min_count": 1,
        }  # fmt: skip
        found.append(Suggestion(
            key=f"add-{kind}-{path}", kind="add_rule", title=f"Score “{what}”: predicts wins but scores nothing",
            evidence=(f"{group['leads']} leads did it; {_pct(win_rate)} of them won, against {_pct(base)} of all "
                      f"closed hand-overs (lift {lift:.2f}). Suggested +{points} points, counted at most twice in 30 days."),
            change={"op": "add_rule", "section": "engagement_rules", "rule": rule},
            numbers={"leads": group["leads"], "win_rate": win_rate, "lift": lift},
        ))  # fmt: skip
        if len(found) >= 3:
            break
    return found


def threshold_suggestion(
    month: date, data: dict[str, Any], version: AgreementVersion | None
) -> list[Suggestion]:
    """The threshold that would have produced the MQL volume sales can handle (marketing's commitment)."""
    capacity = data["marketing"].get("committed")
    threshold = (data.get("agreement") or {}).get("threshold")
    if not capacity or threshold is None:
        return []
    start, end = month_bounds(month)
    active = Lead.objects.filter(
        Q(created_at__lt=end) & (Q(last_activity_at__gte=start) | Q(created_at__gte=start))
    )
    triggered = active.filter(Exists(Cycle.objects.filter(lead=OuterRef("pk"), tier="hot", handed_over_at__gte=start,
                                                          handed_over_at__lt=end))).count()  # fmt: skip
    scores = np.sort(np.array(active.values_list("score", flat=True), dtype=float))[::-1]
    room = capacity - triggered
    if scores.size == 0 or room <= 0 or room >= scores.size:
        return []
    proposed = int(math.ceil(scores[room - 1]))
    if abs(proposed - threshold) < 5:
        return []
    window = _window(month).filter(closed_at__isnull=False)
    above = window.filter(score__gte=proposed).aggregate(
        n=Count("id"), won=Count("id", filter=Q(outcome="won"))
    )
    current = window.filter(score__gte=threshold).aggregate(
        n=Count("id"), won=Count("id", filter=Q(outcome="won"))
    )
    would = int((scores >= proposed).sum()) + triggered
    return [Suggestion(
        key="threshold", kind="threshold", title=f"MQL threshold {threshold} → {proposed} to match sales capacity",
        evidence=(f"Sales agreed to {capacity} MQLs a month; at {proposed} points this month's active leads give about "
                  f"{would} (with {triggered} hot by trigger). Hand-overs scoring {proposed}+ won "
                  f"{_pct(rate(above['won'], above['n']))} (n={above['n']}); at {threshold}+ "
                  f"{_pct(rate(current['won'], current['n']))} (n={current['n']})."),
        change={"op": "set_threshold", "threshold": proposed},
        numbers={"capacity": capacity, "proposed": proposed, "current": threshold, "would_produce": would},
    )]  # fmt: skip


def suggestions_for(
    *, month: date, data: dict[str, Any], version: AgreementVersion | None
) -> list[Suggestion]:
    weights, seen = rule_weights(_window(month))
    return [
        *reweight_suggestions(data, version, weights, seen),
        *trigger_suggestions(data, version),
        *unscored_action_suggestions(month, version),
        *threshold_suggestion(month, data, version),
    ]
