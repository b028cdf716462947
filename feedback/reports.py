"""The monthly review's figures, computed by the database (aggregates over stored cycles, rules and events) or
in vectorised numpy code — never by looping over leads in Python. The screen, the CSV exports, the snapshot and
`manage.py review --json` all read the one dict `review_for(month)` returns.

Cohort rule: the month's cohort is the hand-overs (cycles) that happened in that month, each counted once,
judged by the outcome they have now; those without an outcome yet are "immature".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F, Max, Q, QuerySet, TextField, Window
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from feedback.models import Cycle, Facts
from feedback.months import MIN_EVIDENCE, month_bounds, month_start, next_month, previous_month, rate  # noqa: F401 (re-exported)
from feedback.suggest import suggestions_for
from leads.models import Lead, SlaBreach
from sla.agreement import Agreement
from sla.models import AgreementVersion, Segment

COHORT_RULE = _(
    "The cohort is every hand-over to sales (lead became an MQL) in the month, each cycle counted once, judged "
    "by the outcome it has now. Hand-overs without an outcome yet are immature and counted as such."
)
# Fixed 25-point bands, kept where figures are compared on one scale across months or versions (the trend, the
# what-if). A month's review cuts its own bands at its scores' quantiles (`band_edges`).
BANDS: tuple[tuple[int | None, int | None, str], ...] = (
    (None, 25, _("under 25")),
    (25, 50, "25–49"),
    (50, 75, "50–74"),
    (75, 100, "75–99"),
    (100, None, _("100 and over")),
)
CLOSED_LOST = (Cycle.Outcome.REJECTED, Cycle.Outcome.LOST, Cycle.Outcome.DISQUALIFIED)


def cohort(month: date, segment: Segment | None = None) -> QuerySet[Cycle]:
    """The month's hand-overs; with a segment, those made in it (under one of its agreements, stored on the
    cycle at hand-off, as the trend counts them: a lead that moved segment since stays where it was handed over)."""
    start, end = month_bounds(month)
    cycles = Cycle.objects.filter(handed_over_at__gte=start, handed_over_at__lt=end)
    return cycles.filter(segment.owns("agreement__segment")) if segment is not None else cycles


def _leads_of(segment: Segment | None) -> QuerySet[Lead]:
    return Lead.objects.filter(segment.owns()) if segment is not None else Lead.objects.all()


# --- the month's facts, in one pass ---------------------------------------------------------------------

# Each grouping the review needs, with the value GROUPING(score, source, campaign, owner_id, agreement_id) takes
# for it in PostgreSQL (a bit set for each column grouped away).
_GROUPINGS = {
    "score": 0b01111,
    "source": 0b10111,
    "campaign": 0b11011,
    "owner_id": 0b11101,
    "agreement_id": 0b11110,
}


@dataclass(frozen=True)
class FactCounts:
    """Hand-overs counted per value of `Cycle.facts` (parallel arrays), for one key of a grouping."""

    facts: np.ndarray
    n: np.ndarray

    def count(self, bits: int = 0, *, unset: int = 0) -> int:
        """How many have every bit of `bits` set (any of them, for the outcome bits) and none of `unset`."""
        chosen = np.ones(len(self.facts), dtype=bool)
        if bits:
            chosen &= (self.facts & bits) != 0
        if unset:
            chosen &= (self.facts & unset) == 0
        return int(self.n[chosen].sum())


@dataclass(frozen=True)
class MonthFacts:
    """The month's hand-overs counted by their precomputed facts, by score, source, campaign and owner (one
    `FactCounts` per key), and by agreement version (count, first and last hand-over): what the funnel, both
    sides of the SLA, the score bands and the AUC are computed from."""

    by: dict[str, dict[Any, FactCounts]]
    agreements: list[tuple[int | None, int, Any, Any]]

    def total(self) -> FactCounts:
        groups = list(self.by["score"].values())
        if not groups:
            return FactCounts(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        return FactCounts(np.concatenate([g.facts for g in groups]), np.concatenate([g.n for g in groups]))


def _when(value: Any) -> Any:
    """A first/last hand-over time as the ORM would give it (SQLite hands raw text to a raw cursor)."""
    if isinstance(value, str):
        value = parse_datetime(value)
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
    return value


def month_facts(month_cycles: QuerySet[Cycle]) -> MonthFacts:
    """One scan of the month's hand-overs (an index-only scan on PostgreSQL, by `feedback_cycle_month_facts`),
    grouped five ways at once (GROUPING SETS; elsewhere the five groupings one after the other)."""
    # no ORDER BY inside (Cycle's default order would make PostgreSQL walk the (lead, number) index)
    inner, params = (
        month_cycles.order_by()
        .values("score", "source", "campaign", "owner_id", "agreement_id", "facts", "handed_over_at")
        .query.sql_with_params()
    )
    columns = "c.score, c.source, c.campaign, c.owner_id, c.agreement_id"
    measures = "COUNT(*), MIN(c.handed_over_at), MAX(c.handed_over_at)"
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT GROUPING({columns}), {columns}, c.facts, {measures} FROM ({inner}) AS c GROUP BY GROUPING SETS "
            "((c.score, c.facts), (c.source, c.facts), (c.campaign, c.facts), (c.owner_id, c.facts), (c.agreement_id))"
        )
    else:
        parts = []
        for name, grouping in _GROUPINGS.items():
            keys = ", ".join(f"c.{column}" if column == name else "NULL" for column in _GROUPINGS)
            facts = "NULL" if name == "agreement_id" else "c.facts"
            group = f"c.{name}" if name == "agreement_id" else f"c.{name}, c.facts"
            parts.append(
                f"SELECT {grouping}, {keys}, {facts}, {measures} FROM ({inner}) AS c GROUP BY {group}"
            )
        sql, params = " UNION ALL ".join(parts), tuple(params) * len(parts)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    names = {grouping: name for name, grouping in _GROUPINGS.items()}
    gathered: dict[str, dict[Any, tuple[list[int], list[int]]]] = {name: {} for name in _GROUPINGS}
    agreements = []
    for grouping, *keys, facts, n, first, last in rows:
        name = names[grouping]
        key = keys[list(_GROUPINGS).index(name)]
        if name == "agreement_id":
            agreements.append((key, n, _when(first), _when(last)))
            continue
        pair = gathered[name].setdefault(key, ([], []))
        pair[0].append(facts)
        pair[1].append(n)
    by = {
        name: {
            key: FactCounts(np.array(f, dtype=np.int64), np.array(n, dtype=np.int64))
            for key, (f, n) in groups.items()
        }
        for name, groups in gathered.items()
        if name != "agreement_id"
    }
    return MonthFacts(by=by, agreements=agreements)


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


def _funnel_counts(total: FactCounts) -> dict[str, int]:
    return {
        "mqls": total.count(),
        "accepted": total.count(Facts.ACCEPTED),
        "sqls": total.count(Facts.SQL),
        "won": total.count(Facts.WON),
        "rejected": total.count(Facts.REJECTED),
        "lost": total.count(Facts.LOST),
        "disqualified": total.count(Facts.DISQUALIFIED),
        "immature": total.count(unset=Facts.CLOSED),
    }


def _sla_counts(counts: FactCounts) -> dict[str, int]:
    return {
        "claim_total": counts.count(Facts.CLAIM_DUE),
        "claim_ok": counts.count(Facts.CLAIM_OK),
        "contact_total": counts.count(Facts.CONTACT_DUE),
        "contact_ok": counts.count(Facts.CONTACT_OK),
        "decision_total": counts.count(Facts.DECISION_DUE),
        "decision_ok": counts.count(Facts.DECISION_OK),
        "outcome_total": counts.count(Facts.OUTCOME_DUE),
        "outcome_ok": counts.count(Facts.OUTCOME_OK),
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


def new_leads(month: date, segment: Segment | None = None) -> int:
    start, end = month_bounds(month)
    return _leads_of(segment).filter(created_at__gte=start, created_at__lt=end).count()


def new_leads_this_and_last_month(month: date, segment: Segment | None = None) -> tuple[int, int]:
    """Leads created in the month and in the month before (of the segment, when given: the leads in it now), on
    one scan of the created-at index."""
    start, end = month_bounds(month)
    before, _ = month_bounds(previous_month(month))
    counts = (
        _leads_of(segment)
        .filter(created_at__gte=before, created_at__lt=end)
        .aggregate(
            now=Count("pk", filter=Q(created_at__gte=start)),
            before=Count("pk", filter=Q(created_at__lt=start)),
        )
    )
    return counts["now"], counts["before"]


def funnel(month: date, segment: Segment | None = None) -> dict[str, Any]:
    return _funnel(cohort(month, segment).aggregate(**_FUNNEL_COUNTS), new_leads(month, segment))


# --- marketing's side ------------------------------------------------------------------------------------


def agreement_in_force(month: date, segment: Segment | None = None) -> AgreementVersion | None:
    """The segment's version in force at the end of the month (else the one in force now), for the commitments.
    With no segment: the default segment's."""
    return _in_force_at_month_end(month, segment) or (
        AgreementVersion.objects.active_for(segment)
        if segment is not None
        else AgreementVersion.objects.active()
    )


