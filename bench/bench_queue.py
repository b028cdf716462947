"""Queue page and SLA breach scan at scale, on PostgreSQL.

    python bench/bench_queue.py [--leads 100000] [--scan-leads 1000000]

Generates its own data (COPY into a dedicated database, `alignment_bench_queue` by default; set DATABASE_URL to
use another), then prints:
- the queue page's server time and SQL query count with 100k open leads, beside the bare SQL query behind it;
- the breach scan's time over 1M open leads (1,000 of them overdue), beside a bare indexed count of the due rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alignment_bench_queue")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")


def ensure_database() -> None:
    import psycopg
    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def copy_leads(count: int, *, start_pk: int, now: datetime, overdue: int = 0, rng: random.Random) -> None:
    """COPY `count` open MQLs; `overdue` of them have a deadline already passed."""
    from django.db import connection

    columns = [
        "id", "email", "first_name", "last_name", "company", "job_title", "seniority", "department", "industry",
        "employees", "country", "source", "campaign", "attributes", "state", "tier", "score", "fit_score",
        "engagement_score", "breakdown", "rescore_at", "mql_at", "handoff_reason", "claim_due_at",
        "first_contact_due_at", "accept_due_at", "outcome_due_at", "sla_clock", "sla_due_at", "next_sla_check_at",
        "created_at", "updated_at",
    ]  # fmt: skip
    breakdown = json.dumps({"breakdown": [{"rule_id": "e1", "kind": "engagement", "name": "Pricing page view",
                                           "points": 15, "count": 1, "evidence": [{"activity_id": 1, "type": "page",
                                           "occurred_at": now.isoformat(), "detail": "/pricing"}]}],
                            "triggers": [], "aged_out": [], "failed_gates": []})  # fmt: skip
    sources = ["Google", "Direct Traffic", "Olark Chat", "Organic Search", "Reference"]
    with connection.cursor() as cursor:
        with cursor.connection.cursor().copy(f"COPY leads_lead ({', '.join(columns)}) FROM STDIN") as copy:
            for n in range(count):
                pk = start_pk + n
                hot = rng.random() < 0.1
                due = (
                    now - timedelta(minutes=rng.randint(1, 600))
                    if n < overdue
                    else now + timedelta(minutes=rng.randint(5, 60 * 24 * 5))
                )
                copy.write_row([
                    pk, f"lead{pk}@example.com", "First", f"Last{pk}", f"Company {pk % 5000}", "Analyst", "", "",
                    "software", rng.randint(5, 5000), "United Kingdom", rng.choice(sources), "", "{}", "mql",
                    "hot" if hot else "warm", rng.randint(0, 120), 20, 30, breakdown, None, now, "score 50",
                    due, due + timedelta(minutes=10), due + timedelta(hours=4), due + timedelta(days=30), "claim",
                    due, due, now, now,
                ])  # fmt: skip
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), (SELECT max(id) FROM leads_lead))"
        )
        cursor.execute("ANALYZE leads_lead")


def timed(fn, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--scan-leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    import django

    django.setup()
    ensure_database()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from alignment.demo import ensure_demo_users
    from leads.models import Lead
    from leads.queue import sla_breaches_scan
    from sla.models import AgreementVersion
    from sla.services import agreement_ensure_starter

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_lead, leads_slabreach, leads_activity, leads_leadevent, leads_leadidentity CASCADE"
        )
    ensure_demo_users()
    from django.contrib.auth import get_user_model

    User = get_user_model()
    now = timezone.now()
    if not AgreementVersion.objects.active():
        agreement_ensure_starter(marketing_manager=User.objects.get(username="marketingmanager"),
                                 sales_manager=User.objects.get(username="salesmanager"), now=now)  # fmt: skip
    rng = random.Random(7)
    print(f"queue: {args.leads:,} open leads (PostgreSQL {connection.pg_version // 10000})")
    started = time.perf_counter()
    copy_leads(args.leads, start_pk=1, now=now, rng=rng)
    print(f"  generated in {time.perf_counter() - started:.1f} s")

    client = Client()
    client.force_login(User.objects.get(username="rep"))
    client.get("/leads/queue/")  # warm up
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/leads/queue/")
    assert response.status_code == 200, response.status_code
    page_time, _ = timed(lambda: client.get("/leads/queue/"), args.repeat)
    filtered_time, _ = timed(lambda: client.get("/leads/queue/?tier=hot&source=Google"), args.repeat)

    def bare() -> list:
        return list(
            Lead.objects.in_queue().by_priority().values_list("pk", "last_name", "score", "sla_due_at")[:25]
        ) + [Lead.objects.in_queue().count()]

    bare_time, _ = timed(bare, args.repeat)
    print(
        f"  queue page: {page_time * 1000:.1f} ms server time (median of {args.repeat}), {len(queries)} SQL queries"
    )
    print(f"  filtered (hot, Google): {filtered_time * 1000:.1f} ms")
    print(f"  baseline, the bare SQL behind it (first page + count): {bare_time * 1000:.1f} ms")
    print(f"  ratio: {page_time / bare_time:.1f}x the bare query")

    extra = args.scan_leads - args.leads
    print(f"breach scan: {args.scan_leads:,} open leads, 1,000 overdue")
    started = time.perf_counter()
    copy_leads(extra, start_pk=args.leads + 1, now=now, overdue=1000, rng=rng)
    Lead.objects.filter(pk__lte=args.leads).update(next_sla_check_at=now + timedelta(days=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    print(f"  generated in {time.perf_counter() - started:.1f} s")

    def bare_due() -> int:
        return Lead.objects.filter(next_sla_check_at__lte=now).count()

    due_time, due = timed(bare_due, 5)
    started = time.perf_counter()
    result = sla_breaches_scan(now=now)
    scan_time = time.perf_counter() - started
    again_started = time.perf_counter()
    again = sla_breaches_scan(now=now)
    again_time = time.perf_counter() - again_started
    print(
        f"  scan: {scan_time * 1000:.0f} ms for {len(result.breaches):,} breaches ({result.checked:,} leads read)"
    )
    print(f"  second scan (nothing new): {again_time * 1000:.1f} ms, {len(again.breaches)} breaches")
    print(f"  baseline, bare indexed count of due leads ({due:,}): {due_time * 1000:.1f} ms")
    print(f"  ratio: second scan {again_time / due_time:.1f}x the bare count")


if __name__ == "__main__":
    main()
