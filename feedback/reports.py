"""The monthly review's figures, computed by the database (aggregates over stored cycles, rules and events) or
in vectorised numpy code — never by looping over leads in Python. The screen, the CSV exports, the snapshot and
`manage.py review --json` all read the one dict `review_for(month)` returns.

Cohort rule: the month's cohort is the hand-overs (cycles) that happened in that month, each counted once,
judged by the outcome they have now; those without an outcome yet are "immature".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Count, F, Max, Min, Q, QuerySet, TextField, Window
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from feedback.models import Cycle
from feedback.months import MIN_EVIDENCE, month_bounds, month_start, next_month, previous_month, rate  # noqa: F401 (re-exported)
from feedback.suggest import suggestions_for
from leads.models import Lead, SlaBreach
from sla.agreement import Agreement
from sla.models import AgreementVersion

COHORT_RULE = _(
    "The cohort is every hand-over to sales (lead became an MQL) in the month, each cycle counted once, judged "
    "by the outcome it has now. Hand-overs without an outcome yet are immature and counted as such."
)
# Fixed 25-point bands, kept where figures are compared on one scale across months or versions (the trend, the
# what-if). A month's review cuts its own bands at its scores' quantiles (`band_edges`).
BANDS: tuple[tuple[int | None, int | None, str], ...] = (
    (None, 25, "under 25"),
    (25, 50, "25–49"),
    (50, 75, "50–74"),
    (75, 100, "75–99"),
    (100, None, "100 and over"),
)
CLOSED_LOST = (Cycle.Outcome.REJECTED, Cycle.Outcome.LOST, Cycle.Outcome.DISQUALIFIED)


def cohort(month: date) -> QuerySet[Cycle]:
    start, end = month_bounds(month)
    return Cycle.objects.filter(handed_over_at__gte=start, handed_over_at__lt=end)


# --- funnel ---------------------------------------------------------------------------------------------

_FUNNEL_COUNTS = {
    "mqls": Count("id"),
    "accepted": Count("id", filter=Q(accepted_at__isnull=False)),
    "sqls": Count("id", filter=Q(sql_at__isnull=False)),
    "won": Count("id", filter=Q(outcome=Cycle.Outcome.WON)),
    "rejected": Count("id", filter=Q(outcome=Cycle.Outcome.REJECTED)),
    "lost": Count("id", filter=Q(outcome=Cycle.Outcome.LOST)),
    "disqualified": Count("id", filter=Q(outcome=Cycle.Outcome.DISQUALIFIED)),
    "immature": Count("id", filter=Q(closed_at__isnull=True)),
}


def _funnel(counts: dict[str, Any], leads: int) -> dict[str, Any]:
    counts = {key: counts[key] for key in _FUNNEL_COUNTS}
    counts["leads"] = leads
    counts["steps"] = [
        {"step": _("Lead → MQL"), "rate": rate(counts["mqls"], leads)},
        {"step": _("MQL → accepted"), "rate": rate(counts["accepted"], counts["mqls"])},
        {"step": _("Accepted → SQL"), "rate": rate(counts["sqls"], counts["accepted"])},
        {"step": _("SQL → won"), "rate": rate(counts["won"], counts["sqls"])},
        {"step": _("MQL → won"), "rate": rate(counts["won"], counts["mqls"])},
    ]
    return counts


def new_leads(month: date) -> int:
    start, end = month_bounds(month)
    return Lead.objects.filter(created_at__gte=start, created_at__lt=end).count()


def new_leads_this_and_last_month(month: date) -> tuple[int, int]:
    """Leads created in the month and in the month before, on one scan of the created-at index."""
    start, end = month_bounds(month)
    before, _ = month_bounds(previous_month(month))
    counts = Lead.objects.filter(created_at__gte=before, created_at__lt=end).aggregate(
        now=Count("pk", filter=Q(created_at__gte=start)), before=Count("pk", filter=Q(created_at__lt=start))
    )
    return counts["now"], counts["before"]


def funnel(month: date) -> dict[str, Any]:
    return _funnel(cohort(month).aggregate(**_FUNNEL_COUNTS), new_leads(month))


# --- marketing's side ------------------------------------------------------------------------------------


def agreement_in_force(month: date) -> AgreementVersion | None:
    """The version in force at the end of the month (else the first one after it), for the commitments."""
    return _in_force_at_month_end(month) or AgreementVersion.objects.active()


def _in_force_at_month_end(month: date) -> AgreementVersion | None:
    _, end = month_bounds(month)
    return (
        AgreementVersion.objects.filter(activated_at__lt=end)
        .filter(Q(superseded_at__isnull=True) | Q(superseded_at__gte=end))
        .order_by("-activated_at")
        .first()
    )


def handover_agreements(month_cycles: QuerySet[Cycle]) -> list[dict[str, Any]]:
    """Which agreement version each of the month's hand-overs was made under (stored on the cycle at hand-over),
    so a past month never claims the version activated today."""
    rows = (
        month_cycles.values("agreement__number")
        .annotate(handovers=Count("id"), first=Min("handed_over_at"), last=Max("handed_over_at"))
        .order_by("agreement__number")
    )
    return [
        {"number": row["agreement__number"], "handovers": row["handovers"], "first": row["first"],
         "last": row["last"]}
        for row in rows
    ]  # fmt: skip


def required_fields(version: AgreementVersion | None) -> tuple[list[str], Q]:
    """The lead fields marketing committed to fill, and the filter a complete hand-over passes."""
    terms = Agreement.of(version).terms.marketing if version else None
    lead_fields = {f.name for f in Lead._meta.fields}
    required = [name for name in (terms.required_fields if terms else ()) if name in lead_fields]
    complete = Q()
    for name in required:
        complete &= Q(**{f"lead__{name}__isnull": False})
        if Lead._meta.get_field(name).empty_strings_allowed:  # text; a number (employees) is only ever NULL
            complete &= ~Q(**{f"lead__{name}": ""})
    return required, complete


def _by(month_cycles: QuerySet[Cycle], field: str) -> list[dict[str, Any]]:
    rows = (
        month_cycles.values(field)
        .annotate(
            mqls=Count("id"),
            accepted=Count("id", filter=Q(accepted_at__isnull=False)),
            won=Count("id", filter=Q(outcome=Cycle.Outcome.WON)),
            rejected=Count("id", filter=Q(outcome=Cycle.Outcome.REJECTED)),
        )
        .order_by("-mqls", field)
    )
    return [
        {
            "name": row[field] or "(none)",
            "mqls": row["mqls"],
            "accepted": row["accepted"],
            "won": row["won"],
            "rejected": row["rejected"],
            "accept_rate": rate(row["accepted"], row["mqls"]),
            "win_rate": rate(row["won"], row["mqls"]),
        }
        for row in rows
    ]


def marketing_side(
    month_cycles: QuerySet[Cycle], version: AgreementVersion | None, totals: dict[str, Any]
) -> dict[str, Any]:
    """Marketing's commitments against the month's hand-overs; `totals` is the month's `_totals` row."""
    terms = Agreement.of(version).terms.marketing if version else None
    committed = terms.mql_per_month if terms else None
    required, _complete = required_fields(version)
    return {
        "committed": committed,
        "delivered": totals["mqls"],
        "delivered_share": rate(totals["mqls"], committed),
        "required_fields": required,
        "complete": totals["complete"],
        "complete_share": rate(totals["complete"], totals["mqls"]),
        "by_source": _by(month_cycles, "source"),
        "by_campaign": _by(month_cycles, "campaign"),
    }