def _in_force_at_month_end(month: date, segment: Segment | None = None) -> AgreementVersion | None:
    _, end = month_bounds(month)
    own = segment.owns() if segment is not None else Q(segment__isnull=True) | Q(segment__is_default=True)
    return (
        AgreementVersion.objects.filter(own, activated_at__lt=end)
        .filter(Q(superseded_at__isnull=True) | Q(superseded_at__gte=end))
        .order_by("-activated_at")
        .first()
    )


def handover_agreements(facts: MonthFacts) -> list[dict[str, Any]]:
    """Which agreement version each of the month's hand-overs was made under (stored on the cycle at hand-over),
    so a past month never claims the version activated today."""
    ids = [agreement_id for agreement_id, *_ in facts.agreements if agreement_id is not None]
    numbers = dict(AgreementVersion.objects.filter(pk__in=ids).values_list("pk", "number")) if ids else {}
    rows = [
        {"number": numbers.get(agreement_id), "handovers": n, "first": first, "last": last}
        for agreement_id, n, first, last in facts.agreements
    ]
    return sorted(rows, key=lambda row: (row["number"] is not None, row["number"] or 0))


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


def _by(facts: MonthFacts, field: str) -> list[dict[str, Any]]:
    rows = []
    for name, counts in facts.by[field].items():
        mqls, accepted = counts.count(), counts.count(Facts.ACCEPTED)
        won, rejected = counts.count(Facts.WON), counts.count(Facts.REJECTED)
        rows.append((name or "", mqls, accepted, won, rejected))
    rows.sort(key=lambda row: (-row[1], row[0]))
    return [
        {
            "name": name or str(_("(none)")),
            "mqls": mqls,
            "accepted": accepted,
            "won": won,
            "rejected": rejected,
            "accept_rate": rate(accepted, mqls),
            "win_rate": rate(won, mqls),
        }
        for name, mqls, accepted, won, rejected in rows
    ]


