"""The trend across months (the PDCA the review exists for): did last quarter's agreement changes help?

Month by month, over the hand-over cohorts (see `feedback.reports.COHORT_RULE`): MQLs delivered against the
commitment of the agreement in force, the funnel rates, SLA compliance on both sides, the median time to first
contact, AUC, and which version was in force. Over the whole window: conversion by score band and by response
time band. And the capacity plan: MQLs expected next week from the recent weeks against what sales can take.

A handful of queries, whatever the window: one grouped aggregate, one list of (month, score, outcome, minutes) for
the medians and AUC, one for breaches, one for the versions. Never a query per month.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy

from alignment.roles import Role
from feedback.models import Cycle
from feedback.months import month_bounds, month_start, previous_month, rate
from feedback.reports import BANDS, CLOSED_LOST, auc
from leads.models import RepProfile, SlaBreach
from sla.agreement import Agreement
from sla.models import AgreementVersion, Segment

RESPONSE_BANDS: tuple[tuple[float, str], ...] = (
    (5, gettext_lazy("within 5 min")),
    (60, gettext_lazy("within 1 h")),
    (24 * 60, gettext_lazy("within 24 h")),
    (float("inf"), gettext_lazy("later")),
)
WEEKS_FOR_PLAN = 8  # recent weeks the expected MQLs per week are fitted on
WEEKS_PER_MONTH = 52 / 12


@dataclass(frozen=True)
class MonthFigures:
    month: date
    version: int | None  # number of the agreement version in force at the month's end
    version_changed: bool  # a different version than the month before
    committed: int | None  # marketing's MQLs a month in that version
    delivered: int
    accepted: int
    sqls: int
    won: int
    sal_rate: float | None  # MQL → SAL (accepted)
    sql_rate: float | None  # SAL → SQL
    won_rate: float | None  # SQL → won
    clocks_due: int  # sales' clocks (claim, contact, decision, outcome) that ran in the cohort
    clocks_met: int
    breaches: int  # breaches detected in the month
    median_first_contact_minutes: float | None
    auc: float | None
    band_win_rates: tuple[
        float | None, ...
    ]  # won / hand-overs in each score band (`reports.BANDS`) this month

    @property
    def delivered_share(self) -> float | None:
        """Marketing's side of the SLA: delivered against committed."""
        return rate(self.delivered, self.committed)

    @property
    def sales_compliance(self) -> float | None:
        return rate(self.clocks_met, self.clocks_due)


@dataclass(frozen=True)
class BandFigures:
    band: str
    n: int
    won: int
    win_rate: float | None
    accept_rate: float | None


@dataclass(frozen=True)
class Trend:
    months: tuple[MonthFigures, ...]
    score_bands: tuple[BandFigures, ...]
    response_bands: tuple[BandFigures, ...]


@dataclass(frozen=True)
class CapacityPlan:
    weekly: tuple[int, ...]  # MQLs handed over in each of the recent weeks, oldest first
    expected_per_week: float  # the straight-line fit of `weekly`, one week on (never below zero)
    agreed_per_week: float | None  # the agreement's MQLs a month, per week
    reps: int  # active reps not away
    team_capacity: int  # open leads those reps can hold at once (their profiles)
    open_leads: int  # hand-overs those reps hold now

    @property
    def free_slots(self) -> int:
        return max(self.team_capacity - self.open_leads, 0)

    @property
    def over_agreed(self) -> bool:
        return self.agreed_per_week is not None and self.expected_per_week > self.agreed_per_week

    @property
    def over_team(self) -> bool:
        return self.expected_per_week > self.free_slots


def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def month_range(last: date, count: int) -> list[date]:
    months = [month_start(last)]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return months[::-1]


def versions_in_force(
    months: list[date], segment: Segment | None = None
) -> dict[date, AgreementVersion | None]:
    """The version in force at each month's end (as the review's commitments), from one query."""
    return {month: live[-1] if live else None for month, live in _all_in_force(months, segment).items()}


