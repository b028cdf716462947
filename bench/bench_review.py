"""The monthly review for a month of 100k MQLs inside 1M leads, on PostgreSQL.

    python bench/bench_review.py [--leads 1000000] [--mqls 100000]

Generates its own data with COPY into a dedicated database (`alignment_bench_review`; set DATABASE_URL to use
another), then prints the review's server time and SQL query count beside the time pandas needs for the same
figures (funnel, SLA compliance, score bands, AUC, rule lifts) on the same rows already loaded in memory.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alignment_bench_review")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")

RULES = [("f1", "fit", "Decision maker", 20), ("f2", "fit", "Target industry", 15), ("f3", "fit", "100+ employees", 10),
         ("e1", "engagement", "Pricing page view", 15), ("e2", "engagement", "Case study download", 10),
         ("e3", "engagement", "Webinar attended", 10), ("e4", "engagement", "Blog view", 3),
         ("t1", "trigger", "Demo request", 0)]  # fmt: skip


def ensure_database() -> None:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname="postgres",
                         autocommit=True) as conn:  # fmt: skip
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


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
                        "engagement_score", "breakdown", "handoff_reason", "sla_clock", "created_at", "updated_at"]  # fmt: skip
        sources = ["Google", "Direct Traffic", "Olark Chat", "Organic Search", "Reference"]
        with raw.cursor().copy(f"COPY leads_lead ({', '.join(lead_columns)}) FROM STDIN") as copy:
            for pk in range(1, leads + 1):
                created = month_start - timedelta(days=rng.uniform(-29, 150))
                copy.write_row([pk, f"l{pk}@example.com", "F", f"L{pk}", f"Co {pk % 9000}", "Analyst", "", "", "software",
                                "UK", rng.choice(sources), "", "{}", "new", "", rng.randint(-20, 130), 10, 10, "{}", "",
                                "", created, created])  # fmt: skip
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
        cursor.execute("ANALYZE")


def pandas_figures(cycles, rules, month_start, month_end):
    """The same figures, computed by pandas on frames already in memory."""
    import numpy as np

    c = cycles[(cycles.handed_over_at >= month_start) & (cycles.handed_over_at < month_end)]
    funnel = {"mqls": len(c), "accepted": int(c.accepted_at.notna().sum()), "sqls": int(c.sql_at.notna().sum()),
              "won": int((c.outcome == "won").sum()), "immature": int(c.closed_at.isna().sum())}  # fmt: skip
    sla = {
        "claim": float((c.claimed_at <= c.claim_due_at).mean()),
        "contact": float((c.first_contact_at <= c.first_contact_due_at).mean()),
        "p50_p90": np.percentile(c.first_contact_minutes.dropna(), [50, 90]).tolist(),
    }
    bands = c.groupby(np.digitize(c.score, [25, 50, 75, 100])).agg(
        n=("id", "size"), won=("outcome", lambda s: (s == "won").sum())
    )
    closed = c[c.outcome.isin(["won", "lost", "rejected", "disqualified"])]
    ranks = closed.score.rank()
    positives = (closed.outcome == "won").sum()
    negatives = len(closed) - positives
    auc = (ranks[closed.outcome == "won"].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    r = rules[rules.cycle_id.isin(c.id)].merge(c[["id", "outcome"]], left_on="cycle_id", right_on="id")
    lifts = r.groupby("rule_id").agg(n=("cycle_id", "nunique"), won=("outcome", lambda s: (s == "won").sum()))
    return funnel, sla, bands, auc, lifts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--mqls", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    ensure_database()
    import pandas as pd
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from feedback.models import Cycle, CycleRule
    from feedback.reports import month_bounds, review_for

    call_command("migrate", verbosity=0)
    month = date(2026, 10, 1)
    start, end = month_bounds(month)
    print(f"review: {args.mqls:,} MQLs in {month:%B %Y} among {args.leads:,} leads (PostgreSQL)")
    started = time.perf_counter()
    generate(args.leads, args.mqls, start, random.Random(11))
    print(f"  generated in {time.perf_counter() - started:.1f} s")

    review_for(month)  # warm up
    with CaptureQueriesContext(connection) as queries:
        review_for(month)
    samples = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        data = review_for(month)
        samples.append(time.perf_counter() - started)
    server = statistics.median(samples)

    cycles = pd.DataFrame.from_records(Cycle.objects.values(
        "id", "handed_over_at", "score", "claim_due_at", "claimed_at", "first_contact_due_at", "first_contact_at",
        "first_contact_minutes", "accepted_at", "sql_at", "outcome", "closed_at"))  # fmt: skip
    rules = pd.DataFrame.from_records(CycleRule.objects.values("cycle_id", "rule_id"))
    samples = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        funnel, sla, _, auc, _ = pandas_figures(cycles, rules, start, end)
        samples.append(time.perf_counter() - started)
    in_memory = statistics.median(samples)
    assert funnel["mqls"] == data["funnel"]["mqls"] and funnel["won"] == data["funnel"]["won"]
    assert abs(auc - data["auc"]["auc"]) < 1e-9, (auc, data["auc"])
    print(f"  review (database + numpy): {server * 1000:.0f} ms server time (median of {args.repeat}), "
          f"{len(queries)} SQL queries")  # fmt: skip
    print(f"  baseline, pandas on the same rows in memory: {in_memory * 1000:.0f} ms")
    print(f"  ratio: {server / in_memory:.1f}x pandas (pandas excludes loading {len(cycles):,} cycles and "
          f"{len(rules):,} rule rows into memory)")  # fmt: skip
    print(
        f"  check: funnel {funnel['mqls']:,} MQLs / {funnel['won']:,} won and AUC {auc:.4f} agree with pandas"
    )


if __name__ == "__main__":
    main()