def marketing_side(
    facts: MonthFacts, version: AgreementVersion | None, totals: dict[str, Any]
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
        "by_source": _by(facts, "source"),
        "by_campaign": _by(facts, "campaign"),
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
        sql, params = contacted.order_by().values("owner_id", "first_contact_minutes").query.sql_with_params()
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
                if n and (overall or owner is not None)  # an empty month still has a (NULL) grand total
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


def sales_side(
    month: date,
    month_cycles: QuerySet[Cycle],
    facts: MonthFacts,
    totals: dict[str, Any],
    segment: Segment | None = None,
) -> dict[str, Any]:
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
        .filter(segment.owns("lead__segment") if segment is not None else Q())
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
    owned = {owner: counts for owner, counts in facts.by["owner_id"].items() if owner is not None}
    people = (
        get_user_model().objects.filter(pk__in=owned).values_list("pk", "username", "first_name", "last_name")
    )
    reps = []
    for owner_id, username, first_name, last_name in sorted(people, key=lambda p: (p[2], p[1])):
        counts = owned[owner_id]
        median, p90, _n = minutes.get(owner_id, (None, None, 0))
        reps.append(
            {
                **_sla_rates(_sla_counts(counts)),
                "rep": f"{first_name} {last_name}".strip() or username,
                "username": username,
                "handled": counts.count(),
                "won": counts.count(Facts.WON),
                "median_first_contact_minutes": median,
                "p90_first_contact_minutes": p90,
                "breaches": by_owner.get(owner_id, 0),
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


def score_histogram(facts: MonthFacts) -> ScoreHistogram:
    by_score = sorted(facts.by["score"].items())
    columns = [
        [score for score, _ in by_score],
        *(
            [counts.count(bits) for _, counts in by_score]
            for bits in (0, Facts.ACCEPTED, Facts.SQL, Facts.WON, Facts.CLOSED,
                         Facts.REJECTED | Facts.LOST | Facts.DISQUALIFIED)
        ),
    ]  # fmt: skip
    return ScoreHistogram(*(np.array(column, dtype=np.int64) for column in columns))


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
        "reason": _label(cycle["rejection_reason__label"] or cycle["outcome_reason__label"]),
        "source": cycle["source"],
    }


def _label(label: str | None) -> str:
    """A reason's label in the reader's language (a default reason's English label is in the catalogue)."""
    return gettext(label) if label else ""


_ROW_FIELDS = (
    "lead_id", "lead__first_name", "lead__last_name", "lead__email", "lead__company", "score", "tier", "outcome",
    "rejection_reason__label", "outcome_reason__label", "source",
)  # fmt: skip


def discussion_lists(
    month: date, queryset: QuerySet[Cycle], *, threshold: int | None, segment: Segment | None = None
) -> dict[str, Any]:
    """The two lists that start the discussion: high score but rejected or lost; low score (or never MQL) but won."""
    high = queryset.filter(outcome__in=[Cycle.Outcome.REJECTED, Cycle.Outcome.LOST]).order_by("-score", "pk")
    low = queryset.filter(outcome=Cycle.Outcome.WON).order_by("score", "pk")
    if threshold is not None:
        high = high.filter(score__gte=threshold)
        low = low.filter(score__lt=threshold)
    start, end = month_bounds(month)
    never = (
        _leads_of(segment)
        .filter(created_at__gte=start, created_at__lt=end, cycles__isnull=True)
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
            {
                "reason": gettext(row[label]) if row[label] else str(_("(none)")),
                "source": row["source"] or str(_("(none)")),
                "n": row["n"],
            }
            for row in rows
        ]

    rejected = queryset.filter(outcome=Cycle.Outcome.REJECTED, rules__isnull=False)
    # a cycle fires a rule id once (a constraint), so counting per (rule id, name) needs no DISTINCT; only when
    # two rule ids share a name could one cycle count twice under it, and then the exact (slower) count is taken
    per_rule = list(
        rejected.values(rule=F("rules__rule_id"), name=F("rules__name"), label=F("rejection_reason__label"))
        .annotate(n=Count("id"))
        .order_by()
    )
    ids_by_name: dict[str, set[str]] = {}
    for row in per_rule:
        ids_by_name.setdefault(row["name"], set()).add(row["rule"])
    if any(len(ids) > 1 for ids in ids_by_name.values()):
        by_rule: Any = (
            rejected.values(name=F("rules__name"), label=F("rejection_reason__label"))
            .annotate(n=Count("id", distinct=True))
            .order_by("name", "-n")
        )
    else:
        summed: dict[tuple[str, str | None], int] = {}
        for row in per_rule:
            summed[row["name"], row["label"]] = summed.get((row["name"], row["label"]), 0) + row["n"]
        by_rule = [
            {"name": name, "label": label, "n": n}
            for (name, label), n in sorted(summed.items(), key=lambda item: (item[0][0], -item[1]))
        ]
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
            (gettext(row["label"]) if row["label"] else str(_("(none)")), row["n"])
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


def month_totals(facts: MonthFacts, month_cycles: QuerySet[Cycle], complete: Q) -> dict[str, Any]:
    """The funnel counts and both SLA clocks' counts from the month's facts, and the hand-overs complete with
    marketing's required fields (a query only when the agreement names some)."""
    total = facts.total()
    totals: dict[str, Any] = {**_funnel_counts(total), **_sla_counts(total)}
    totals["complete"] = month_cycles.filter(complete).count() if complete else totals["mqls"]
    return totals


def review_for(month: date, segment: Segment | None = None) -> dict[str, Any]:
    """Every figure of the month's review, with last month's funnel beside it, as JSON-ready data (read it typed
    with `feedback.figures.ReviewFigures.from_dict`). A bounded number of queries whatever the month's size.
    With a segment: its hand-overs, leads and breaches only, against its own agreement in force."""
    month = month_start(month)
    version = agreement_in_force(month, segment)
    in_force_at_end = _in_force_at_month_end(month, segment)
    threshold = Agreement.of(version).threshold if version else None
    month_cycles = cohort(month, segment)
    _required, complete = required_fields(version)
    facts = month_facts(month_cycles)
    totals = month_totals(facts, month_cycles, complete)
    histogram = score_histogram(facts)
    leads_now, leads_before = new_leads_this_and_last_month(month, segment)
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
        "handover_agreements": handover_agreements(facts),
        "funnel": _funnel(totals, leads_now),
        "previous_funnel": _funnel(
            cohort(previous_month(month), segment).aggregate(**_FUNNEL_COUNTS), leads_before
        ),
        "marketing": marketing_side(facts, version, totals),
        "sales": sales_side(month, month_cycles, facts, totals, segment),
        "score_bands": score_bands(histogram),
        "auc": histogram_auc(histogram),
        "rule_lifts": rule_lifts(month_cycles, totals),
        "lists": discussion_lists(month, month_cycles, threshold=threshold, segment=segment),
        "reasons": reasons(month_cycles),
    }
    data["suggestions"] = [
        asdict(s) for s in suggestions_for(month=month, data=data, version=version, segment=segment)
    ]
    return data


def months_with_data(limit: int = 24) -> list[MonthChoice]:
    dates = Cycle.objects.dates("handed_over_at", "month", order="DESC")[:limit]
    return [MonthChoice(month=d.strftime("%Y-%m"), label=date_format(d, "YEAR_MONTH_FORMAT")) for d in dates]
