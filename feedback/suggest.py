"""Suggestions for the next agreement, each with the evidence behind it and the change it would make.

Rule suggestions come from feedback.learning: a sparse logistic regression over every lead whose result is known
(not only hand-overs, whose figures are skewed by the old score), choosing among candidate rules, with points on
one fixed scale and a check on leads the model was not fitted on. Trigger and threshold suggestions stay here;
the threshold aims at what sales can work (their stated or reps' capacity), and says which.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from alignment.roles import Role
from feedback.models import Cycle
from feedback.months import MIN_EVIDENCE, month_bounds, previous_month, rate
from leads.attribute_timing import late_attributes
from leads.models import Lead, RepProfile
from sla.agreement import Agreement
from sla.models import AgreementVersion, Segment

WINDOW_MONTHS = 3


@dataclass(frozen=True)
class Suggestion:
    key: str
    kind: str  # reweight, remove, add_rule, threshold, trigger
    title: str
    evidence: str
    change: dict[str, Any] | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


def _window(month: date, segment: Segment | None = None) -> Any:
    first = month
    for _step in range(WINDOW_MONTHS - 1):
        first = previous_month(first)
    start = month_bounds(first)[0]
    end = month_bounds(month)[1]
    cycles = Cycle.objects.filter(handed_over_at__gte=start, handed_over_at__lt=end)
    return cycles.filter(segment.owns("agreement__segment")) if segment is not None else cycles


def _rule_points(version: AgreementVersion | None) -> dict[str, tuple[str, Any]]:
    if version is None:
        return {}
    mql = Agreement.of(version).criteria
    return {
        rule.id: (section, rule)
        for section in ("fit_rules", "engagement_rules", "triggers")
        for rule in getattr(mql, section)
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


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
                key=f"trigger-{rid}", kind="trigger",
                title=_("Trigger “%(name)s” fires but rarely converts") % {"name": rule.name},
                evidence=_("Fired on %(fired)s hand-overs, %(won)s won, against %(overall)s of all MQLs. "
                           "Hot leads jump the queue: drop it or narrow it.")
                % {"fired": lift["fired"], "won": _pct(lift["win_rate_fired"]), "overall": _pct(overall)},
                change={"op": "remove_rule", "section": section, "rule_id": rid},
                numbers={"fired": lift["fired"], "win_rate": lift["win_rate_fired"], "overall": overall},
            ))  # fmt: skip
    return found


def sales_capacity(
    version: AgreementVersion | None, segment: Segment | None = None
) -> tuple[int | None, str]:
    """How many MQLs sales can work in a month, and where the figure comes from (said next to the suggestion):
    the agreement's stated capacity, else the active reps' capacities added up. Never marketing's commitment,
    which says how many leads marketing promised, not how many sales can take."""
    stated = Agreement.of(version).terms.sales_capacity_per_month if version else None
    if stated:
        return int(stated), _("the agreement's stated sales capacity (%(n)d MQLs a month)") % {"n": stated}
    reps = RepProfile.objects.filter(is_away=False, user__is_active=True, user__groups__name=Role.REP.value)
    if segment is not None and segment.team_id and reps.filter(user__groups=segment.team_id).exists():
        reps = reps.filter(user__groups=segment.team_id)  # a segment's own team, when it has reps
    total = reps.aggregate(n=Count("id"), capacity=Sum("capacity"))
    if total["n"]:
        text = ngettext(
            "%(n)d active rep × their capacity (%(capacity)d leads)",
            "%(n)d active reps × their capacity (%(capacity)d leads)",
            total["n"],
        ) % {"n": total["n"], "capacity": total["capacity"]}
        return int(total["capacity"]), text
    return None, ""


def threshold_suggestion(
    month: date, data: dict[str, Any], version: AgreementVersion | None, segment: Segment | None = None
) -> list[Suggestion]:
    """The threshold that would have produced the MQL volume sales can handle (a segment's: its leads)."""
    capacity, capacity_source = sales_capacity(version, segment)
    threshold = (data.get("agreement") or {}).get("threshold")
    if not capacity or threshold is None:
        return []
    start, end = month_bounds(month)
    leads = Lead.objects.filter(segment.owns()) if segment is not None else Lead.objects.all()
    active = leads.filter(Q(created_at__lt=end) & (Q(last_activity_at__gte=start) | Q(created_at__gte=start)))
    triggered = active.filter(Exists(Cycle.objects.filter(lead=OuterRef("pk"), tier="hot", handed_over_at__gte=start,
                                                          handed_over_at__lt=end))).count()  # fmt: skip
    scores = np.sort(np.array(active.values_list("score", flat=True), dtype=float))[::-1]
    room = capacity - triggered
    if scores.size == 0 or room <= 0 or room >= scores.size:
        return []
    # room for every lead: still only those scoring above 0
    proposed = max(int(math.ceil(scores[room - 1])), 1)
    if abs(proposed - threshold) < 5:
        return []
    # the hand-overs the change decides about, counted once: those scoring between the two thresholds
    low, high = min(proposed, threshold), max(proposed, threshold)
    window = _window(month, segment).filter(closed_at__isnull=False)
    between = window.filter(score__gte=low, score__lt=high).aggregate(
        n=Count("id"), won=Count("id", filter=Q(outcome="won"))
    )
    above = window.filter(score__gte=high).aggregate(n=Count("id"), won=Count("id", filter=Q(outcome="won")))
    would = int((scores >= proposed).sum()) + triggered
    effect = _("would no longer be handed over") if proposed > threshold else _("would be handed over too")
    return [Suggestion(
        key="threshold", kind="threshold",
        title=_("MQL threshold %(old)s → %(new)s to match sales capacity") % {"old": threshold, "new": proposed},
        evidence=_("Sales can work about %(capacity)s MQLs a month (%(source)s); at %(proposed)s points this "
                   "month's active leads give about %(would)s (with %(triggered)s hot by trigger). Closed "
                   "hand-overs scoring %(low)s–%(top)s, which %(effect)s: %(between)s, %(between_won)s won; "
                   "scoring %(high)s+: %(above)s, %(above_won)s won.")
        % {"capacity": capacity, "source": capacity_source, "proposed": proposed, "would": would,
           "triggered": triggered, "low": low, "top": high - 1, "effect": effect, "between": between["n"],
           "between_won": _pct(rate(between["won"], between["n"])), "high": high, "above": above["n"],
           "above_won": _pct(rate(above["won"], above["n"]))},
        change={"op": "set_threshold", "threshold": proposed},
        numbers={"capacity": capacity, "capacity_source": capacity_source, "proposed": proposed,
                 "current": threshold, "would_produce": would},
    )]  # fmt: skip


def learned_suggestions(
    version: AgreementVersion | None, segment: Segment | None = None
) -> tuple[list[Suggestion], dict[str, Any]]:
    """The sparse model's rule suggestions over every lead with a known result (a segment's: its own leads), and
    the figures behind them (which population, the held-back check). Cached per agreement version and population,
    as fitting takes seconds on a large history."""
    from feedback.learning import propose
    from feedback.learning.population import known_results

    if version is None:
        return [], {}
    population = known_results(
        Lead.objects.filter(segment.owns()).values_list("pk", flat=True) if segment is not None else None
    )
    digest = hashlib.sha256(version.content_hash.encode())
    digest.update(population.lead_ids.tobytes())
    digest.update(population.won.tobytes())
    late = sorted(late_attributes())
    digest.update("\n".join(late).encode())
    key = f"learning-{get_language()}-{digest.hexdigest()}"  # the texts are in the reader's language
    cached = cache.get(key)
    if cached is None:
        result = propose.plan(Agreement.of(version), population, late=late)
        cached = ([asdict(Suggestion(**s)) for s in result.suggestions],
                  {"population": result.population, "holdout": result.holdout, "cap": result.cap})  # fmt: skip
        cache.set(key, cached, timeout=6 * 3600)
    return [Suggestion(**s) for s in cached[0]], cached[1]


def suggestions_for(
    *, month: date, data: dict[str, Any], version: AgreementVersion | None, segment: Segment | None = None
) -> list[Suggestion]:
    """The review's suggestions for `version` (a segment's review: its agreement, learnt from its leads)."""
    learned, figures = learned_suggestions(version, segment)
    data["learning"] = figures
    return [
        *learned,
        *trigger_suggestions(data, version),
        *threshold_suggestion(month, data, version, segment),
    ]
