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
from django.db.models import Case, Count, F, IntegerField, Max, Min, Q, QuerySet, TextField, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from feedback.models import Cycle, CycleRule
from feedback.months import MIN_EVIDENCE, month_bounds, month_start, next_month, previous_month, rate  # noqa: F401 (re-exported)
from feedback.suggest import suggestions_for
from leads.models import Lead, SlaBreach
from sla.agreement import Agreement
from sla.models import AgreementVersion

COHORT_RULE = _(
    "The cohort is every hand-over to sales (lead became an MQL) in the month, each cycle counted once, judged "
    "by the outcome it has now. Hand-overs without an outcome yet are immature and counted as such."
)
BANDS: tuple[tuple[int | None, int | None, str], ...] = (
    (None, 25, _("under 25")),
    (25, 50, "25–49"),
    (50, 75, "50–74"),
    (75, 100, "75–99"),
    (100, None, _("100 and over")),
)
CLOSED_LOST = (Cycle.Outcome.REJECTED, Cycle.Outcome.LOST, Cycle.Outcome.DISQUALIFIED)


def cohort(month: date) -> QuerySet[Cycle]:
    start, end = month_bounds(month)
    return Cycle.objects.filter(handed_over_at__gte=start, handed_over_at__lt=end)


# --- funnel ----------------------------------------------------------------------------------------------


def funnel(month: date) -> dict[str, Any]:
    start, end = month_bounds(month)
    leads = Lead.objects.filter(created_at__gte=start, created_at__lt=end).count()
    counts = cohort(month).aggregate(
        mqls=Count("id"),
        accepted=Count("id", filter=Q(accepted_at__isnull=False)),
        sqls=Count("id", filter=Q(sql_at__isnull=False)),
        won=Count("id", filter=Q(outcome=Cycle.Outcome.WON)),
        rejected=Count("id", filter=Q(outcome=Cycle.Outcome.REJECTED)),
        lost=Count("id", filter=Q(outcome=Cycle.Outcome.LOST)),
        disqualified=Count("id", filter=Q(outcome=Cycle.Outcome.DISQUALIFIED)),
        immature=Count("id", filter=Q(closed_at__isnull=True)),
    )
    counts["leads"] = leads
    counts["steps"] = [
        {"step": _("Lead → MQL"), "rate": rate(counts["mqls"], leads)},
        {"step": _("MQL → accepted"), "rate": rate(counts["accepted"], counts["mqls"])},
        {"step": _("Accepted → SQL"), "rate": rate(counts["sqls"], counts["accepted"])},
        {"step": _("SQL → won"), "rate": rate(counts["won"], counts["sqls"])},
        {"step": _("MQL → won"), "rate": rate(counts["won"], counts["mqls"])},
    ]
    return counts


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


