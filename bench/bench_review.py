"""The monthly review for a month of 100k MQLs inside 1M leads (SCALE=small: 2k in 20k), on PostgreSQL.

    python bench/bench_review.py          # or: make bench SCALE=small

Generates its own data with COPY into a dedicated database (`alignment_bench_review`; set DATABASE_URL to use
another; data of the same size already there is reused, as every benchmark's is: the review only reads it;
BENCH_REGENERATE=1 makes it anew), then times `review_for` against pandas
computing the same figures (funnel, SLA in time, percentiles, sources, quantile score bands, AUC, rule lifts) on
the same rows already in memory, interleaved, medians, and records both with the review's SQL query count.
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from dataset import bench_database_url  # noqa: E402

os.environ.setdefault("DATABASE_URL", bench_database_url("alignment_bench_review"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")

RULES = [("f1", "fit", "Decision maker", 20), ("f2", "fit", "Target industry", 15), ("f3", "fit", "100+ employees", 10),
         ("e1", "engagement", "Pricing page view", 15), ("e2", "engagement", "Case study download", 10),
         ("e3", "engagement", "Webinar attended", 10), ("e4", "engagement", "Blog view", 3),
         ("t1", "trigger", "Demo request", 0)]  # fmt: skip


def generate(leads: int, mqls: int, month_start: datetime, rng: random.Random) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_lead, leads_slabreach, leads_activity, leads_leadevent, leads_leadidentity, "
            "leads_handover, feedback_cycle, feedback_cyclerule, feedback_contactattempt, feedback_snapshot, "
            "feedback_decision CASCADE"
        )
        raw = cursor.connection
        lead_columns = ["id", "email", "first_name", "last_name", "company", "job_title", "seniority", "department",
                        "industry", "country", "source", "campaign", "attributes", "state", "tier", "score", "fit_score",
                        "engagement_score", "breakdown", "handoff_reason", "sla_clock", "created_at", "updated_at",
                        "attribute_seen_at"]  # fmt: skip
        sources = ["Google", "Direct Traffic", "Olark Chat", "Organic Search", "Reference"]
        with raw.cursor().copy(f"COPY leads_lead ({', '.join(lead_columns)}) FROM STDIN") as copy:
            for pk in range(1, leads + 1):
                created = month_start - timedelta(days=rng.uniform(-29, 150))
                copy.write_row([pk, f"l{pk}@example.com", "F", f"L{pk}", f"Co {pk % 9000}", "Analyst", "", "", "software",
                                "UK", rng.choice(sources), "", "{}", "new", "", rng.randint(-20, 130), 10, 10, "{}", "",
                                "", created, created, "{}"])  # fmt: skip
        cycle_columns = ["id", "lead_id", "number", "handed_over_at", "tier", "score", "fit_score", "engagement_score",
                         "breakdown", "reason", "source", "campaign", "claim_due_at", "first_contact_due_at",
                         "accept_due_at", "outcome_due_at", "claimed_at", "first_contact_at", "first_contact_minutes",
                         "accepted_at", "rejected_at", "qualification", "sql_at", "outcome", "rejection_comment",
                         "outcome_comment", "closed_at", "hand_over_id"]  # fmt: skip
        hand_over_columns = ["id", "lead_id", "number", "at", "tier", "score", "fit_score", "engagement_score",
                             "breakdown", "reason", "source", "campaign", "claim_due_at", "first_contact_due_at",
                             "accept_due_at", "outcome_due_at", "ended_at"]  # fmt: skip
        rule_rows, cycle_rows = [], []
        # each cycle's leads.HandOver is copied first (the cycle keys to it), then the cycles
        for pk in range(1, mqls + 1):
            at = month_start + timedelta(seconds=rng.uniform(0, 27 * 86400))
            score = rng.randint(0, 130)
            hot = rng.random() < 0.12
            claim_due, contact_due = at + timedelta(hours=4), at + timedelta(hours=16)
            accept_due, outcome_due = at + timedelta(days=2), at + timedelta(days=40)
            claimed = at + timedelta(hours=rng.uniform(0, 6))
            contacted = claimed + timedelta(hours=rng.uniform(0, 20))
            decided = contacted + timedelta(hours=rng.uniform(1, 50))
            roll = rng.random()
            accepted = decided if roll < 0.6 + 0.003 * score else None
            rejected = None if accepted else decided
            sql = accepted + timedelta(days=2) if accepted and rng.random() < 0.5 else None
            outcome = "rejected" if rejected else ("won" if sql and rng.random() < 0.2 + 0.004 * score else
                                                   ("lost" if sql and rng.random() < 0.6 else ""))  # fmt: skip
            closed = rejected or (
                sql + timedelta(days=rng.uniform(5, 50)) if outcome in ("won", "lost") else None
            )
            cycle_rows.append([pk, pk * (leads // mqls), 1, at, "hot" if hot else "warm", score, 20, score - 20, "{}",
                            "", rng.choice(sources), "", claim_due, contact_due, accept_due, outcome_due, claimed,
                            contacted, (contacted - at).total_seconds() / 60, accepted, rejected, "{}", sql,
                            outcome, "", "", closed, pk])  # fmt: skip
            for rule_id, kind, name, points in RULES:
                if rng.random() < (0.12 if kind == "trigger" else 0.45):
                    rule_rows.append([pk, rule_id, kind, name, points])
        with raw.cursor().copy(f"COPY leads_handover ({', '.join(hand_over_columns)}) FROM STDIN") as copy:
            for row in cycle_rows:
                copy.write_row([*row[:16], row[26]])  # id .. outcome_due_at, then ended when the cycle closed
        with raw.cursor().copy(f"COPY feedback_cycle ({', '.join(cycle_columns)}) FROM STDIN") as copy:
            for row in cycle_rows:
                copy.write_row(row)
        with raw.cursor().copy(
            "COPY feedback_cyclerule (cycle_id, rule_id, kind, name, points) FROM STDIN"
        ) as copy:
            for row in rule_rows:
                copy.write_row(row)
    # as autovacuum leaves a table that has sat a while: statistics and visibility map up to date
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE leads_lead")
        cursor.execute("VACUUM ANALYZE feedback_cycle")
        cursor.execute("VACUUM ANALYZE feedback_cyclerule")


def pandas_figures(cycles, rules, month_start, month_end):
    """The same figures, computed by pandas on frames already in memory (vectorised, no Python loop per row):
    funnel, SLA in time, first-contact percentiles, MQLs by source, quantile score bands, AUC and rule lifts."""
    import numpy as np

    c = cycles[(cycles.handed_over_at >= month_start) & (cycles.handed_over_at < month_end)]
    won = c.outcome == "won"
    funnel = {"mqls": len(c), "accepted": int(c.accepted_at.notna().sum()), "sqls": int(c.sql_at.notna().sum()),
              "won": int(won.sum()), "immature": int(c.closed_at.isna().sum())}  # fmt: skip
    sla = {
        "claim": int((c.claimed_at <= c.claim_due_at).sum()),
        "contact": int((c.first_contact_at <= c.first_contact_due_at).sum()),
        "decision": int(((c.accepted_at <= c.accept_due_at) | (c.rejected_at <= c.accept_due_at)).sum()),
        "p50_p90": np.percentile(c.first_contact_minutes.dropna(), [50, 90]).tolist(),
    }
    by_source = c.assign(won=won).groupby("source").agg(mqls=("id", "size"), won=("won", "sum"))
    cuts = sorted({float(np.quantile(c.score, q, method="inverted_cdf")) for q in (0.2, 0.4, 0.6, 0.8)})
    bands = (
        c.assign(won=won)
        .groupby(np.searchsorted(cuts, c.score, side="left"))
        .agg(n=("id", "size"), won=("won", "sum"))
    )
    closed = c[c.outcome.isin(["won", "lost", "rejected", "disqualified"])]
    ranks = closed.score.rank()
    positives = (closed.outcome == "won").sum()
    negatives = len(closed) - positives
    auc = (ranks[closed.outcome == "won"].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    r = rules.merge(c[["id"]].assign(won=won), left_on="cycle_id", right_on="id")
    lifts = r.groupby("rule_id").agg(n=("cycle_id", "size"), won=("won", "sum"))
    return funnel, sla, by_source, bands, auc, lifts


def main() -> None:
    from dataset import create_database
    from harness import interleaved, record, scaled

    leads, mqls = scaled(small=20_000, default=1_000_000), scaled(small=2_000, default=100_000)
    repeats = scaled(small=5, default=5)

    import django

    django.setup()
    create_database()
    import pandas as pd
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from feedback.models import Cycle, CycleRule
    from feedback.reports import month_bounds, review_for
    from leads.models import Lead

    call_command("migrate", verbosity=0)
    month = date(2026, 10, 1)
    start, end = month_bounds(month)
    print(f"review: {mqls:,} MQLs in {month:%B %Y} among {leads:,} leads (PostgreSQL)")
    if (
        not os.environ.get("BENCH_REGENERATE")
        and Lead.objects.count() == leads
        and Cycle.objects.count() == mqls
    ):
        print("  reusing the data already generated (BENCH_REGENERATE=1 makes it anew)")
    else:
        started = time.perf_counter()
        generate(leads, mqls, start, random.Random(11))
        print(f"  generated in {time.perf_counter() - started:.1f} s")

    def read() -> tuple[pd.DataFrame, pd.DataFrame]:
        """The rows pandas computes from, read from PostgreSQL (what pandas would first have to do, every time)."""
        cycles = pd.DataFrame.from_records(Cycle.objects.values(
            "id", "handed_over_at", "score", "source", "claim_due_at", "claimed_at", "first_contact_due_at",
            "first_contact_at", "first_contact_minutes", "accept_due_at", "accepted_at", "rejected_at", "sql_at",
            "outcome", "closed_at"))  # fmt: skip
        return cycles, pd.DataFrame.from_records(CycleRule.objects.values("cycle_id", "rule_id"))

    cycles, rules = read()
    with CaptureQueriesContext(connection) as queries:
        data = review_for(month)
    funnel, _sla, _by_source, bands, auc, _lifts = pandas_figures(cycles, rules, start, end)
    assert funnel["mqls"] == data["funnel"]["mqls"] and funnel["won"] == data["funnel"]["won"]
    assert abs(auc - data["auc"]["auc"]) < 1e-9, (auc, data["auc"])
    assert list(bands["n"]) == [band["n"] for band in data["score_bands"]], (bands, data["score_bands"])
    print(
        f"  check: {funnel['mqls']:,} MQLs / {funnel['won']:,} won, AUC {auc:.4f} and the score bands agree with pandas"
    )

    times = interleaved(
        {
            "review": lambda: review_for(month),
            "pandas": lambda: pandas_figures(cycles, rules, start, end),
            "pandas with its read": lambda: pandas_figures(*read(), start, end),
        },
        repeats=repeats,
    )
    label = (
        f"{mqls // 1000}k MQLs in {leads // 1000}k leads"
        if leads < 1_000_000
        else f"{mqls // 1000}k MQLs in 1M leads"
    )
    record(f"review, {label}", times["review"].p50, "s", baseline=times["pandas"].p50,
           baseline_name=f"pandas on the same rows in memory ({len(cycles):,} cycles, {len(rules):,} rule rows "
                         "loaded beforehand)", goal="< 2 s and ahead of pandas",
           notes={"p95": times["review"].p95, "pandas_p95": times["pandas"].p95, "repeats": repeats,
                  "pandas including reading its rows from PostgreSQL, p50 s": times["pandas with its read"].p50,
                  "the review also computes": "last month's funnel, rejection reasons, discussion lists, "
                                              "suggestions"})  # fmt: skip
    print(f"  (pandas including reading its rows from PostgreSQL: {times['pandas with its read'].p50:.3g} s)")
    record(f"review SQL queries, {label}", len(queries), "queries", goal="constant whatever the month's size")


if __name__ == "__main__":
    main()
