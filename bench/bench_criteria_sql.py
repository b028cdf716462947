"""MQL criteria judged by PostgreSQL (leads.scoring.criteria_sql.count_mqls) against the Python evaluator.

    python bench/bench_criteria_sql.py [--leads 200000] [--activities 10] [--sample 10000] [--fresh]

Uses its own database, `alignment_bench_crit` (created if missing and migrated; set DATABASE_URL to use another
PostgreSQL database). Generates the leads and ~`--activities` activities each with COPY, unless the database
already holds that many leads from an earlier run (`--fresh` regenerates). Then, with the starter agreement:
- SQL: `count_mqls` over every lead, one query (best of `--repeats`);
- Python: what leads_rescore does per lead — read the lead and its activities, `evaluate()` — over a random
  sample, extrapolated to all leads (the bare `evaluate()` time is shown too);
and prints leads/s for both, the ratio, and that both give the same counts on the sample.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alignment_bench_crit")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")

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


def ensure_database() -> None:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


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


def copy_leads(count: int, activities: int, rng: random.Random) -> int:
    """COPY `count` leads and about `activities` activities each; other NOT NULL lead columns get their default."""
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
                for row in activity_rows(rng, pk, rng.randint(0, 2 * activities)):
                    copy.write_row(row)
                    written += 1
        cursor.execute("SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), %s)", [count])
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("ANALYZE leads_activity")
    return written


def _default(field: Any) -> Any:
    value = field.get_default()
    return json.dumps(value) if isinstance(value, dict | list) else value


def timed(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Best of `repeats` runs, in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--activities", type=int, default=10, help="average activities per lead")
    parser.add_argument("--sample", type=int, default=10_000, help="leads the Python evaluator scores")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="regenerate the data even if it is there")
    args = parser.parse_args()

    import django

    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit(f"bench_criteria_sql needs PostgreSQL: DATABASE_URL is {os.environ['DATABASE_URL']!r}")
    django.setup()
    ensure_database()
    from django.core.management import call_command
    from django.db import connection

    from leads.models import Activity, Lead
    from leads.scoring import attributes_of, facts_for
    from leads.scoring.criteria_sql import count_mqls
    from sla.content import STARTER_MQL
    from sla.criteria import MqlCriteria, evaluate

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    criteria = MqlCriteria.from_dict(STARTER_MQL)
    if args.fresh or Lead.objects.count() != args.leads:
        started = time.perf_counter()
        written = copy_leads(args.leads, args.activities, rng)
        print(
            f"generated {args.leads:,} leads, {written:,} activities in {time.perf_counter() - started:.1f} s"
        )
    activities = Activity.objects.count()
    print(
        f"data: {args.leads:,} leads, {activities:,} activities (PostgreSQL {connection.pg_version // 10000}); "
        f"starter agreement: {len(criteria.fit_rules)} fit, {len(criteria.engagement_rules)} engagement rules, "
        f"{len(criteria.gates)} gates, {len(criteria.triggers)} triggers"
    )

    everyone = Lead.objects.all()
    sql_seconds, counts = timed(lambda: count_mqls(everyone, criteria=criteria, now=NOW), args.repeats)
    sql_rate = counts["leads"] / sql_seconds
    print(
        f"SQL:    count_mqls over {counts['leads']:,} leads in {sql_seconds:.2f} s (best of {args.repeats}): "
        f"{sql_rate:,.0f} leads/s -> {counts['mqls']:,} MQLs ({counts['hot']:,} hot, {counts['warm']:,} warm)"
    )

    sample_ids = sorted(rng.sample(range(1, args.leads + 1), min(args.sample, args.leads)))
    timings: dict[str, float] = {}

    def python() -> list[str]:
        started = time.perf_counter()
        leads = list(Lead.objects.filter(pk__in=sample_ids))
        facts = facts_for(sample_ids)
        loaded = time.perf_counter()
        tiers = [
            evaluate(criteria, attributes_of(lead), facts.get(lead.pk, []), NOW).tier.value for lead in leads
        ]
        timings["evaluate"] = time.perf_counter() - loaded
        timings["load"] = loaded - started
        return tiers

    python_seconds, tiers = timed(python, args.repeats)
    python_rate = len(sample_ids) / python_seconds
    print(
        f"Python: {len(sample_ids):,} sampled leads read and evaluated in {python_seconds:.2f} s: "
        f"{python_rate:,.0f} leads/s (evaluate() alone {len(sample_ids) / timings['evaluate']:,.0f} leads/s), "
        f"so {args.leads / python_rate:.1f} s for all {args.leads:,}"
    )
    print(f"ratio:  SQL {sql_rate / python_rate:.1f}x the Python evaluator's leads/s")
    with connection.cursor() as cursor:  # compiling this large expression is much of the time at this size
        cursor.execute("SET jit = off")
    jitless_seconds, _ = timed(lambda: count_mqls(everyone, criteria=criteria, now=NOW), args.repeats)
    jitless_rate = counts["leads"] / jitless_seconds
    print(
        f"        with jit = off: {jitless_seconds:.2f} s, {jitless_rate:,.0f} leads/s, "
        f"{jitless_rate / python_rate:.1f}x the Python evaluator"
    )

    sample = count_mqls(Lead.objects.filter(pk__in=sample_ids), criteria=criteria, now=NOW)
    expected = {"hot": tiers.count("hot"), "warm": tiers.count("warm")}
    same = (sample["hot"], sample["warm"]) == (expected["hot"], expected["warm"])
    print(f"check:  on the sample SQL says {sample['hot']} hot, {sample['warm']} warm; Python {expected}")
    if not same:
        sys.exit("SQL and Python disagree")


if __name__ == "__main__":
    main()
