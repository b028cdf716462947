"""The monthly review's figures (feedback/reports.py) checked against an independent pandas computation over
the same rows, exported with .values() (never through the report code): the funnel and last month's, both sides'
SLA, score bands, AUC, rule lifts, the two discussion lists and the reasons. Plus the empty month, a month of
open hand-overs only, and the edges of a month in London time (settings.TIME_ZONE)."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from alignment.roles import Role
from feedback.models import Cycle, CycleRule, Reason
from feedback.reasons import ensure_default_reasons
from feedback.reports import review_for
from feedback.tests.factories import cycle_create, keyed
from leads.models import Lead, SlaBreach
from sla import services as sla_services
from sla.models import Side

pytestmark = pytest.mark.django_db

MONTH = date(2026, 4, 1)
PREVIOUS = date(2026, 3, 1)
# In London, April 2026 (summer time) runs from 2026-03-31 23:00 UTC to 2026-04-30 23:00 UTC.
APRIL_START = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
APRIL_END = datetime(2026, 4, 30, 23, 0, tzinfo=UTC)
EDGES = (
    APRIL_START - timedelta(microseconds=1),  # March in London
    APRIL_START,  # April
    datetime(2026, 3, 31, 23, 30, tzinfo=UTC),  # April in London, still March in UTC
    APRIL_END - timedelta(microseconds=1),  # April
    APRIL_END,  # May
    datetime(2026, 4, 30, 23, 30, tzinfo=UTC),  # May in London, still April in UTC
    datetime(2026, 3, 1, 0, 0, tzinfo=UTC),  # March (winter time: London = UTC)
    datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC),  # February
)
SCORES_ON_EDGES = [-15, 0, 24, 25, 26, 49, 50, 51, 74, 75, 76, 99, 100, 101, 140]
SOURCES = ["Google", "Referral", "Webinar", "Partner", ""]
CAMPAIGNS = ["Spring", "Brand", "Retarget", ""]
# (rule id, kind, name, chance it fired on a won hand-over, chance otherwise)
RULES = (
    ("f1", "fit", "Decision maker", 0.75, 0.35),
    ("f2", "fit", "Target industry", 0.5, 0.5),
    ("f9", "fit", "Has a company", 1.0, 1.0),  # fired on every hand-over: no "not fired" side
    ("e1", "engagement", "Pricing page view", 0.6, 0.3),
    ("e5", "engagement", "Email open", 0.85, 0.8),
    ("e7", "engagement", "Careers page", 0.0, 0.15),  # never on a won lead: lift 0
    ("t1", "trigger", "Demo request", 0.1, 0.25),
)
OUTCOMES = ["", "", "rejected", "rejected", "won", "won", "lost", "disqualified"]


# --- building a month of varied data quickly ---------------------------------------------------------------


@pytest.fixture
def reps(make_user) -> list[Any]:
    """Three reps: one with a full name, one with a first name only, one known by username alone."""
    return [
        make_user(Role.REP, username="alice", first_name="Alice", last_name="Archer"),
        make_user(Role.REP, username="bob", first_name="Bob"),
        make_user(Role.REP, username="zed", first_name=""),
    ]


def _lead(rng: random.Random, index: int, created_at: datetime, **fields: Any) -> Lead:
    return Lead(
        email="" if rng.random() < 0.1 else f"person{index}@acme{index % 7}.example",
        first_name="" if rng.random() < 0.15 else rng.choice(["Ann", "Ben", "Cleo", "Dev"]),
        last_name="" if rng.random() < 0.3 else rng.choice(["Ng", "Okafor", "Price"]),
        company="" if rng.random() < 0.15 else rng.choice(["Acme", "Globex", "Initech"]),
        job_title="" if rng.random() < 0.15 else rng.choice(["CTO", "Analyst", "Head of Ops"]),
        source=rng.choice(SOURCES),
        score=rng.choice(SCORES_ON_EDGES),
        created_at=created_at,
        updated_at=created_at,
        **fields,
    )


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high), microseconds=rng.randrange(1_000_000))


def _cycle(rng: random.Random, lead: Lead, at: datetime, reps: list[Any], reasons: dict[str, list[Reason]],
           *, number: int = 1, outcomes: list[str] = OUTCOMES) -> Cycle:  # fmt: skip
    score = rng.choice(SCORES_ON_EDGES) if rng.random() < 0.5 else rng.randint(-20, 140)
    cycle = Cycle(
        lead=lead, number=number, handed_over_at=at, tier=rng.choice(["hot", "warm"]), score=score,
        fit_score=score, engagement_score=0, source=rng.choice(SOURCES), campaign=rng.choice(CAMPAIGNS),
        owner=None if rng.random() < 0.15 else rng.choice(reps),
    )  # fmt: skip
    due = {
        "claim_due_at": at + timedelta(hours=4),
        "first_contact_due_at": at + timedelta(hours=16),
        "accept_due_at": at + timedelta(hours=32),
        "outcome_due_at": at + timedelta(days=30),
    }
    for name, deadline in due.items():
        setattr(cycle, name, None if rng.random() < 0.1 else deadline)
    if cycle.owner is not None:
        # sometimes exactly on the deadline: that is in time
        cycle.claimed_at = due["claim_due_at"] if rng.random() < 0.15 else at + _minutes(rng, 0, 8 * 60)
    if rng.random() < 0.8:
        cycle.first_contact_at = (
            due["first_contact_due_at"] if rng.random() < 0.1 else at + _minutes(rng, 1, 30 * 60)
        )
        cycle.first_contact_minutes = round(rng.lognormvariate(5, 1.2), 3)
    outcome = rng.choice(outcomes)
    decided = due["accept_due_at"] if rng.random() < 0.1 else at + _minutes(rng, 30, 60 * 60)
    closed = decided + _minutes(rng, 60, 60 * 24 * 45)
    if outcome == "rejected":
        cycle.rejected_at = cycle.closed_at = decided
        cycle.rejection_reason = rng.choice(reasons["rejection"])
    elif outcome:
        cycle.accepted_at = decided
        if outcome != "disqualified" or rng.random() < 0.5:
            cycle.sql_at = decided + _minutes(rng, 10, 60 * 24 * 5)
        cycle.closed_at = max(closed, cycle.sql_at or closed)
        if outcome == "lost":
            cycle.outcome_reason = rng.choice(reasons["loss"])
        elif outcome == "disqualified":
            cycle.outcome_reason = rng.choice(reasons["disqualification"])
    elif rng.random() < 0.5:
        cycle.accepted_at = decided
        if rng.random() < 0.5:
            cycle.sql_at = decided + _minutes(rng, 10, 600)
    cycle.outcome = outcome
    return cycle


def _rules_for(rng: random.Random, cycle: Cycle) -> list[CycleRule]:
    won = cycle.outcome == Cycle.Outcome.WON
    return [
        CycleRule(cycle=cycle, rule_id=rule_id, kind=kind, name=name, points=10)
        for rule_id, kind, name, if_won, otherwise in RULES
        if rng.random() < (if_won if won else otherwise)
    ]


def build(seed: int, reps: list[Any], *, count: int = 420, start: datetime | None = None,
          end: datetime | None = None, instants: tuple[datetime, ...] = EDGES,
          outcomes: list[str] = OUTCOMES) -> None:  # fmt: skip
    """Leads and hand-overs from late February to early May with controlled times, scores, deadlines, owners,
    outcomes, reasons and fired rules; second hand-overs of some rejected leads; leads never handed over (some
    converted); SLA breaches detected on both sides of the month's edges."""
    ensure_default_reasons()
    rng = random.Random(seed)
    reasons = {
        kind: list(Reason.objects.filter(kind=kind, needs_comment=False)) for kind in Reason.Kind.values
    }
    start = start or datetime(2026, 2, 27, tzinfo=UTC)
    end = end or datetime(2026, 5, 3, tzinfo=UTC)
    span = end - start
    times = [*instants, *(start + span * rng.random() for _ in range(count))]
    leads = [
        _lead(rng, index, at if index < len(instants) else at - _minutes(rng, 0, 60 * 24 * 6))
        for index, at in enumerate(times)
    ]
    never = [
        _lead(rng, len(times) + index, at, attributes=rng.choice([{"outcome_converted": 1}, {"outcome_converted": 0}, {}]))
        for index, at in enumerate([*instants, *(start + span * rng.random() for _ in range(count // 4))])
    ]  # fmt: skip
    Lead.objects.bulk_create([*leads, *never])
    cycles = [
        _cycle(rng, lead, at, reps, reasons, outcomes=outcomes) for lead, at in zip(leads, times, strict=True)
    ]
    again = [
        _cycle(rng, first.lead, first.closed_at + _minutes(rng, 60, 60 * 24 * 20), reps, reasons, number=2,
               outcomes=outcomes)
        for first in cycles
        if first.outcome == Cycle.Outcome.REJECTED and rng.random() < 0.3
    ]  # fmt: skip
    Cycle.objects.bulk_create(keyed([*cycles, *again]))
    CycleRule.objects.bulk_create([rule for cycle in [*cycles, *again] for rule in _rules_for(rng, cycle)])
    breaches = []
    for index, cycle in enumerate(rng.sample(cycles, min(60, len(cycles)))):
        deadline = cycle.handed_over_at + timedelta(hours=1)
        on_edge = instants and index < 2 * len(instants)
        detected = instants[index % len(instants)] if on_edge else deadline + _minutes(rng, 1, 600)
        breaches.append(SlaBreach(
            lead=cycle.lead, clock=rng.choice(["claim", "first_contact", "accept", "outcome"]), deadline=deadline,
            detected_at=detected, late_seconds=60, owner=cycle.owner,
        ))  # fmt: skip
    SlaBreach.objects.bulk_create(breaches)


# --- the same rows, exported with .values(), and the figures computed again with pandas --------------------

DATETIMES = ("handed_over_at", "claim_due_at", "first_contact_due_at", "accept_due_at", "outcome_due_at",
             "claimed_at", "first_contact_at", "accepted_at", "rejected_at", "sql_at", "closed_at")  # fmt: skip


@dataclass
class Frames:
    cycles: pd.DataFrame
    leads: pd.DataFrame
    rules: pd.DataFrame
    breaches: pd.DataFrame
    users: pd.DataFrame
    threshold: int | None
    committed: int | None
    required: list[str]


def _frame(rows: Any, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def frames(agreement: Any = None) -> Frames:
    reasons = dict(Reason.objects.values_list("id", "label"))
    cycle_columns = ["id", "lead_id", "number", "score", "tier", "source", "campaign", "owner_id", "outcome",
                     "rejection_reason_id", "outcome_reason_id", "first_contact_minutes", *DATETIMES]  # fmt: skip
    cycles = _frame(Cycle.objects.values(*cycle_columns), cycle_columns)
    for name in DATETIMES:
        cycles[name] = pd.to_datetime(cycles[name], utc=True)
    cycles["rejection_label"] = cycles["rejection_reason_id"].map(reasons)
    cycles["outcome_label"] = cycles["outcome_reason_id"].map(reasons)
    cycles["owner_id"] = cycles["owner_id"].astype("Int64")
    lead_columns = ["id", "email", "first_name", "last_name", "company", "job_title", "employees", "score",
                    "source", "attributes", "created_at"]  # fmt: skip
    leads = _frame(Lead.objects.values(*lead_columns), lead_columns)
    leads["created_at"] = pd.to_datetime(leads["created_at"], utc=True)
    leads["converted"] = leads["attributes"].map(lambda a: a.get("outcome_converted"))
    lead_side = leads.drop(columns=["attributes"]).add_prefix("lead_")
    cycles = cycles.merge(lead_side, on="lead_id", how="left")
    rule_columns = ["cycle_id", "rule_id", "kind", "name"]
    rules = _frame(CycleRule.objects.values(*rule_columns), rule_columns)
    breach_columns = ["id", "clock", "detected_at", "owner_id"]
    breaches = _frame(SlaBreach.objects.values(*breach_columns), breach_columns)
    breaches["detected_at"] = pd.to_datetime(breaches["detected_at"], utc=True)
    breaches["owner_id"] = breaches["owner_id"].astype("Int64")
    user_columns = ["id", "username", "first_name", "last_name"]
    users = _frame(get_user_model().objects.values(*user_columns), user_columns)
    content = agreement.content if agreement is not None else {}
    marketing = content.get("terms", {}).get("marketing", {})
    return Frames(
        cycles=cycles, leads=leads, rules=rules, breaches=breaches, users=users,
        threshold=content.get("mql", {}).get("threshold"), committed=marketing.get("mql_per_month"),
        required=list(marketing.get("required_fields", [])),
    )  # fmt: skip


def in_month(values: pd.Series, month: date) -> pd.Series:
    local = pd.to_datetime(values, utc=True).dt.tz_convert(settings.TIME_ZONE)
    return (local.dt.year == month.year) & (local.dt.month == month.month)


def ratio(part: Any, whole: Any) -> float | None:
    return None if whole is None or whole == 0 else float(part) / float(whole)


def cohort_of(f: Frames, month: date) -> pd.DataFrame:
    return f.cycles[in_month(f.cycles["handed_over_at"], month)]


def expected_funnel(f: Frames, month: date) -> dict[str, Any]:
    c = cohort_of(f, month)
    counts: dict[str, Any] = {
        "mqls": len(c),
        "accepted": int(c["accepted_at"].notna().sum()),
        "sqls": int(c["sql_at"].notna().sum()),
        **{name: int((c["outcome"] == name).sum()) for name in ("won", "rejected", "lost", "disqualified")},
        "immature": int(c["closed_at"].isna().sum()),
        "leads": int(in_month(f.leads["created_at"], month).sum()),
    }
    counts["steps"] = [
        {"step": "Lead → MQL", "rate": ratio(counts["mqls"], counts["leads"])},
        {"step": "MQL → accepted", "rate": ratio(counts["accepted"], counts["mqls"])},
        {"step": "Accepted → SQL", "rate": ratio(counts["sqls"], counts["accepted"])},
        {"step": "SQL → won", "rate": ratio(counts["won"], counts["sqls"])},
        {"step": "MQL → won", "rate": ratio(counts["won"], counts["mqls"])},
    ]
    return counts


def _table(c: pd.DataFrame, field: str) -> list[dict[str, Any]]:
    grouped = (
        c.assign(won=c["outcome"] == "won", rejected=c["outcome"] == "rejected")
        .groupby(field)
        .agg(mqls=("id", "size"), accepted=("accepted_at", "count"), won=("won", "sum"), rejected=("rejected", "sum"))
        .reset_index()
    )  # fmt: skip
    grouped = grouped.assign(minus=-grouped["mqls"]).sort_values(["minus", field])
    return [
        {
            "name": row[field] or "(none)",
            "mqls": row["mqls"],
            "accepted": row["accepted"],
            "won": row["won"],
            "rejected": row["rejected"],
            "accept_rate": ratio(row["accepted"], row["mqls"]),
            "win_rate": ratio(row["won"], row["mqls"]),
        }  # fmt: skip
        for row in grouped.to_dict("records")
    ]


def expected_marketing(f: Frames, month: date) -> dict[str, Any]:
    c = cohort_of(f, month)
    complete = pd.Series(True, index=c.index)
    for name in f.required:
        complete &= c[f"lead_{name}"].notna() & (c[f"lead_{name}"] != "")
    return {
        "committed": f.committed,
        "delivered": len(c),
        "delivered_share": ratio(len(c), f.committed),
        "required_fields": f.required,
        "complete": int(complete.sum()),
        "complete_share": ratio(int(complete.sum()), len(c)),
        "by_source": _table(c, "source"),
        "by_campaign": _table(c, "campaign"),
    }


def _sla(c: pd.DataFrame) -> dict[str, Any]:
    not_rejected = c["outcome"] != "rejected"
    counts = {
        "claim_total": c["claim_due_at"].notna().sum(),
        "claim_ok": (c["claimed_at"] <= c["claim_due_at"]).sum(),
        "contact_total": c["first_contact_due_at"].notna().sum(),
        "contact_ok": (c["first_contact_at"] <= c["first_contact_due_at"]).sum(),
        "decision_total": c["accept_due_at"].notna().sum(),
        "decision_ok": ((c["accepted_at"] <= c["accept_due_at"]) | (c["rejected_at"] <= c["accept_due_at"])).sum(),
        "outcome_total": (c["outcome_due_at"].notna() & not_rejected).sum(),
        "outcome_ok": ((c["closed_at"] <= c["outcome_due_at"]) & not_rejected).sum(),
    }  # fmt: skip
    counts = {key: int(value) for key, value in counts.items()}
    for name, ok, total in (("claim", "claim_ok", "claim_total"), ("contact", "contact_ok", "contact_total"),
                            ("decision", "decision_ok", "decision_total"), ("outcome", "outcome_ok", "outcome_total")):  # fmt: skip
        counts[f"{name}_rate"] = ratio(counts[ok], counts[total])
    return counts


def _quantiles(minutes: pd.Series) -> tuple[float | None, float | None]:
    minutes = minutes.dropna()
    if minutes.empty:
        return None, None
    return float(minutes.quantile(0.5)), float(minutes.quantile(0.9))  # linear interpolation, as numpy's


def expected_sales(f: Frames, month: date) -> dict[str, Any]:
    c = cohort_of(f, month)
    breaches = f.breaches[in_month(f.breaches["detected_at"], month)]
    overall = _sla(c)
    overall["median_first_contact_minutes"], overall["p90_first_contact_minutes"] = _quantiles(
        c["first_contact_minutes"]
    )
    overall["contacted"] = int(c["first_contact_minutes"].notna().sum())
    overall["breaches"] = len(breaches)
    overall["breaches_by_clock"] = breaches["clock"].value_counts().sort_index().to_dict()
    owned = c[c["owner_id"].notna()]
    per_owner_breaches = breaches["owner_id"].value_counts()
    users = f.users.set_index("id")
    reps = []
    for owner_id, own in owned.groupby("owner_id"):
        user = users.loc[owner_id]
        median, p90 = _quantiles(own["first_contact_minutes"])
        reps.append({
            **_sla(own),
            "rep": f"{user['first_name']} {user['last_name']}".strip() or user["username"],
            "username": user["username"], "first_name": user["first_name"],
            "handled": len(own), "won": int((own["outcome"] == "won").sum()),
            "median_first_contact_minutes": median, "p90_first_contact_minutes": p90,
            "breaches": int(per_owner_breaches.get(owner_id, 0)),
        })  # fmt: skip
    reps.sort(key=lambda rep: (rep["first_name"], rep["username"]))
    for rep in reps:
        del rep["first_name"]
    overall["reps"] = reps
    return overall


def label(low: int, high: int) -> str:
    """ "12–25", "25" for one score, negative scores with a true minus sign (U+2212)."""
    text = [str(value).replace("-", "\u2212") for value in (low, high)]
    return text[0] if low == high else f"{text[0]}–{text[1]}"


def expected_bands(c: pd.DataFrame) -> list[dict[str, Any]]:
    """Bands cut at the month's score quintiles (the lowest score reaching each fifth, numpy's inverted_cdf),
    right-closed, a repeated cut dropped; each labelled by the lowest and highest score in it."""
    if c.empty:
        return []
    scores = c["score"].astype(float)
    cuts = sorted({float(np.quantile(scores, q, method="inverted_cdf")) for q in (0.2, 0.4, 0.6, 0.8)})
    band = pd.cut(scores, [-np.inf, *cuts, np.inf], right=True)
    grouped = (
        c.assign(band=band, won=c["outcome"] == "won")
        .groupby("band", observed=True)
        .agg(n=("id", "size"), accepted=("accepted_at", "count"), sqls=("sql_at", "count"), won=("won", "sum"),
             closed=("closed_at", "count"), low=("score", "min"), high=("score", "max"))
    )  # fmt: skip
    return [
        {
            "band": label(int(row["low"]), int(row["high"])),
            "low": int(row["low"]),
            "high": int(row["high"]),
            "n": int(row["n"]),
            "accepted": int(row["accepted"]),
            "sqls": int(row["sqls"]),
            "won": int(row["won"]),
            "immature": int(row["n"] - row["closed"]),
            "accept_rate": ratio(row["accepted"], row["n"]),
            "sql_rate": ratio(row["sqls"], row["n"]),
            "win_rate": ratio(row["won"], row["n"]),
        }  # fmt: skip
        for _, row in grouped.iterrows()
        if row["n"]
    ]


def expected_auc(c: pd.DataFrame) -> dict[str, Any]:
    """Brute force: every won × not-won pair of closed hand-overs; a higher score for the won one counts 1,
    a tie 0.5."""
    closed = c[c["outcome"].isin(["won", "rejected", "lost", "disqualified"])]
    won = closed.loc[closed["outcome"] == "won", ["score"]]
    other = closed.loc[closed["outcome"] != "won", ["score"]]
    if won.empty or other.empty:
        return {"auc": None, "won": len(won), "not_won": len(other)}
    pairs = won.merge(other, how="cross", suffixes=("_won", "_other"))
    wins = (pairs["score_won"] > pairs["score_other"]) + 0.5 * (pairs["score_won"] == pairs["score_other"])
    return {"auc": float(wins.mean()), "won": len(won), "not_won": len(other)}


def expected_lifts(c: pd.DataFrame, rules: pd.DataFrame) -> list[dict[str, Any]]:
    total_n, total_won = len(c), int((c["outcome"] == "won").sum())
    total_accepted = int(c["accepted_at"].notna().sum())
    fired = rules.merge(c[["id", "outcome", "accepted_at"]], left_on="cycle_id", right_on="id")
    grouped = (
        fired.assign(won=fired["outcome"] == "won", accepted=fired["accepted_at"].notna())
        .groupby(["rule_id", "kind", "name"])
        .agg(n=("cycle_id", "nunique"), won=("won", "sum"), accepted=("accepted", "sum"))
        .reset_index()
        .sort_values(["kind", "name"])
    )
    lifts = []
    for row in grouped.to_dict("records"):
        without = total_n - row["n"]
        win_fired, win_not = ratio(row["won"], row["n"]), ratio(total_won - row["won"], without)
        acc_fired, acc_not = (
            ratio(row["accepted"], row["n"]),
            ratio(total_accepted - row["accepted"], without),
        )
        lifts.append({
            "rule_id": row["rule_id"], "kind": row["kind"], "name": row["name"], "fired": row["n"],
            "not_fired": without, "won_fired": row["won"], "won_not_fired": total_won - row["won"],
            "win_rate_fired": win_fired, "win_rate_not_fired": win_not,
            "win_lift": win_fired / win_not if win_not else None,
            "accept_rate_fired": acc_fired, "accept_rate_not_fired": acc_not,
            "accept_lift": acc_fired / acc_not if acc_not else None,
            "enough": bool(row["n"] >= 20 and without >= 20),
        })  # fmt: skip
    return lifts


def _names(frame: pd.DataFrame) -> pd.Series:
    name = (frame["lead_first_name"] + " " + frame["lead_last_name"]).str.strip()
    name = name.where(name != "", frame["lead_email"])
    return name.where(name != "", "Lead " + frame["lead_id"].astype(str))


def expected_lists(f: Frames, month: date) -> dict[str, Any]:
    c = cohort_of(f, month)
    high = c[c["outcome"].isin(["rejected", "lost"])]
    low = c[c["outcome"] == "won"]
    if f.threshold is not None:
        high, low = high[high["score"] >= f.threshold], low[low["score"] < f.threshold]
    high = high.sort_values(["score", "id"], ascending=[False, True]).head(15)
    low = low.sort_values(["score", "id"]).head(15)

    def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
        frame = frame.assign(name=_names(frame))
        reason = frame["rejection_label"].fillna(frame["outcome_label"]).fillna("")
        return [
            {
                "lead_id": r["lead_id"],
                "name": r["name"],
                "company": r["lead_company"],
                "score": r["score"],
                "tier": r["tier"],
                "outcome": r["outcome"],
                "reason": why,
                "source": r["source"],
            }  # fmt: skip
            for r, why in zip(frame.to_dict("records"), reason, strict=True)
        ]

    leads = f.leads[in_month(f.leads["created_at"], month) & ~f.leads["id"].isin(f.cycles["lead_id"])]
    converted = leads[leads["converted"] == 1].sort_values(["score", "id"])
    named = (converted["first_name"] + " " + converted["last_name"]).str.strip()
    named = named.where(named != "", converted["email"])
    named = named.where(named != "", "Lead " + converted["id"].astype(str))
    return {
        "high_score_not_converted": rows(high),
        "low_score_won": rows(low),
        "never_mql_but_won": [
            {
                "lead_id": r["id"],
                "name": name,
                "company": r["company"],
                "score": r["score"],
                "source": r["source"],
            }
            for r, name in zip(converted.head(15).to_dict("records"), named.head(15), strict=True)
        ],
        "never_mql_but_won_count": len(converted),
    }


def expected_reasons(f: Frames, month: date) -> dict[str, Any]:
    c = cohort_of(f, month)

    def table(outcome: str, label: str) -> list[dict[str, Any]]:
        counts = c[c["outcome"] == outcome].groupby([label, "source"]).size().reset_index(name="n")
        counts = counts.assign(minus=-counts["n"]).sort_values([label, "minus", "source"])
        return [
            {"reason": r[label] or "(none)", "source": r["source"] or "(none)", "n": r["n"]}
            for r in counts.to_dict("records")
        ]

    rejected = f.rules.merge(c[c["outcome"] == "rejected"], left_on="cycle_id", right_on="id")
    by_rule = [
        {"rule": name, "n": len(group), "reasons": group["rejection_label"].value_counts().to_dict()}
        for name, group in rejected.groupby("name")
    ]
    by_rule.sort(key=lambda row: (-row["n"], row["rule"]))
    return {
        "rejection_by_source": table("rejected", "rejection_label"),
        "loss_by_source": table("lost", "outcome_label"),
        "rejection_by_rule": by_rule,
    }


def approx_tree(value: Any) -> Any:
    """The expected figures with every float compared to 1e-9 (numpy and pandas may sum in another order)."""
    if isinstance(value, dict):
        return {key: approx_tree(item) for key, item in value.items()}
    if isinstance(value, list):
        return [approx_tree(item) for item in value]
    if isinstance(value, float | np.floating):
        return pytest.approx(float(value), rel=1e-9, abs=1e-12)
    if isinstance(value, np.integer):
        return int(value)
    return value


def parse_reasons(text: str) -> dict[str, int]:
    """ "Not a fit 3, Competitor 1" → {"Not a fit": 3, "Competitor": 1} (a report line, read back)."""
    return {reason: int(n) for reason, n in (part.rsplit(" ", 1) for part in text.split(", "))}


# --- every figure against pandas ---------------------------------------------------------------------------


@pytest.fixture(params=[7, 2026])
def month_data(request, agreement, reps) -> Frames:
    build(request.param, reps)
    return frames(agreement)


def test_funnel_and_last_months_match_pandas(month_data):
    # given a month of varied hand-overs (month_data), and the month before it
    # when the review is computed
    report = review_for(MONTH)
    # then the funnel's counts and step rates are pandas' over the same rows, this month and last
    assert report["funnel"] == approx_tree(expected_funnel(month_data, MONTH))
    assert report["previous_funnel"] == approx_tree(expected_funnel(month_data, PREVIOUS))
    assert (report["month"], report["previous_month"]) == ("2026-04-01", "2026-03-01")
    # and the data really varies: every stage and outcome is present
    funnel = report["funnel"]
    assert min(funnel[key] for key in ("leads", "mqls", "accepted", "sqls", "won", "rejected", "lost",
                                       "disqualified", "immature")) > 0  # fmt: skip


def test_marketing_side_matches_pandas(month_data):
    # given a month of hand-overs from several sources and campaigns, some without a source or campaign
    # when the review is computed
    marketing = review_for(MONTH)["marketing"]
    # then delivered vs committed, the complete share and both tables are pandas'
    assert marketing == approx_tree(expected_marketing(month_data, MONTH))
    assert marketing["committed"] == 200 and marketing["required_fields"] == ["email", "company", "job_title"]
    assert 0 < marketing["complete"] < marketing["delivered"]
    assert "(none)" in {row["name"] for row in marketing["by_source"]}


def test_sales_side_matches_pandas(month_data):
    # given hand-overs claimed, contacted, decided and closed before, on and after their deadlines
    # when the review is computed
    sales = review_for(MONTH)["sales"]
    # then the SLA rates, first-contact median and 90th percentile, breaches and the per-rep rows are pandas'
    assert sales == approx_tree(expected_sales(month_data, MONTH))
    assert [rep["rep"] for rep in sales["reps"]] == ["zed", "Alice Archer", "Bob"]
    for key in ("claim", "contact", "decision", "outcome"):
        assert 0 < sales[f"{key}_ok"] < sales[f"{key}_total"]
    assert sales["breaches"] > 0


def test_score_bands_are_the_months_score_quintiles_as_pandas_cuts_them(month_data):
    # given hand-overs with many tied scores (some exactly on 25, 50, 75 and 100) from -20 to 140
    cohort = cohort_of(month_data, MONTH)
    assert {25, 50, 75, 100} <= set(cohort["score"])
    # when the review is computed
    bands = review_for(MONTH)["score_bands"]
    # then the bands are cut at the month's own score quintiles, each band's counts and rates are pandas'
    assert bands == approx_tree(expected_bands(cohort))
    # and they cover the month's scores end to end, none empty, none overlapping
    assert bands[0]["low"] == cohort["score"].min() and bands[-1]["high"] == cohort["score"].max()
    assert all(band["n"] > 0 for band in bands) and sum(band["n"] for band in bands) == len(cohort)
    assert all(before["high"] < after["low"] for before, after in zip(bands, bands[1:], strict=False))


def test_score_bands_follow_a_narrow_score_range_instead_of_fixed_25_point_bands(month_data):
    # given a month whose hand-overs all scored between 0 and 60 (a 0–60 agreement)
    Cycle.objects.filter(handed_over_at__gte=APRIL_START, handed_over_at__lt=APRIL_END).update(
        score=F("id") % 61
    )
    # when the review is computed
    bands = review_for(MONTH)["score_bands"]
    # then there are five bands of about a fifth of the hand-overs each, all within 0–60, none empty
    total = sum(band["n"] for band in bands)
    assert len(bands) == 5 and bands[0]["low"] >= 0 and bands[-1]["high"] <= 60
    assert all(0.1 * total < band["n"] < 0.3 * total for band in bands)


def test_auc_is_the_share_of_won_lost_pairs_the_score_orders_rightly(month_data):
    # given closed hand-overs, many of them with tied scores
    cohort = cohort_of(month_data, MONTH)
    # when the review is computed
    auc = review_for(MONTH)["auc"]
    # then it equals the brute-force count over all won × not-won pairs (ties half)
    assert auc == approx_tree(expected_auc(cohort))
    assert 0 < auc["auc"] < 1


def test_rule_lifts_match_pandas(month_data):
    # given rules that fired more often on won hand-overs, on every one, and never on a won one
    cohort = cohort_of(month_data, MONTH)
    # when the review is computed
    lifts = review_for(MONTH)["rule_lifts"]
    # then each rule's fired / not fired conversion and lift are pandas'
    assert lifts == approx_tree(expected_lifts(cohort, month_data.rules))
    by_id = {lift["rule_id"]: lift for lift in lifts}
    assert by_id["f9"]["not_fired"] == 0 and by_id["f9"]["win_lift"] is None
    assert by_id["e7"]["win_lift"] == 0 and by_id["f1"]["win_lift"] > 1


def test_discussion_lists_match_pandas(month_data):
    # given won hand-overs under the threshold, rejected and lost ones over it, and converted leads never handed over
    # when the review is computed
    lists = review_for(MONTH)["lists"]
    # then the two lists (and the never-MQL list) are pandas', in the same order
    assert lists == approx_tree(expected_lists(month_data, MONTH))
    assert lists["high_score_not_converted"] and lists["low_score_won"] and lists["never_mql_but_won"]


def test_reasons_by_source_and_by_rule_match_pandas(month_data):
    # given rejections and losses with reasons, from several sources, with the rules that had fired
    # when the review is computed
    reasons = review_for(MONTH)["reasons"]
    expected = expected_reasons(month_data, MONTH)
    # then the tables by source are pandas'
    assert reasons["rejection_by_source"] == expected["rejection_by_source"]
    assert reasons["loss_by_source"] == expected["loss_by_source"]
    # and by rule: the same rules in the same order, each with the same reasons counted (most frequent first)
    assert [(r["rule"], r["n"]) for r in reasons["rejection_by_rule"]] == [
        (r["rule"], r["n"]) for r in expected["rejection_by_rule"]
    ]
    for row, want in zip(reasons["rejection_by_rule"], expected["rejection_by_rule"], strict=True):
        assert parse_reasons(row["reasons"]) == want["reasons"]
        counts = list(parse_reasons(row["reasons"]).values())
        assert counts == sorted(counts, reverse=True)


# --- edge cases ---------------------------------------------------------------------------------------------


def test_an_empty_month_has_no_rates_and_does_not_crash(db):
    # given no agreement and no data at all
    # when a month is reviewed
    report = review_for(date(2030, 1, 1))
    # then every count is zero and every rate is None
    funnel = report["funnel"]
    assert {key: value for key, value in funnel.items() if key != "steps"} == dict.fromkeys(
        ("mqls", "accepted", "sqls", "won", "rejected", "lost", "disqualified", "immature", "leads"), 0
    )
    assert [step["rate"] for step in funnel["steps"]] == [None] * 5
    assert report["agreement"] is None
    marketing = report["marketing"]
    assert (marketing["committed"], marketing["delivered"], marketing["delivered_share"]) == (None, 0, None)
    assert (marketing["complete_share"], marketing["by_source"], marketing["by_campaign"]) == (None, [], [])
    sales = report["sales"]
    assert [sales[f"{key}_rate"] for key in ("claim", "contact", "decision", "outcome")] == [None] * 4
    assert (sales["median_first_contact_minutes"], sales["p90_first_contact_minutes"]) == (None, None)
    assert (sales["contacted"], sales["breaches"], sales["breaches_by_clock"], sales["reps"]) == (
        0,
        0,
        {},
        [],
    )
    assert report["score_bands"] == []
    assert report["auc"] == {"auc": None, "won": 0, "not_won": 0}
    assert report["rule_lifts"] == [] and report["suggestions"] == []
    assert report["lists"] == {"high_score_not_converted": [], "low_score_won": [], "never_mql_but_won": [],
                               "never_mql_but_won_count": 0}  # fmt: skip
    assert report["reasons"] == {"rejection_by_source": [], "loss_by_source": [], "rejection_by_rule": []}


def test_a_required_number_field_counts_as_complete_when_it_is_known(
    agreement, reps, marketing_manager, sales_manager
):
    # given an agreement requiring the company size (a number) and an e-mail of every handed-over lead
    content = copy.deepcopy(agreement.content)
    content["terms"]["marketing"]["required_fields"] = ["employees", "email"]
    version = sla_services.agreement_draft_create(user=marketing_manager, now=timezone.now())
    sla_services.agreement_change(version_id=version.pk, user=marketing_manager, now=timezone.now(),
                                  change=lambda _: content)  # fmt: skip
    sla_services.agreement_propose(version_id=version.pk, user=marketing_manager, now=timezone.now())
    for user, side in ((marketing_manager, Side.MARKETING), (sales_manager, Side.SALES)):
        sla_services.agreement_sign(version_id=version.pk, user=user, now=timezone.now(), side=side)
    version.refresh_from_db()
    # and a month of hand-overs whose leads' size is unknown, zero or some number
    build(7, reps)
    sizes = random.Random(3)
    for lead_id in Lead.objects.values_list("pk", flat=True):
        Lead.objects.filter(pk=lead_id).update(employees=sizes.choice([None, 0, 12, 250]))
    # when the month is reviewed
    marketing = review_for(MONTH)["marketing"]
    # then the complete share counts a known size, zero included, as there; and it is pandas'
    assert marketing["required_fields"] == ["employees", "email"]
    assert marketing == approx_tree(expected_marketing(frames(version), MONTH))
    assert 0 < marketing["complete"] < marketing["delivered"]


def test_an_empty_month_under_an_agreement_delivered_none_of_what_was_committed(agreement):
    # given an agreement committing 200 MQLs a month, and no hand-over
    # when a month is reviewed
    marketing = review_for(date(2030, 1, 1))["marketing"]
    # then nothing was delivered (0%), and the complete share has nothing to be a share of
    assert (marketing["committed"], marketing["delivered"], marketing["delivered_share"]) == (200, 0, 0.0)
    assert marketing["complete_share"] is None


def test_a_month_of_open_hand_overs_only(agreement, reps):
    # given a month whose hand-overs are all still open (some accepted or qualified)
    build(11, reps, count=80, start=APRIL_START + timedelta(days=1), end=APRIL_END - timedelta(days=1),
          instants=(), outcomes=[""])  # fmt: skip
    f = frames(agreement)
    # when it is reviewed
    report = review_for(MONTH)
    # then all of them are immature, nothing is won, and no AUC can be computed
    funnel = report["funnel"]
    assert funnel["immature"] == funnel["mqls"] > 0 and funnel["won"] == funnel["rejected"] == 0
    assert report["auc"] == {"auc": None, "won": 0, "not_won": 0}
    assert all(band["immature"] == band["n"] for band in report["score_bands"])
    assert report["sales"]["outcome_ok"] == 0
    assert report["lists"]["high_score_not_converted"] == report["lists"]["low_score_won"] == []
    # and the figures are still pandas'
    assert funnel == approx_tree(expected_funnel(f, MONTH))
    assert report["score_bands"] == approx_tree(expected_bands(cohort_of(f, MONTH)))
    assert report["sales"] == approx_tree(expected_sales(f, MONTH))
    assert report["rule_lifts"] == approx_tree(expected_lifts(cohort_of(f, MONTH), f.rules))


@pytest.mark.parametrize(
    ("instant", "month"),
    [
        (APRIL_START - timedelta(microseconds=1), PREVIOUS),  # 23:59:59.999999 on 31 March, London
        (APRIL_START, MONTH),  # midnight, 1 April, London (BST)
        (datetime(2026, 3, 31, 23, 30, tzinfo=UTC), MONTH),  # 00:30 on 1 April in London, 31 March in UTC
        (APRIL_END - timedelta(microseconds=1), MONTH),
        (APRIL_END, date(2026, 5, 1)),  # midnight, 1 May, London
        (datetime(2026, 4, 30, 23, 30, tzinfo=UTC), date(2026, 5, 1)),  # 30 April in UTC, May in London
        (datetime(2026, 3, 1, 0, 0, tzinfo=UTC), PREVIOUS),  # winter time: London = UTC
        (datetime(2026, 3, 1, 0, 0, tzinfo=UTC) - timedelta(microseconds=1), date(2026, 2, 1)),
        (datetime(2026, 10, 31, 23, 59, tzinfo=UTC), date(2026, 10, 1)),  # back to GMT on 25 October
        (datetime(2026, 11, 1, 0, 0, tzinfo=UTC), date(2026, 11, 1)),
    ],
)
def test_a_hand_over_belongs_to_its_month_in_london_time(agreement, reps, instant, month):
    # given one lead created and handed over at an instant near a month's edge
    lead = Lead.objects.create(email="edge@acme.example", created_at=instant, updated_at=instant)
    cycle_create(lead=lead, number=1, handed_over_at=instant, tier="warm", score=60, fit_score=60,
                         engagement_score=0, owner=reps[0])  # fmt: skip
    # when that month and its neighbours are reviewed
    before = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    after = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    counts = {m: review_for(m)["funnel"] for m in (before, month, after)}
    # then it is counted in its own month only, as a lead and as an MQL
    assert {m: (f["leads"], f["mqls"]) for m, f in counts.items()} == {
        before: (0, 0),
        month: (1, 1),
        after: (0, 0),
    }
    # and pandas puts it in the same month
    assert in_month(pd.Series([instant]), month).tolist() == [True]


def test_the_edges_in_the_built_data_fall_where_london_time_says(month_data):
    # given hand-overs at the month's edges (month_data holds all of EDGES)
    handed = set(month_data.cycles["handed_over_at"].dt.to_pydatetime())
    assert set(EDGES) <= handed
    # when April and its neighbours are reviewed
    mqls = {m: review_for(m)["funnel"]["mqls"] for m in (PREVIOUS, MONTH, date(2026, 5, 1))}
    # then each count is the number of hand-overs whose London date falls in that month
    local = month_data.cycles["handed_over_at"].dt.tz_convert("Europe/London")
    assert mqls == {m: int(((local.dt.year == m.year) & (local.dt.month == m.month)).sum()) for m in mqls}
    assert settings.TIME_ZONE == "Europe/London"


REVIEW_QUERIES = 30  # the month's figures, last month's funnel and the suggestions (about 24 today)


def test_the_review_takes_the_same_number_of_queries_for_a_small_and_a_large_month(
    agreement, reps, django_assert_max_num_queries
):
    # given a month of a few dozen hand-overs
    build(7, reps, count=40)
    with django_assert_max_num_queries(REVIEW_QUERIES) as small:
        small_report = review_for(MONTH)
    # when the same month holds fifteen times as many hand-overs instead
    SlaBreach.objects.all().delete()
    Cycle.objects.all().delete()
    Lead.objects.all().delete()
    build(7, reps, count=600)
    with django_assert_max_num_queries(REVIEW_QUERIES) as large:
        large_report = review_for(MONTH)
    # then the review reads the larger month in as many queries (none per hand-over, rep, rule or band)
    assert large_report["funnel"]["mqls"] > 10 * small_report["funnel"]["mqls"]
    assert len(large) == len(small)


def test_a_rejected_hand_over_counts_once_under_a_name_two_rules_share(month_data):
    # given a rejected hand-over of the month on which two rules of the same name had fired
    cycle = Cycle.objects.filter(
        handed_over_at__gte=APRIL_START, handed_over_at__lt=APRIL_END, outcome="rejected"
    ).first()
    CycleRule.objects.filter(cycle=cycle).delete()
    CycleRule.objects.create(cycle=cycle, rule_id="twin-a", kind="fit", name="Twin rule", points=5)
    CycleRule.objects.create(cycle=cycle, rule_id="twin-b", kind="engagement", name="Twin rule", points=5)
    # when the review is computed
    after = {row["rule"]: row["n"] for row in review_for(MONTH)["reasons"]["rejection_by_rule"]}
    # then that hand-over is one rejection under the shared name, not two
    assert after["Twin rule"] == 1