def marketing_side(month: date, version: AgreementVersion | None) -> dict[str, Any]:
    terms = Agreement.of(version).terms.marketing if version else None
    committed = terms.mql_per_month if terms else None
    required = [
        name
        for name in (terms.required_fields if terms else ())
        if name in {f.name for f in Lead._meta.fields}
    ]
    complete = Q()
    for name in required:
        complete &= Q(**{f"lead__{name}__isnull": False})
        if Lead._meta.get_field(name).empty_strings_allowed:  # text; a number (employees) is only ever NULL
            complete &= ~Q(**{f"lead__{name}": ""})
    month_cycles = cohort(month)
    totals = month_cycles.aggregate(delivered=Count("id"), complete=Count("id", filter=complete))
    by = {}
    for field in ("source", "campaign"):
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
        by[field] = [
            {
                "name": row[field] or _("(none)"),
                "mqls": row["mqls"],
                "accepted": row["accepted"],
                "won": row["won"],
                "rejected": row["rejected"],
                "accept_rate": rate(row["accepted"], row["mqls"]),
                "win_rate": rate(row["won"], row["mqls"]),
            }
            for row in rows
        ]
    return {
        "committed": committed,
        "delivered": totals["delivered"],
        "delivered_share": rate(totals["delivered"], committed),
        "required_fields": required,
        "complete": totals["complete"],
        "complete_share": rate(totals["complete"], totals["delivered"]),
        "by_source": by["source"],
        "by_campaign": by["campaign"],
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


def _percentiles(values: np.ndarray) -> tuple[float | None, float | None]:
    if values.size == 0:
        return None, None
    median, p90 = np.percentile(values, [50, 90])
    return float(median), float(p90)


def sales_side(month: date) -> dict[str, Any]:
    month_cycles = cohort(month)
    overall = _sla_rates(month_cycles.aggregate(**_SLA_COUNTS))
    minutes = np.array(
        month_cycles.exclude(first_contact_minutes=None).values_list("first_contact_minutes", flat=True),
        dtype=float,
    )
    overall["median_first_contact_minutes"], overall["p90_first_contact_minutes"] = _percentiles(minutes)
    overall["contacted"] = int(minutes.size)
    start, end = month_bounds(month)
    breaches = SlaBreach.objects.filter(detected_at__gte=start, detected_at__lt=end)
    overall["breaches"] = breaches.count()
    overall["breaches_by_clock"] = {
        row["clock"]: row["n"] for row in breaches.values("clock").annotate(n=Count("id")).order_by("clock")
    }
    rep_rows = (
        month_cycles.filter(owner__isnull=False)
        .values("owner_id", "owner__username", "owner__first_name", "owner__last_name")
        .annotate(handled=Count("id"), won=Count("id", filter=Q(outcome=Cycle.Outcome.WON)), **_SLA_COUNTS)
        .order_by("owner__first_name", "owner__username")
    )
    pairs = np.array(
        month_cycles.filter(owner__isnull=False)
        .exclude(first_contact_minutes=None)
        .values_list("owner_id", "first_contact_minutes"),
        dtype=float,
    ).reshape(-1, 2)
    rep_breaches = dict(breaches.filter(owner__isnull=False).values_list("owner_id").annotate(n=Count("id")))
    reps = []
    for row in rep_rows:
        own = pairs[pairs[:, 0] == row["owner_id"], 1] if pairs.size else np.array([])
        median, p90 = _percentiles(own)
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
                "breaches": rep_breaches.get(row["owner_id"], 0),
            }
        )
    overall["reps"] = reps
    return overall


# --- score versus result ---------------------------------------------------------------------------------


def _band_case() -> Case:
    whens = []
    for index, (low, high, _label) in enumerate(BANDS):
        condition = Q()
        if low is not None:
            condition &= Q(score__gte=low)
        if high is not None:
            condition &= Q(score__lt=high)
        whens.append(When(condition, then=Value(index)))
    return Case(*whens, output_field=IntegerField())


def score_bands(queryset: QuerySet[Cycle]) -> list[dict[str, Any]]:
    rows = {
        row["band"]: row
        for row in queryset.annotate(band=_band_case())
        .values("band")
        .annotate(
            n=Count("id"),
            accepted=Count("id", filter=Q(accepted_at__isnull=False)),
            sqls=Count("id", filter=Q(sql_at__isnull=False)),
            won=Count("id", filter=Q(outcome=Cycle.Outcome.WON)),
            closed=Count("id", filter=Q(closed_at__isnull=False)),
        )
        .order_by("band")
    }
    bands = []
    for index, (_low, _high, label) in enumerate(BANDS):
        row = rows.get(index, {"n": 0, "accepted": 0, "sqls": 0, "won": 0, "closed": 0})
        bands.append(
            {
                "band": label,
                "n": row["n"],
                "accepted": row["accepted"],
                "sqls": row["sqls"],
                "won": row["won"],
                "immature": row["n"] - row["closed"],
                "accept_rate": rate(row["accepted"], row["n"]),
                "sql_rate": rate(row["sqls"], row["n"]),
                "win_rate": rate(row["won"], row["n"]),
            }
        )
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