# --- sales' side -----------------------------------------------------------------------------------------

_SLA_COUNTS = {
    "claim_total": Count("id", filter=Q(claim_due_at__isnull=False)),
    "claim_ok": Count("id", filter=Q(claimed_at__lte=F("claim_due_at"))),
    "contact_total": Count("id", filter=Q(first_contact_due_at__isnull=False)),
    "contact_ok": Count("id", filter=Q(first_contact_at__lte=F("first_contact_due_at"))),
    "decision_total": Count("id", filter=Q(accept_due_at__isnull=False)),
    "decision_ok": Count(
        "id", filter=Q(accepted_at__lte=F("accept_due_at")) | Q(rejected_at__lte=F("accept_due_at"))
    ),
    "outcome_total": Count("id", filter=Q(outcome_due_at__isnull=False) & ~Q(outcome=Cycle.Outcome.REJECTED)),
    "outcome_ok": Count(
        "id",
        filter=Q(closed_at__lte=F("outcome_due_at")) & ~Q(outcome=Cycle.Outcome.REJECTED),
    ),
}


def _sla_rates(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "claim_rate": rate(row["claim_ok"], row["claim_total"]),
        "contact_rate": rate(row["contact_ok"], row["contact_total"]),
        "decision_rate": rate(row["decision_ok"], row["decision_total"]),
        "outcome_rate": rate(row["outcome_ok"], row["outcome_total"]),
    }