def _all_in_force(months: list[date], segment: Segment | None) -> dict[date, list[AgreementVersion]]:
    """Every version in force at each month's end: one per segment (only `segment`'s when given)."""
    versions = AgreementVersion.objects.filter(activated_at__isnull=False).order_by("activated_at")
    versions = list(versions.filter(segment.owns()) if segment is not None else versions)
    found: dict[date, list[AgreementVersion]] = {}
    for month in months:
        _, end = month_bounds(month)
        found[month] = [
            v
            for v in versions
            if v.activated_at < end and (v.superseded_at is None or v.superseded_at >= end)
        ]
    return found


def _committed(versions: list[AgreementVersion]) -> int | None:
    """What marketing committed that month: the sum over the segments' versions in force (one without none)."""
    commitments = [Agreement.of(v).terms.marketing.mql_per_month for v in versions]
    known = [c for c in commitments if c is not None]
    return sum(known) if known else None


_COUNTS = {
    "delivered": Count("id"),
    "accepted": Count("id", filter=Q(accepted_at__isnull=False)),
    "sqls": Count("id", filter=Q(sql_at__isnull=False)),
    "won": Count("id", filter=Q(outcome=Cycle.Outcome.WON)),
    "due": (
        Count("id", filter=Q(claim_due_at__isnull=False))
        + Count("id", filter=Q(first_contact_due_at__isnull=False))
        + Count("id", filter=Q(accept_due_at__isnull=False))
        + Count("id", filter=Q(outcome_due_at__isnull=False) & ~Q(outcome=Cycle.Outcome.REJECTED))
    ),
    "met": (
        Count("id", filter=Q(claimed_at__lte=F("claim_due_at")))
        + Count("id", filter=Q(first_contact_at__lte=F("first_contact_due_at")))
        + Count("id", filter=Q(accepted_at__lte=F("accept_due_at")) | Q(rejected_at__lte=F("accept_due_at")))
        + Count("id", filter=Q(closed_at__lte=F("outcome_due_at")) & ~Q(outcome=Cycle.Outcome.REJECTED))
    ),
}


def _band_rows(
    labels: list[str], index: np.ndarray, won: np.ndarray, accepted: np.ndarray
) -> tuple[BandFigures, ...]:
    rows = []
    for position, label in enumerate(labels):
        mask = index == position
        n, w, a = int(mask.sum()), int(won[mask].sum()), int(accepted[mask].sum())
        rows.append(BandFigures(band=label, n=n, won=w, win_rate=rate(w, n), accept_rate=rate(a, n)))
    return tuple(rows)


