"""Backtest: an agreement's full criteria judged on history, lead by lead, as they would have stood then.

Each past lead whose result is known (feedback.learning.population: closed hand-overs, and outcomes imported with
the lead or from a CRM opportunity export) is evaluated by the product's own pure evaluator
(`sla.criteria.evaluate`, through `Agreement.of(version)`) at its own moment of judgement: the hand-off of the
hand-over whose result counts, or, for a lead never handed over, its creation. Only the activity stored up to that
moment counts, and a lead handed over again after sales turned it down counts only what it did since (the same
rule as scoring, `leads.lifecycle.rules.counts_since`), so a rule a draft adds is judged like any other and a
recycled lead is never hot on old activity. Attributes are the stored ones; `outcome_*` fields are never scored.

Queries are bounded: leads, their activities and the closed hand-overs are read in a fixed number of queries,
whatever the size of the history; at most MAX_LEADS leads (the most recent) are judged, and the page says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Count, Max

from feedback.learning.population import Population, known_results
from feedback.models import Cycle
from feedback.months import rate
from feedback.reports import auc
from leads.models import Activity, Lead
from sla.agreement import Agreement
from sla.criteria import evaluate
from sla.models import Segment

HISTORY_DAYS = 365
MAX_LEADS = 20_000
BANDS = 5


@dataclass(frozen=True)
class History:
    """The leads to judge, each with its moment of judgement and the instant before which activity no longer
    counts (None: all of it)."""

    population: Population
    at: list[datetime]
    since: list[datetime | None]
    handed_over: list[bool]  # judged at a hand-off (else at the lead's creation)
    truncated: int  # leads with a known result left out by MAX_LEADS

    def __len__(self) -> int:
        return len(self.population)


def history(
    *, now: datetime, days: int = HISTORY_DAYS, limit: int = MAX_LEADS, segment: Segment | None = None
) -> History:
    """Every lead with a known result judged in the last `days` days, with when and on what activity (with a
    segment: only the leads in it)."""
    population = known_results()
    leads = Lead.objects.order_by() if segment is None else Lead.objects.filter(segment.owns()).order_by()
    created = dict(leads.values_list("pk", "created_at").iterator(chunk_size=5000))
    if segment is not None:
        population = population.subset(np.isin(population.lead_ids, np.fromiter(created, dtype=np.int64)))
    # lead → (hand-off of the latest closed hand-over, when the one before it was closed, when it was closed)
    latest: dict[int, tuple[datetime, datetime | None, datetime]] = {}
    rows = Cycle.objects.filter(closed_at__isnull=False).order_by("lead_id", "closed_at", "id")
    for lead_id, handed_over_at, closed_at in rows.values_list("lead_id", "handed_over_at", "closed_at"):
        before = latest.get(lead_id)
        latest[lead_id] = (handed_over_at, before[2] if before else None, closed_at)
    at: list[datetime] = []
    since: list[datetime | None] = []
    handed: list[bool] = []
    for lead_id in population.lead_ids.tolist():
        if lead_id in latest:
            handed_over_at, previous_close, _ = latest[lead_id]
            at.append(handed_over_at)
            since.append(previous_close)
        else:
            at.append(created[lead_id])
            since.append(None)
        handed.append(lead_id in latest)
    start = now - timedelta(days=days)
    inside = np.array([start <= moment <= now for moment in at], dtype=bool)
    order = np.flatnonzero(inside)
    truncated = 0
    if order.size > limit:
        recent = np.argsort([at[i] for i in order], kind="stable")[::-1][:limit]
        truncated = int(order.size - limit)
        order = np.sort(order[recent])
    mask = np.zeros(len(population), dtype=bool)
    mask[order] = True
    kept = population.subset(mask)
    return History(
        kept, [at[i] for i in order], [since[i] for i in order], [handed[i] for i in order], truncated
    )


def quantile_bands(scores: np.ndarray, won: np.ndarray, n: int = BANDS) -> list[dict[str, Any]]:
    """Conversion by score band, the bands at the quantiles of these scores (the agreement's own range), so no
    band is empty by construction; equal scores always share a band."""
    if scores.size == 0:
        return []
    distinct = np.unique(scores)
    if distinct.size <= n:  # as many bands as scores: one band each
        return [_band(value, value, scores == value, won) for value in distinct]
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, n + 1)))
    out = []
    for i, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        last = i == len(edges) - 2
        inside = (scores >= low) & ((scores <= high) if last else (scores < high))
        out.append(_band(low, high, inside, won))
    return out


def _band(low: float, high: float, inside: np.ndarray, won: np.ndarray) -> dict[str, Any]:
    return {"from": float(low), "to": float(high), "leads": int(inside.sum()), "won": int(won[inside].sum()),
            "conversion": float(won[inside].mean()) if inside.any() else None, "single": bool(low == high)}  # fmt: skip


def _monotonic(bands: list[dict[str, Any]]) -> bool:
    rates = [b["conversion"] for b in bands if b["conversion"] is not None]
    return rates == sorted(rates)


@dataclass(frozen=True)
class Verdicts:
    scores: np.ndarray
    mql: np.ndarray
    hot: np.ndarray


def verdicts(agreement: Agreement, past: History) -> Verdicts:
    """Each past lead's score and verdict under `agreement`, judged at its own moment on the activity that
    counted then; a lead turned down before and silent since is no MQL whatever its score (as in scoring)."""
    criteria = agreement.criteria
    scores = np.zeros(len(past))
    mql = np.zeros(len(past), dtype=bool)
    hot = np.zeros(len(past), dtype=bool)
    population = past.population
    for i, (attributes, facts) in enumerate(zip(population.attributes, population.activities, strict=True)):
        moment, since = past.at[i], past.since[i]
        counting = [f for f in facts if f.occurred_at <= moment and (since is None or f.occurred_at > since)]
        evaluation = evaluate(criteria, attributes, counting, moment, evidence=False)
        scores[i] = evaluation.total
        mql[i] = evaluation.is_mql and not (since is not None and not counting)
        hot[i] = mql[i] and evaluation.tier.value == "hot"
    return Verdicts(scores, mql, hot)


def judge(agreement: Agreement, past: History) -> dict[str, Any]:
    """One agreement on the history: AUC, conversion by band and the MQL volume it would have sent (overall and
    by month)."""
    criteria = agreement.criteria
    judged = verdicts(agreement, past)
    scores, mql, hot = judged.scores, judged.mql, judged.hot
    population = past.population
    won = population.won > 0
    bands = quantile_bands(scores, won.astype(float))
    months = [moment.strftime("%Y-%m") for moment in past.at]
    per_month = []
    for month in sorted(set(months)):
        here = np.array([m == month for m in months], dtype=bool)
        per_month.append({"month": month, "leads": int(here.sum()), "mqls": int((mql & here).sum()),
                          "won": int((mql & won & here).sum())})  # fmt: skip
    return {
        "threshold": criteria.threshold,
        "rules": len(criteria.fit_rules) + len(criteria.engagement_rules),
        "leads": len(past),
        "auc": auc(scores, won),
        "bands": bands,
        "bands_monotonic": _monotonic(bands),
        "mqls": int(mql.sum()),
        "hot": int(hot.sum()),
        "won_among_mqls": int((mql & won).sum()),
        "win_rate_mqls": rate(int((mql & won).sum()), int(mql.sum())),
        "won_missed": int((won & ~mql).sum()),
        "per_month": per_month,
    }


def fingerprint(*, now: datetime) -> str:
    """What the backtest's result depends on besides the two agreements, in three aggregate queries: the leads
    (how many, the latest change), their activity and the closed hand-overs; and the day (the history window)."""
    leads = Lead.objects.aggregate(n=Count("pk"), changed=Max("updated_at"))
    activity = Activity.objects.aggregate(n=Count("pk"), last=Max("pk"))
    closed = Cycle.objects.filter(closed_at__isnull=False).aggregate(n=Count("pk"), last=Max("closed_at"))
    return json.dumps([leads, activity, closed, now.date()], sort_keys=True, default=str)


def backtest(
    draft: Agreement, active: Agreement | None, *, now: datetime, segment: Segment | None = None
) -> dict[str, Any]:
    """The draft and the active agreement judged side by side on the same past leads (with a segment: the
    draft's segment's leads only)."""
    past = history(now=now, segment=segment)
    about = past.population.describe()
    judged_draft = judge(draft, past)
    judged_active = judge(active, past) if active is not None else None
    other = {row["month"]: row for row in judged_active["per_month"]} if judged_active else {}
    months = [
        {"month": row["month"], "leads": row["leads"], "draft_mqls": row["mqls"], "draft_won": row["won"],
         "active_mqls": other.get(row["month"], {}).get("mqls"), "active_won": other.get(row["month"], {}).get("won")}
        for row in judged_draft["per_month"]
    ]  # fmt: skip
    return {
        "history_days": HISTORY_DAYS,
        "max_leads": MAX_LEADS,
        "truncated": past.truncated,
        "population": about,
        "at_hand_off": sum(past.handed_over),
        "at_creation": len(past) - sum(past.handed_over),
        "handed_again": sum(1 for s in past.since if s is not None),
        "draft": judged_draft,
        "active": judged_active,
        "months": months,
    }