def _first_contact_percentiles(month_cycles: QuerySet[Cycle]) -> dict[int | None, tuple[float, float, int]]:
    """Median and 90th percentile of business minutes to first contact, with how many cycles were contacted:
    per owner id, and over every cycle under the key None. Linear interpolation between ranks (numpy's default,
    PostgreSQL's percentile_cont): on PostgreSQL the database computes them, elsewhere numpy over the minutes."""
    contacted = month_cycles.exclude(first_contact_minutes=None)
    if connection.vendor == "postgresql":
        sql, params = contacted.values("owner_id", "first_contact_minutes").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT GROUPING(c.owner_id), c.owner_id, "
                "percentile_cont(0.5) WITHIN GROUP (ORDER BY c.first_contact_minutes), "
                "percentile_cont(0.9) WITHIN GROUP (ORDER BY c.first_contact_minutes), COUNT(*) "
                f"FROM ({sql}) AS c GROUP BY ROLLUP (c.owner_id)",
                params,
            )
            return {
                (None if overall else owner): (float(median), float(p90), int(n))
                for overall, owner, median, p90, n in cursor.fetchall()
                if overall or owner is not None
            }
    pairs = np.array(list(contacted.values_list("owner_id", "first_contact_minutes")), dtype=float).reshape(
        -1, 2
    )
    found: dict[int | None, tuple[float, float, int]] = {}
    if pairs.size:
        median, p90 = np.percentile(pairs[:, 1], [50, 90])
        found[None] = (float(median), float(p90), len(pairs))
        owned = pairs[~np.isnan(pairs[:, 0])]
        for owner in np.unique(owned[:, 0]):
            own = owned[owned[:, 0] == owner, 1]
            median, p90 = np.percentile(own, [50, 90])
            found[int(owner)] = (float(median), float(p90), len(own))
    return found


def sales_side(month: date, month_cycles: QuerySet[Cycle], totals: dict[str, Any]) -> dict[str, Any]:
    """Sales' SLA over the month's hand-overs (`totals` is the month's `_totals` row) and the month's breaches."""
    overall = _sla_rates({key: totals[key] for key in _SLA_COUNTS})
    minutes = _first_contact_percentiles(month_cycles)
    median, p90, contacted = minutes.get(None, (None, None, 0))
    overall["median_first_contact_minutes"], overall["p90_first_contact_minutes"] = median, p90
    overall["contacted"] = contacted
    start, end = month_bounds(month)
    by_clock: dict[str, int] = {}
    by_owner: dict[int, int] = {}
    breach_rows = (
        SlaBreach.objects.filter(detected_at__gte=start, detected_at__lt=end)
        .values_list("clock", "owner_id")
        .annotate(n=Count("id"))
        .order_by("clock", "owner_id")
    )
    for clock, owner_id, n in breach_rows:
        by_clock[clock] = by_clock.get(clock, 0) + n
        if owner_id is not None:
            by_owner[owner_id] = by_owner.get(owner_id, 0) + n
    overall["breaches"] = sum(by_clock.values())
    overall["breaches_by_clock"] = by_clock
    rep_rows = (
        month_cycles.filter(owner__isnull=False)
        .values("owner_id", "owner__username", "owner__first_name", "owner__last_name")
        .annotate(handled=Count("id"), won=Count("id", filter=Q(outcome=Cycle.Outcome.WON)), **_SLA_COUNTS)
        .order_by("owner__first_name", "owner__username")
    )
    reps = []
    for row in rep_rows:
        median, p90, _n = minutes.get(row["owner_id"], (None, None, 0))
        name = f"{row['owner__first_name']} {row['owner__last_name']}".strip() or row["owner__username"]
        reps.append(
            {
                **_sla_rates({key: row[key] for key in _SLA_COUNTS}),
                "rep": name,
                "username": row["owner__username"],
                "handled": row["handled"],
                "won": row["won"],
                "median_first_contact_minutes": median,
                "p90_first_contact_minutes": p90,
                "breaches": by_owner.get(row["owner_id"], 0),
            }
        )
    overall["reps"] = reps
    return overall


# --- score versus result ---------------------------------------------------------------------------------


BAND_COUNT = 5  # at most this many bands, each about a fifth of the month's hand-overs


