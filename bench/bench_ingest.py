"""How fast events go in through the Segment-compatible API: POST /v1/batch, 100 messages a batch, on PostgreSQL.

Run: python bench/bench_ingest.py [--batches 50] [--size 100] [--people 1000] [--seed 7]
Uses DATABASE_URL (PostgreSQL only; default postgres://postgres@127.0.0.1:5432/alignment_bench, created and
migrated if missing; the bench empties its lead tables first). Each batch goes through the whole stack in-process
(django.test.Client with a write key: auth, parsing, identity resolution, one transaction, rescoring against the
starter agreement). The baseline is a raw `COPY` of the same activity rows into leads_activity (psycopg 3
cursor.copy), so the ratio says what the API costs per event over the fastest way PostgreSQL can take the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/alignment_bench"

PATHS = ("/", "/pricing", "/pricing/enterprise", "/blog/a", "/blog/b", "/product", "/careers", "/docs/start")
EVENTS = ("Email Opened", "Email Link Clicked", "Asset Downloaded", "Webinar Attended", "Form Submitted",
          "Demo Requested", "Pricing Calculator Used")  # fmt: skip
EVENT_WEIGHTS = (30, 15, 15, 10, 10, 3, 17)


def ensure_database(url: str) -> None:
    """Create the bench database if it does not exist (connecting to the server's `postgres` database)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
                print(f"created database {name}")
    except psycopg.OperationalError as error:
        sys.exit(
            f"bench_ingest needs PostgreSQL; cannot reach {parts.hostname}:{parts.port or 5432}: {error}"
        )


def setup() -> None:
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"bench_ingest needs PostgreSQL: DATABASE_URL is {url!r}")
    ensure_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False  # no query log
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # hot-lead mails stay in memory
    call_command("migrate", verbosity=0)


def reset_and_prepare() -> str:
    """Empty the lead tables, make sure the starter agreement is active, and return a fresh write key."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from alignment.roles import Role
    from leads.services import write_key_create
    from sla.services import agreement_ensure_starter

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_activity, leads_leadidentity, leads_leadevent, leads_lead, leads_writekey "
            "RESTART IDENTITY CASCADE"
        )
    users = {}
    for role, username in ((Role.MARKETING_MANAGER, "bench-marketing"), (Role.SALES_MANAGER, "bench-sales")):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        users[role] = user
    agreement_ensure_starter(
        marketing_manager=users[Role.MARKETING_MANAGER],
        sales_manager=users[Role.SALES_MANAGER],
        now=timezone.now(),
    )
    return write_key_create(name="bench", now=timezone.now())[1]


def make_batches(rng: random.Random, *, batches: int, size: int, people: int, now: datetime) -> list[dict]:
    """Realistic traffic: most messages are page views and events of known people, a few identify calls."""
    out = []
    serial = 0
    for _ in range(batches):
        messages = []
        for _ in range(size):
            serial += 1
            person = rng.randrange(people)
            at = (now - timedelta(seconds=rng.randrange(0, 7 * 86400))).isoformat()
            ids: dict[str, Any] = (
                {"userId": f"user-{person}"} if rng.random() < 0.7 else {"anonymousId": f"anon-{person}"}
            )
            kind = rng.choices(("page", "track", "identify"), (60, 30, 10))[0]
            message: dict[str, Any] = {"type": kind, "messageId": f"bench-{serial}", "timestamp": at, **ids}
            if kind == "page":
                message["properties"] = {"path": rng.choice(PATHS), "title": "A page"}
            elif kind == "track":
                message["event"] = rng.choices(EVENTS, EVENT_WEIGHTS)[0]
                message["properties"] = {"asset": "case study.pdf"}
            else:
                message.update(userId=f"user-{person}", anonymousId=f"anon-{person}")
                message["traits"] = {
                    "email": f"person{person}@company{person % 97}.example",
                    "firstName": "Pat", "title": rng.choice(("VP Sales", "Engineer", "Head of Marketing")),
                    "company": {"name": f"Company {person % 97}", "employee_count": rng.choice((5, 50, 500))},
                    "industry": rng.choice(("software", "retail")),
                }  # fmt: skip
            messages.append(message)
        out.append({"batch": messages, "sentAt": now.isoformat()})
    return out


def post_batches(client: Any, key: str, batches: list[dict]) -> float:
    import base64

    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    bodies = [json.dumps(batch) for batch in batches]
    start = time.perf_counter()
    for body in bodies:
        response = client.post("/v1/batch", data=body, content_type="application/json", headers=auth)
        if response.status_code != 200:
            sys.exit(f"POST /v1/batch answered {response.status_code}: {response.content[:300]!r}")
    return time.perf_counter() - start


def copy_rows(batches: list[dict], now: datetime) -> tuple[int, float]:
    """COPY the same activity rows (new message ids) onto existing leads: the fastest path into the table."""
    from django.db import connection

    from leads.models import Lead

    lead_ids = list(Lead.objects.values_list("pk", flat=True))
    rows = []
    for number, message in enumerate(
        m for batch in batches for m in batch["batch"] if m["type"] != "identify"
    ):
        kind = "page" if message["type"] == "page" else message["event"].lower().replace(" ", "_")
        rows.append(
            (lead_ids[number % len(lead_ids)], kind, json.dumps(message.get("properties", {})),
             message["timestamp"], now, "copy", f"copy-{message['messageId']}")
        )  # fmt: skip
    connection.ensure_connection()
    raw = connection.connection
    start = time.perf_counter()
    with raw.transaction(), raw.cursor() as cursor:
        columns = "lead_id, type, properties, occurred_at, received_at, source, message_id"
        with cursor.copy(f"COPY leads_activity ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    setup()
    from django.test import Client

    from leads.models import Activity, Lead

    key = reset_and_prepare()
    now = datetime.now(UTC)
    rng = random.Random(args.seed)
    warmup = make_batches(rng, batches=3, size=args.size, people=args.people, now=now)
    batches = make_batches(rng, batches=args.batches, size=args.size, people=args.people, now=now)
    client = Client()
    post_batches(client, key, warmup)  # first requests pay for imports and compiled rules
    seconds = post_batches(client, key, batches)
    messages = args.batches * args.size
    stored = Activity.objects.filter(source="api").count()
    leads = Lead.objects.count()
    mqls = Lead.objects.filter(state="mql").count()
    resent = post_batches(client, key, batches[:5])  # a retry of already stored batches: all duplicates
    if Activity.objects.filter(source="api").count() != stored:
        sys.exit("a resent batch was stored twice")
    copied, copy_seconds = copy_rows(batches, now)

    api_rate = messages / seconds
    copy_rate = copied / copy_seconds
    print(f"data:     {args.batches} batches x {args.size} messages, {args.people} people (seed {args.seed})")
    print(
        f"ingest:   {api_rate:,.0f} events/s through POST /v1/batch ({seconds / args.batches * 1000:,.1f} ms per batch)"
    )
    print(f"          -> {stored:,} activities on {leads:,} leads ({mqls} MQLs); "
          f"a resent batch takes {resent / 5 * 1000:,.1f} ms and stores nothing")  # fmt: skip
    print(f"baseline: {copy_rate:,.0f} rows/s by raw COPY into leads_activity ({copied:,} rows)")
    print(f"ratio:    the API takes {copy_rate / api_rate:,.1f}x the time of a raw COPY per event")


if __name__ == "__main__":
    main()
