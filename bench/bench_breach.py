"""The SLA breach scan on PostgreSQL: milliseconds per breach over N overdue leads among many open ones.

    SCALE=small python bench/bench_breach.py     # 2,000 overdue among 20,000 open leads
    python bench/bench_breach.py                 # 20,000 overdue among 1,000,000 open leads

Generates its own data with COPY into its own database (`alignment_bench_breach`; set DATABASE_URL to use another):
open, unclaimed MQLs whose claim deadline is days ahead, and N of them with one already missed. Under the starter
agreement (notify the sales manager, an escalation ladder whose first step is due at once) each round runs, in a
transaction rolled back afterwards so every round starts from the same rows:
- the subject: `sla_breaches_scan` — breaches recorded, the clock summary restamped, notifications written to the
  outbox (one delivery job per batch after commit), the ladder's first step fired;
- the baseline: a bare `INSERT INTO leads_slabreach ... SELECT` of the same N rows from the same index.
Rounds interleave (subject, baseline, ...) and the medians are recorded with bench/harness.py.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from dataset import setup_with_demo_users  # noqa: E402
from harness import interleaved, record, scaled  # noqa: E402

OPEN = scaled(small=20_000, default=1_000_000)
OVERDUE = scaled(small=2_000, default=20_000)
REPEATS = scaled(small=3, default=5)


def copy_leads(count: int, overdue: int, now: datetime, rng: random.Random) -> None:
    """COPY `count` open, unclaimed MQLs; the first `overdue` missed their claim deadline 1-600 minutes ago (their
    other clocks fall due days later, so each overdue lead makes one breach)."""
    from django.db import connection

    columns = [
        "id", "email", "first_name", "last_name", "company", "job_title", "seniority", "department", "industry",
        "employees", "country", "source", "campaign", "attributes", "state", "tier", "score", "fit_score",
        "engagement_score", "breakdown", "mql_at", "handoff_reason", "claim_due_at", "first_contact_due_at",
        "accept_due_at", "outcome_due_at", "sla_clock", "sla_due_at", "next_sla_check_at", "created_at", "updated_at",
        "attribute_seen_at",
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_lead, leads_slabreach, leads_slawarning, alignment_outboxmessage CASCADE"
        )
        with cursor.connection.cursor().copy(f"COPY leads_lead ({', '.join(columns)}) FROM STDIN") as copy:
            for pk in range(1, count + 1):
                late = pk <= overdue
                due = (
                    now - timedelta(minutes=rng.randint(1, 600))
                    if late
                    else now + timedelta(days=rng.randint(2, 9))
                )
                copy.write_row([
                    pk, f"lead{pk}@example.com", "First", f"Last{pk}", f"Company {pk % 5000}", "Analyst", "", "",
                    "software", 250, "GB", "Google", "", "{}", "mql", "warm", 60, 20, 40, "{}", now, "score 60",
                    due, now + timedelta(days=10), now + timedelta(days=11), now + timedelta(days=30), "claim", due,
                    due, now, now, "{}",
                ])  # fmt: skip
        cursor.execute("SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), %s)", [count])
        cursor.execute("ANALYZE leads_lead")


class Rollback(Exception):
    pass


def rolled_back(fn):
    """Run `fn` in a transaction that is rolled back, so the next round finds the same rows."""
    from django.db import transaction

    def run() -> None:
        try:
            with transaction.atomic():
                fn()
                raise Rollback
        except Rollback:
            pass

    return run


def main() -> None:
    setup_with_demo_users("bench_breach", "alignment_bench_breach")
    from django.db import connection
    from django.utils import timezone

    from alignment import outbox
    from leads.queue import sla_breaches_scan

    now = timezone.now()
    started = time.perf_counter()
    copy_leads(OPEN, OVERDUE, now, random.Random(7))
    print(
        f"breach scan: {OPEN:,} open leads, {OVERDUE:,} overdue (generated in {time.perf_counter() - started:.1f} s)"
    )

    jobs: list[object] = []

    class CountedJob(outbox._AfterCommit):  # each is one delivery job queued at commit (rounds roll back)
        def __init__(self) -> None:
            super().__init__()
            jobs.append(self)

    outbox._AfterCommit = CountedJob
    found: dict[str, int] = {}

    def scan() -> None:
        jobs.clear()
        result = sla_breaches_scan(now=now)
        found.update(breaches=len(result.breaches), steps=len(result.steps))
        from alignment.models import OutboxMessage

        found["messages"] = OutboxMessage.objects.count()

    def bare_insert() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO leads_slabreach (lead_id, clock, deadline, detected_at, late_seconds, owner_id, action,"
                " steps_fired, next_step_at) SELECT id, 'claim', claim_due_at, %s,"
                " EXTRACT(EPOCH FROM %s - claim_due_at)::int, owner_id, 'none', 0, %s"
                " FROM leads_lead WHERE next_sla_check_at <= %s",
                [now, now, now, now],
            )
            found["bare"] = cursor.rowcount

    timing = interleaved(
        {"scan": rolled_back(scan), "bare": rolled_back(bare_insert)}, repeats=REPEATS, warmup=0
    )
    if found["breaches"] != OVERDUE or found["bare"] != OVERDUE:
        sys.exit(
            f"expected {OVERDUE} breaches, the scan found {found['breaches']}, the bare insert {found['bare']}"
        )
    per_breach = timing["scan"].p50 * 1000 / OVERDUE
    bare_per_breach = timing["bare"].p50 * 1000 / OVERDUE
    print(
        f"  scan: {timing['scan'].p50:.2f} s for {OVERDUE:,} breaches (median of {REPEATS}), {found['messages']:,}"
        f" outbox messages, {found['steps']:,} ladder steps, {len(jobs)} delivery jobs queued"
    )
    record("breach scan per breach", per_breach, "ms", baseline=bare_per_breach,
           baseline_name="bare INSERT ... SELECT of the same rows", goal="<= 2 ms per breach",
           notes={"open_leads": OPEN, "overdue": OVERDUE, "outbox_messages": found["messages"],
                  "delivery_jobs": len(jobs), "scan_seconds": round(timing["scan"].p50, 3)})  # fmt: skip


if __name__ == "__main__":
    main()