@dataclass(frozen=True)
class ScoreHistogram:
    """The month's hand-overs counted per score at hand-off: one row per score that occurs, ascending. Bands,
    the AUC and any quantile come from these few hundred rows, not from one row per hand-over."""

    scores: np.ndarray
    n: np.ndarray
    accepted: np.ndarray
    sqls: np.ndarray
    won: np.ndarray
    closed: np.ndarray
    closed_not_won: np.ndarray  # rejected, lost or disqualified


def score_histogram(queryset: QuerySet[Cycle]) -> ScoreHistogram:
    rows = list(
        queryset.values("score")
        .annotate(
            n=Count("id"),
            accepted=Count("id", filter=Q(accepted_at__isnull=False)),
            sqls=Count("id", filter=Q(sql_at__isnull=False)),
            won=Count("id", filter=Q(outcome=Cycle.Outcome.WON)),
            closed=Count("id", filter=Q(closed_at__isnull=False)),
            closed_not_won=Count("id", filter=Q(outcome__in=CLOSED_LOST)),
        )
        .order_by("score")
        .values_list("score", "n", "accepted", "sqls", "won", "closed", "closed_not_won")
    )
    table = np.array(rows, dtype=np.int64).reshape(-1, 7)
    return ScoreHistogram(*(table[:, column] for column in range(7)))


def band_edges(histogram: ScoreHistogram, count: int = BAND_COUNT) -> list[int]:
    """The highest score of each band: the month's score quantiles at 1/count, 2/count... (the lowest score whose
    cumulative share reaches each), then the top score. A score shared by many hand-overs stays in one band, so
    bands can be fewer than `count` and differ in size, but none is empty."""
    if not histogram.scores.size:
        return []
    cumulative = np.cumsum(histogram.n)
    total = int(cumulative[-1])
    edges = []
    for step in range(1, count):
        position = int(np.searchsorted(cumulative, step * total / count, side="left"))
        edges.append(int(histogram.scores[position]))
    edges.append(int(histogram.scores[-1]))
    return sorted(set(edges))


def _band_label(low: int, high: int) -> str:
    """ "12–25", or "25" for a band of one score; a negative score with a true minus sign (a spreadsheet does not
    take "−19–24" for a formula)."""

    def number(value: int) -> str:
        return f"−{-value}" if value < 0 else str(value)

    return number(low) if low == high else f"{number(low)}–{number(high)}"


def score_bands(histogram: ScoreHistogram) -> list[dict[str, Any]]:
    """Conversion by band of score at hand-off, the bands cut at the month's own score quantiles."""
    bands = []
    lower = 0
    for edge in band_edges(histogram):
        upper = int(np.searchsorted(histogram.scores, edge, side="right"))
        part = slice(lower, upper)
        n, accepted, sqls, won = (int(a[part].sum()) for a in
                                  (histogram.n, histogram.accepted, histogram.sqls, histogram.won))  # fmt: skip
        low, high = int(histogram.scores[lower]), int(histogram.scores[upper - 1])
        bands.append(
            {
                "band": _band_label(low, high),
                "low": low,
                "high": high,
                "n": n,
                "accepted": accepted,
                "sqls": sqls,
                "won": won,
                "immature": n - int(histogram.closed[part].sum()),
                "accept_rate": rate(accepted, n),
                "sql_rate": rate(sqls, n),
                "win_rate": rate(won, n),
            }
        )
        lower = upper
    return bands


