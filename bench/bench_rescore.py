"""Rescore after an agreement's activation, on PostgreSQL, against a bare set-based SQL rescore of the same leads.

    SCALE=small python bench/bench_rescore.py   # 10,000 leads; the rescore timed over 2,000 of them
    python bench/bench_rescore.py               # 1,000,000 leads, ~10M activities; timed over 20,000

Uses its own database, `alignment_bench_crit` (created if missing and migrated; set DATABASE_URL to use another).
Generates the leads and ~10 activities each with COPY, unless the database already holds that many leads. The
starter agreement is activated and every lead scored once (untimed: the first pass hands leads over). Then, in
interleaved rounds (bench/harness.py):
- the subject: the activation's rescore job (`leads.services.rescore_job_run`: lease, chunks of RESCORE_CHUNK
  each in its own transaction with the cursor and heartbeat, the one evaluator `sla.criteria.evaluate`, rows
  written back with COPY + UPDATE ... FROM) over the last `timed` leads, as a re-activation would;
- the baseline: bare SQL over the same leads, the floor of any set-based rescore: one UPDATE ... FROM that
  aggregates each lead's activities in the last 90 days (count, latest) and writes a score and the last activity
  instant back (`BARE_RESCORE`: no criteria, no breakdown, no deadlines, no state);
and records leads/s for both and the projection to 1M leads.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dataset import setup_with_demo_users  # noqa: E402
from harness import interleaved, record, scaled  # noqa: E402

LEADS = scaled(small=10_000, default=1_000_000)
TIMED = scaled(small=2_000, default=20_000)
REPEATS = scaled(small=2, default=3)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SENIORITY = ["director", "VP", "c-level", "owner", "manager", "individual", "student", "", " Director "]
INDUSTRY = [
    "software",
    "Software",
    "financial services",
    "healthcare",
    "education",
    "retail",
    "manufacturing",
    "",
]
EMPLOYEES = [None, 3, 8, 15, 40, 120, 250, 800, 2500, 12000]
DOMAINS = ["acme.example", "globex.example", "initech.example", "gmail.com", "yahoo.co.uk", "outlook.com"]
PAGES = [
    "/",
    "/pricing",
    "/pricing/enterprise",
    "/blog/a",
    "/blog/b",
    "/blog/c",
    "/product",
    "/careers",
    "/docs",
]
ASSETS = ["Case study: Acme", "case study - Globex", "Whitepaper", "Checklist"]
TYPES = ["page", "email_open", "email_click", "download", "webinar", "form_submit", "demo_request", "event"]
TYPE_WEIGHTS = [55, 20, 8, 7, 4, 4, 1, 1]


# The baseline: the bare shape of a set-based rescore (read every activity of the leads, aggregate, write one row
# per lead), with no agreement behind it. It writes only this bench's own database; the rescore rounds rewrite the same rows.
BARE_RESCORE = """
UPDATE leads_lead AS l SET score = LEAST(a.recent * 5, 100), last_activity_at = a.latest
FROM (
    SELECT lead_id, COUNT(*) FILTER (WHERE occurred_at > %(now)s - INTERVAL '90 days') AS recent,
           MAX(occurred_at) AS latest
    FROM leads_activity WHERE lead_id > %(after)s AND occurred_at <= %(now)s GROUP BY lead_id
) AS a
WHERE l.id = a.lead_id
"""


def lead_row(rng: random.Random, pk: int) -> dict[str, Any]:
    attributes = {"plan": rng.choice(["free", "pro", "enterprise"])} if rng.random() < 0.3 else {}
    return {
        "id": pk,
        "email": f"lead{pk}@{rng.choice(DOMAINS)}" if rng.random() < 0.95 else "",
        "first_name": "First",
        "last_name": f"Last{pk}",
        "company": f"Company {pk % 5000}",
        "job_title": "Analyst",
        "seniority": rng.choice(SENIORITY),
        "industry": rng.choice(INDUSTRY),
        "employees": rng.choice(EMPLOYEES),
        "country": rng.choice(["GB", "US", "DE", "FR"]),
        "source": rng.choice(["Google", "Direct Traffic", "Organic Search", "Reference"]),
        "attributes": json.dumps(attributes),
        "created_at": NOW,
        "updated_at": NOW,
    }


def activity_rows(rng: random.Random, lead_id: int, count: int) -> list[list[Any]]:
    rows = []
    dormant = rng.random() < 0.05  # went silent for 6+ months, then came back this week
    for _ in range(count):
        kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
        properties: dict[str, Any] = {}
        if kind == "page":
            properties["path"] = rng.choice(PAGES)
        elif kind == "download":
            properties["asset"] = rng.choice(ASSETS)
        age = timedelta(
            seconds=rng.randrange(200 * 86400, 400 * 86400) if dormant else rng.randrange(0, 200 * 86400)
        )
        rows.append([lead_id, kind, json.dumps(properties), NOW - age, NOW, "bench"])
    if dormant:
        rows.append(
            [lead_id, "page", json.dumps({"path": "/pricing"}), NOW - timedelta(days=2), NOW, "bench"]
        )
    return rows


def copy_leads(count: int, activities: int, rng: random.Random, *, exact: bool = False) -> int:
    """COPY `count` leads and about (`exact`: exactly) `activities` activities each; other NOT NULL lead columns
    get their default."""
    from django.db import connection

    from leads.models import Lead

    fields = [field for field in Lead._meta.concrete_fields if not field.null]
    sample = lead_row(rng, 0)
    defaults = {field.column: _default(field) for field in fields if field.column not in sample}
    columns = [*sample, *defaults]
    written = 0
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE leads_lead, leads_activity RESTART IDENTITY CASCADE")
        raw = cursor.connection.cursor()
        with raw.copy(f"COPY leads_lead ({', '.join(columns)}) FROM STDIN") as copy:
            for pk in range(1, count + 1):
                copy.write_row([*lead_row(rng, pk).values(), *defaults.values()])
        activity_columns = "lead_id, type, properties, occurred_at, received_at, source"
        with raw.copy(f"COPY leads_activity ({activity_columns}) FROM STDIN") as copy:
            for pk in range(1, count + 1):
                for row in activity_rows(rng, pk, activities if exact else rng.randint(0, 2 * activities)):
                    copy.write_row(row)
                    written += 1
        cursor.execute("SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), %s)", [count])
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("ANALYZE leads_activity")
    return written


def _default(field: Any) -> Any:
    value = field.get_default()
    return json.dumps(value) if isinstance(value, dict | list) else value


def main() -> None:
    version = setup_with_demo_users("bench_rescore", "alignment_bench_crit")
    from django.db import connection, transaction

    from alignment import outbox
    from leads import services
    from leads.models import Activity, Lead, RescoreJob

    rng = random.Random(7)
    if Lead.objects.count() != LEADS:
        started = time.perf_counter()
        written = copy_leads(LEADS, 10, rng)
        print(f"generated {LEADS:,} leads, {written:,} activities in {time.perf_counter() - started:.1f} s")
    outbox._enqueue = lambda ids: None  # nothing is delivered from a bench
    print(
        f"data: {LEADS:,} leads, {Activity.objects.count():,} activities (PostgreSQL {connection.pg_version // 10000});"
        f" the rescore is timed over the last {TIMED:,}"
    )
    last = Lead.objects.order_by("-pk").values_list("pk", flat=True).first()
    cursor = last - TIMED

    def rescore() -> None:  # at the data's own instant, NOW, as every figure here
        with connection.cursor() as sql:  # a new version's activation: no lead has a state kept for it
            sql.execute("TRUNCATE leads_scoringstate")
        job = RescoreJob.objects.create(agreement=version, reason="bench", total=TIMED, created_at=NOW,
                                        heartbeat_at=NOW, status="queued", cursor=cursor)  # fmt: skip
        job = services.rescore_job_run(job_id=job.pk, now_func=lambda: NOW)
        assert job.status == "done" and job.done >= TIMED * 0.9, (job.status, job.done, job.error)

    def bare() -> None:
        with transaction.atomic(), connection.cursor() as sql:
            sql.execute(BARE_RESCORE, {"now": NOW, "after": cursor})

    started = time.perf_counter()
    rescore()  # the first pass after generation hands leads over; the timed ones rescore as a re-activation
    print(
        f"first pass, untimed (hands leads over only on freshly generated data): {TIMED / (time.perf_counter() - started):,.0f} leads/s"
    )
    timing = interleaved({"rescore": rescore, "bare": bare}, repeats=REPEATS, warmup=0)
    open_timed = services.Lead.objects.open().filter(pk__gt=cursor).count()
    rate = open_timed / timing["rescore"].p50
    bare_rate = TIMED / timing["bare"].p50
    record("rescore after activation", rate, "leads/s", baseline=bare_rate,
           baseline_name="bare SQL UPDATE ... FROM of the same leads (activity counts aggregated, no criteria)",
           goal=">= 16,667 leads/s (1M in < 60 s)", lower_is_better=False,
           notes={"leads": LEADS, "timed_leads": open_timed, "chunk": services.RESCORE_CHUNK})  # fmt: skip
    record("rescore of 1M leads, projected", 1_000_000 / rate, "s", baseline=1_000_000 / bare_rate,
           baseline_name="bare SQL UPDATE of 1M leads, projected", goal="< 60 s")  # fmt: skip


if __name__ == "__main__":
    main()