def trend_for(last: date, count: int, segment: Segment | None = None) -> Trend:
    """`count` months ending with the month of `last`, oldest first: one segment's hand-overs (those made under
    its agreements) or, with no segment, all of them."""
    months = month_range(last, count)
    start, _ = month_bounds(months[0])
    _, end = month_bounds(months[-1])
    zone = _zone()
    cycles = Cycle.objects.filter(handed_over_at__gte=start, handed_over_at__lt=end)
    cycles = (cycles.filter(segment.owns("agreement__segment")) if segment else cycles).annotate(
        m=TruncMonth("handed_over_at", tzinfo=zone)
    )
    counts = {row["m"].date(): row for row in cycles.values("m").annotate(**_COUNTS).order_by("m")}
    rows = list(
        cycles.values_list("m", "score", "outcome", "first_contact_minutes", "accepted_at").order_by("m")
    )
    month_of = np.array([row[0].date() for row in rows], dtype=object)
    scores = np.array([row[1] for row in rows], dtype=float)
    outcomes = np.array([row[2] for row in rows], dtype=object)
    minutes = np.array([np.nan if row[3] is None else row[3] for row in rows], dtype=float)
    accepted = np.array([row[4] is not None for row in rows], dtype=bool)
    won = outcomes == Cycle.Outcome.WON
    closed = won | np.isin(outcomes, list(CLOSED_LOST))
    breaches = {
        row["m"].date(): row["n"]
        for row in SlaBreach.objects.filter(detected_at__gte=start, detected_at__lt=end)
        .filter(segment.owns("lead__segment") if segment else Q())
        .annotate(m=TruncMonth("detected_at", tzinfo=zone))
        .values("m")
        .annotate(n=Count("id"))
        .order_by("m")
    }
    score_index = np.full(len(rows), -1)
    for position, (low, high, _) in enumerate(BANDS):
        inside = np.ones(len(rows), dtype=bool)
        if low is not None:
            inside &= scores >= low
        if high is not None:
            inside &= scores < high
        score_index[inside] = position
    in_force = _all_in_force(months, segment)
    figures = []
    previous_number: int | None = None
    for index, month in enumerate(months):
        row = counts.get(month, {"delivered": 0, "accepted": 0, "sqls": 0, "won": 0, "due": 0, "met": 0})
        live = in_force[month]
        version = live[-1] if live else None
        number = version.number if version else None
        mask = month_of == month
        contacted = minutes[mask & ~np.isnan(minutes)]
        judged = mask & closed
        figures.append(
            MonthFigures(
                month=month,
                version=number,
                version_changed=index > 0 and number != previous_number,
                committed=_committed(live),
                delivered=row["delivered"],
                accepted=row["accepted"],
                sqls=row["sqls"],
                won=row["won"],
                sal_rate=rate(row["accepted"], row["delivered"]),
                sql_rate=rate(row["sqls"], row["accepted"]),
                won_rate=rate(row["won"], row["sqls"]),
                clocks_due=row["due"],
                clocks_met=row["met"],
                breaches=breaches.get(month, 0),
                median_first_contact_minutes=float(np.median(contacted)) if contacted.size else None,
                auc=auc(scores[judged], won[judged])["auc"],
                band_win_rates=tuple(
                    rate(int(won[mask & (score_index == b)].sum()), int((mask & (score_index == b)).sum()))
                    for b in range(len(BANDS))
                ),
            )
        )
        previous_number = number
    response_index = np.full(len(rows), -1)
    for position, (limit, _) in reversed(list(enumerate(RESPONSE_BANDS))):
        response_index[minutes <= limit] = position  # NaN (never contacted) compares False: stays out
    return Trend(
        months=tuple(figures),
        score_bands=_band_rows([label for _, _, label in BANDS], score_index, won, accepted),
        response_bands=_band_rows([label for _, label in RESPONSE_BANDS], response_index, won, accepted),
    )


def capacity_plan(
    *, now: datetime, version: AgreementVersion | None, segment: Segment | None = None
) -> CapacityPlan:
    """Expected MQLs next week (a straight line through the last weeks) against what sales agreed and can hold;
    for a segment, its own hand-overs against its own team's reps (every rep when its team has none)."""
    since = now - timedelta(weeks=WEEKS_FOR_PLAN)
    recent = Cycle.objects.filter(handed_over_at__gte=since, handed_over_at__lt=now)
    stamps = (recent.filter(segment.owns("agreement__segment")) if segment else recent).values_list(
        "handed_over_at", flat=True
    )
    ages = np.array([(now - stamp).total_seconds() / 604800 for stamp in stamps], dtype=float)
    week = (WEEKS_FOR_PLAN - 1 - np.floor(ages)).astype(int)  # 0 = oldest week
    weekly = np.bincount(week[(week >= 0) & (week < WEEKS_FOR_PLAN)], minlength=WEEKS_FOR_PLAN)
    slope, intercept = np.polyfit(np.arange(WEEKS_FOR_PLAN), weekly.astype(float), 1)
    expected = max(float(slope * WEEKS_FOR_PLAN + intercept), 0.0)
    committed = Agreement.of(version).terms.marketing.mql_per_month if version else None
    User = get_user_model()
    everyone = User.objects.filter(is_active=True, groups__name=Role.REP.value).exclude(
        rep_profile__is_away=True
    )
    team = everyone.filter(groups=segment.team_id) if segment is not None and segment.team_id else everyone
    reps = list(
        (team if segment is not None and team.exists() else everyone).values_list(
            "pk", "rep_profile__capacity"
        )
    )
    default_capacity = RepProfile._meta.get_field("capacity").default
    open_leads = Cycle.objects.open().filter(owner__in=[pk for pk, _ in reps]).count() if reps else 0
    return CapacityPlan(
        weekly=tuple(int(n) for n in weekly),
        expected_per_week=round(expected, 1),
        agreed_per_week=None if committed is None else round(committed / WEEKS_PER_MONTH, 1),
        reps=len(reps),
        team_capacity=sum(default_capacity if cap is None else cap for _, cap in reps),
        open_leads=open_leads,
    )