def auc(scores: np.ndarray, won: np.ndarray) -> dict[str, Any]:
    """How well the score ranks outcomes: the chance a won lead outscored a lost one (ties count half)."""
    positives, negatives = int(won.sum()), int((~won).sum())
    if not positives or not negatives:
        return {"auc": None, "won": positives, "not_won": negatives}
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=float)
    sorted_scores = scores[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0  # 1-based average rank of each tied group
    ranks[order] = np.repeat(average, counts)
    value = (ranks[won].sum() - positives * (positives + 1) / 2.0) / (positives * negatives)
    return {"auc": float(value), "won": positives, "not_won": negatives}


def histogram_auc(histogram: ScoreHistogram) -> dict[str, Any]:
    """The AUC from counts per score: each won hand-over beats the closed-not-won ones scoring lower and ties
    half of those scoring the same (the same value as `auc` over one row per hand-over, in exact integers)."""
    positives, negatives = int(histogram.won.sum()), int(histogram.closed_not_won.sum())
    if not positives or not negatives:
        return {"auc": None, "won": positives, "not_won": negatives}
    below = np.concatenate(([0], np.cumsum(histogram.closed_not_won)[:-1]))
    twice = int((histogram.won * (2 * below + histogram.closed_not_won)).sum())
    return {"auc": twice / (2 * positives * negatives), "won": positives, "not_won": negatives}


def rule_lifts(queryset: QuerySet[Cycle], totals: dict[str, Any]) -> list[dict[str, Any]]:
    """Each rule's and trigger's lift: conversion where it had fired at hand-off vs where it had not (`totals`
    holds the month's mqls, won and accepted counts)."""
    # one row per (cycle, rule) is guaranteed by a constraint, so plain counts are distinct cycles
    # read from the month's cycles joined to their rules (one join); a rule renamed mid-month stays one row
    rows = (
        queryset.filter(rules__isnull=False)
        .values(rule_id=F("rules__rule_id"), kind=F("rules__kind"))
        .annotate(
            name=Max("rules__name"),
            n=Count("rules__id"),
            won=Count("rules__id", filter=Q(outcome=Cycle.Outcome.WON)),
            accepted=Count("rules__id", filter=Q(accepted_at__isnull=False)),
        )
        .order_by("kind", "name")
    )
    lifts = []
    for row in rows:
        without = totals["mqls"] - row["n"]
        win_fired, win_not = rate(row["won"], row["n"]), rate(totals["won"] - row["won"], without)
        acc_fired, acc_not = (
            rate(row["accepted"], row["n"]),
            rate(totals["accepted"] - row["accepted"], without),
        )
        lifts.append(
            {
                "rule_id": row["rule_id"],
                "kind": row["kind"],
                "name": row["name"],
                "fired": row["n"],
                "not_fired": without,
                "won_fired": row["won"],
                "won_not_fired": totals["won"] - row["won"],
                "win_rate_fired": win_fired,
                "win_rate_not_fired": win_not,
                "win_lift": (win_fired / win_not) if win_fired is not None and win_not else None,
                "accept_rate_fired": acc_fired,
                "accept_rate_not_fired": acc_not,
                "accept_lift": (acc_fired / acc_not) if acc_fired is not None and acc_not else None,
                "enough": row["n"] >= MIN_EVIDENCE and without >= MIN_EVIDENCE,
            }
        )
    return lifts


def _lead_row(cycle: dict[str, Any]) -> dict[str, Any]:
    name = f"{cycle['lead__first_name']} {cycle['lead__last_name']}".strip() or cycle["lead__email"]
    return {
        "lead_id": cycle["lead_id"],
        "name": name or f"Lead {cycle['lead_id']}",
        "company": cycle["lead__company"],
        "score": cycle["score"],
        "tier": cycle["tier"],
        "outcome": cycle["outcome"],
        "reason": cycle["rejection_reason__label"] or cycle["outcome_reason__label"] or "",
        "source": cycle["source"],
    }


_ROW_FIELDS = (
    "lead_id", "lead__first_name", "lead__last_name", "lead__email", "lead__company", "score", "tier", "outcome",
    "rejection_reason__label", "outcome_reason__label", "source",
)  # fmt: skip


def discussion_lists(month: date, queryset: QuerySet[Cycle], *, threshold: int | None) -> dict[str, Any]:
    """The two lists that start the discussion: high score but rejected or lost; low score (or never MQL) but won."""
    high = queryset.filter(outcome__in=[Cycle.Outcome.REJECTED, Cycle.Outcome.LOST]).order_by("-score", "pk")
    low = queryset.filter(outcome=Cycle.Outcome.WON).order_by("score", "pk")
    if threshold is not None:
        high = high.filter(score__gte=threshold)
        low = low.filter(score__lt=threshold)
    start, end = month_bounds(month)
    never = (
        Lead.objects.filter(created_at__gte=start, created_at__lt=end, cycles__isnull=True)
        .annotate(converted=Cast(KT("attributes__outcome_converted"), TextField()))
        .filter(converted__in=["1", "1.0", "true", "True", "yes"])
        .only("first_name", "last_name", "email", "company", "score", "source")
        .annotate(count=Window(Count("pk")))  # how many in all, on the same scan as the first 15
        .order_by("score", "pk")
    )
    never_rows = list(never[:15])
    return {
        "high_score_not_converted": [_lead_row(row) for row in high.values(*_ROW_FIELDS)[:15]],
        "low_score_won": [_lead_row(row) for row in low.values(*_ROW_FIELDS)[:15]],
        "never_mql_but_won": [
            {
                "lead_id": lead.pk,
                "name": str(lead),
                "company": lead.company,
                "score": lead.score,
                "source": lead.source,
            }
            for lead in never_rows
        ],
        "never_mql_but_won_count": never_rows[0].count if never_rows else 0,
    }


def reasons(queryset: QuerySet[Cycle]) -> dict[str, Any]:
    def table(outcome: str, label: str) -> list[dict[str, Any]]:
        rows = (
            queryset.filter(outcome=outcome)
            .values(label, "source")
            .annotate(n=Count("id"))
            .order_by(label, "-n", "source")
        )
        return [
            {"reason": row[label] or "(none)", "source": row["source"] or "(none)", "n": row["n"]}
            for row in rows
        ]

    by_rule = (
        queryset.filter(outcome=Cycle.Outcome.REJECTED, rules__isnull=False)
        .values(name=F("rules__name"), label=F("rejection_reason__label"))
        .annotate(n=Count("id", distinct=True))
        .order_by("name", "-n")
    )
    return {
        "rejection_by_source": table(Cycle.Outcome.REJECTED, "rejection_reason__label"),
        "loss_by_source": table(Cycle.Outcome.LOST, "outcome_reason__label"),
        "rejection_by_rule": _by_rule(by_rule),
    }


def _by_rule(rows: Any) -> list[dict[str, Any]]:
    """One line per rule: how many of its hand-overs sales rejected, and why (most frequent first)."""
    grouped: dict[str, list[tuple[str, int]]] = {}
    for row in rows:
        grouped.setdefault(row["name"], []).append(
            (row["label"] or "(none)", row["n"])
        )
    return sorted(
        (
            {
                "rule": rule,
                "n": sum(n for _, n in reasons),
                "reasons": ", ".join(f"{r} {n}" for r, n in reasons),
            }
            for rule, reasons in grouped.items()
        ),
        key=lambda item: (-item["n"], item["rule"]),
    )


# --- the whole review ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthChoice:
    month: str
    label: str


def month_totals(month_cycles: QuerySet[Cycle], complete: Q) -> dict[str, Any]:
    """The funnel counts, both SLA clocks' counts and the complete hand-overs, in one pass over the month."""
    return month_cycles.aggregate(**_FUNNEL_COUNTS, **_SLA_COUNTS, complete=Count("id", filter=complete))


def review_for(month: date) -> dict[str, Any]:
    """Every figure of the month's review, with last month's funnel beside it, as JSON-ready data (read it typed
    with `feedback.figures.ReviewFigures.from_dict`). A bounded number of queries whatever the month's size."""
    month = month_start(month)
    version = agreement_in_force(month)
    in_force_at_end = _in_force_at_month_end(month)
    threshold = Agreement.of(version).threshold if version else None
    month_cycles = cohort(month)
    required, complete = required_fields(version)
    totals = month_totals(month_cycles, complete)
    histogram = score_histogram(month_cycles)
    leads_now, leads_before = new_leads_this_and_last_month(month)
    data: dict[str, Any] = {
        "month": month.isoformat(),
        "previous_month": previous_month(month).isoformat(),
        "cohort_rule": COHORT_RULE,
        "agreement": {
            "id": version.pk,
            "number": version.number,
            "threshold": threshold,
            "in_force_at_month_end": version == in_force_at_end,
        }
        if version
        else None,
        "handover_agreements": handover_agreements(month_cycles),
        "funnel": _funnel(totals, leads_now),
        "previous_funnel": _funnel(cohort(previous_month(month)).aggregate(**_FUNNEL_COUNTS), leads_before),
        "marketing": marketing_side(month_cycles, version, totals),
        "sales": sales_side(month, month_cycles, totals),
        "score_bands": score_bands(histogram),
        "auc": histogram_auc(histogram),
        "rule_lifts": rule_lifts(month_cycles, totals),
        "lists": discussion_lists(month, month_cycles, threshold=threshold),
        "reasons": reasons(month_cycles),
    }
    data["suggestions"] = [asdict(s) for s in suggestions_for(month=month, data=data, version=version)]
    return data


def months_with_data(limit: int = 24) -> list[MonthChoice]:
    dates = Cycle.objects.dates("handed_over_at", "month", order="DESC")[:limit]
    return [MonthChoice(month=d.strftime("%Y-%m"), label=d.strftime("%B %Y")) for d in dates]