def score_auc(queryset: QuerySet[Cycle]) -> dict[str, Any]:
    closed = np.array(
        list(queryset.filter(outcome__in=[Cycle.Outcome.WON, *CLOSED_LOST]).values_list("score", "outcome")),
        dtype=object,
    ).reshape(-1, 2)
    scores = closed[:, 0].astype(float) if closed.size else np.array([])
    won = (closed[:, 1] == Cycle.Outcome.WON) if closed.size else np.array([], dtype=bool)
    return auc(scores, won)


def rule_lifts(queryset: QuerySet[Cycle]) -> list[dict[str, Any]]:
    """Each rule's and trigger's lift: conversion where it had fired at hand-off vs where it had not."""
    totals = queryset.aggregate(
        n=Count("id"),
        won=Count("id", filter=Q(outcome=Cycle.Outcome.WON)),
        accepted=Count("id", filter=Q(accepted_at__isnull=False)),
    )
    # one row per (cycle, rule) is guaranteed by a constraint, so plain counts are distinct cycles
    rows = (
        CycleRule.objects.filter(cycle__in=queryset)
        .values("rule_id", "kind")  # a rule renamed mid-month stays one row (under one of its names)
        .annotate(
            name=Max("name"),
            n=Count("id"),
            won=Count("id", filter=Q(cycle__outcome=Cycle.Outcome.WON)),
            accepted=Count("id", filter=Q(cycle__accepted_at__isnull=False)),
        )
        .order_by("kind", "name")
    )
    lifts = []
    for row in rows:
        without = totals["n"] - row["n"]
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
        .order_by("score", "pk")
    )
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
            for lead in never[:15]
        ],
        "never_mql_but_won_count": never.count(),
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
            {"reason": row[label] or _("(none)"), "source": row["source"] or _("(none)"), "n": row["n"]}
            for row in rows
        ]

    by_rule = (
        CycleRule.objects.filter(cycle__in=queryset, cycle__outcome=Cycle.Outcome.REJECTED)
        .values("name", "cycle__rejection_reason__label")
        .annotate(n=Count("cycle_id", distinct=True))
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
            (row["cycle__rejection_reason__label"] or _("(none)"), row["n"])
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


def review_for(month: date) -> dict[str, Any]:
    """Every figure of the month's review, with last month's funnel beside it, as JSON-ready data."""
    month = month_start(month)
    version = agreement_in_force(month)
    threshold = Agreement.of(version).threshold if version else None
    month_cycles = cohort(month)
    data: dict[str, Any] = {
        "month": month.isoformat(),
        "previous_month": previous_month(month).isoformat(),
        "cohort_rule": COHORT_RULE,
        "agreement": {
            "id": version.pk,
            "number": version.number,
            "threshold": threshold,
            "in_force_at_month_end": version == _in_force_at_month_end(month),
        }
        if version
        else None,
        "handover_agreements": handover_agreements(month_cycles),
        "funnel": funnel(month),
        "previous_funnel": funnel(previous_month(month)),
        "marketing": marketing_side(month, version),
        "sales": sales_side(month),
        "score_bands": score_bands(month_cycles),
        "auc": score_auc(month_cycles),
        "rule_lifts": rule_lifts(month_cycles),
        "lists": discussion_lists(month, month_cycles, threshold=threshold),
        "reasons": reasons(month_cycles),
    }
    data["suggestions"] = [asdict(s) for s in suggestions_for(month=month, data=data, version=version)]
    return data


def months_with_data(limit: int = 24) -> list[MonthChoice]:
    dates = Cycle.objects.dates("handed_over_at", "month", order="DESC")[:limit]
    return [MonthChoice(month=d.strftime("%Y-%m"), label=d.strftime("%B %Y")) for d in dates]
