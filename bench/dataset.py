"""The data every benchmark reads: leads (and optionally activities) generated with COPY into PostgreSQL.

    from dataset import django_setup, ensure_leads

    django_setup("alignment_bench_queue")      # DATABASE_URL wins when set; the database is created and migrated
    info = ensure_leads(total=scaled(small=20_000, default=1_000_000), open_=scaled(small=2_000, default=100_000))

A dataset is generated once per database and reused by later runs while its shape is the same (the shape is kept
in a one-row table, `bench_dataset`). Open leads sit in the queue (mql/sal/sql, 10% hot, some owned, a few late);
the rest are new, recycled or closed. Every column a user can sort by has realistic spread.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SOURCES = [
    "Google",
    "Direct Traffic",
    "Olark Chat",
    "Organic Search",
    "Reference",
    "Welingak Website",
    "Facebook",
]
CAMPAIGNS = ["", "spring-webinar", "pricing-retarget", "partner-q3", "newsletter"]
LAST_NAMES = [
    "Sato",
    "Suzuki",
    "Smith",
    "Jones",
    "Garcia",
    "Müller",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Nakamura",
]
FIRST_NAMES = ["Ada", "Grace", "Linus", "Yuki", "Hana", "Omar", "Lena", "Raj", "Ines", "Tom"]
CLOSED = ["new", "new", "new", "recycled", "won", "lost", "disqualified"]


def bench_database_url(name: str) -> str:
    """The local database a script keeps its data in: `name`, or `name_small` at SCALE=small, so a smoke run never
    replaces the default scale's data (which takes minutes to generate) with its own."""
    from harness import SCALE

    suffix = "_small" if SCALE == "small" and not name.endswith("_small") else ""
    return f"postgres://postgres@127.0.0.1:5432/{name}{suffix}"


def django_setup(default_db: str) -> str:
    """Point Django at DATABASE_URL (default: a dedicated local database), create it if needed and migrate."""
    url = os.environ.setdefault("DATABASE_URL", bench_database_url(default_db))
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"benchmarks need PostgreSQL: DATABASE_URL is {url!r}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
    # Production settings (DEBUG off: no query log growing in memory, cached templates); `make` exports DEBUG on
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret-" + "x" * 40)
    os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")  # the test client speaks plain HTTP
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    name = create_database(url)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # no collectstatic for a benchmark: static URLs unhashed (the manifest storage would refuse them)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    call_command("migrate", verbosity=0)
    return name


def create_database(url: str | None = None) -> str:
    """Create the PostgreSQL database `url` (default: DATABASE_URL) names unless it exists; its name."""
    import psycopg

    parts = urlsplit(url or os.environ["DATABASE_URL"])
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return name


def setup_with_demo_users(bench: str, default_db: str) -> Any:
    """Django on DATABASE_URL (default: `default_db`; PostgreSQL only; created if missing, migrated), the demo
    users, and the active agreement (the starter one, signed by the demo managers, when none is active)."""
    os.environ.setdefault("DATABASE_URL", bench_database_url(default_db))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
    os.environ.setdefault(
        "DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-any-site-0123456789abcdefghijkl"
    )
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "localhost")
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django

    if not os.environ["DATABASE_URL"].startswith("postgres"):
        sys.exit(f"{bench} needs PostgreSQL: DATABASE_URL is {os.environ['DATABASE_URL']!r}")
    django.setup()
    create_database()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from alignment.demo import ensure_demo_users
    from sla.models import AgreementVersion
    from sla.services import agreement_ensure_starter

    call_command("migrate", verbosity=0)
    ensure_demo_users()
    users = get_user_model().objects
    return AgreementVersion.objects.active() or agreement_ensure_starter(
        marketing_manager=users.get(username="marketingmanager"),
        sales_manager=users.get(username="salesmanager"),
        now=timezone.now(),
    )


def empty_with_bench_managers(tables: str) -> dict[Any, Any]:
    """Migrate, TRUNCATE `tables` (restarting their ids), and sign the starter agreement by two bench managers;
    those users by role."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from alignment.roles import Role
    from sla.services import agreement_ensure_starter

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
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
    return users


def _lead_columns() -> list[Any]:
    from leads.models import Lead

    return list(Lead._meta.concrete_fields)


def _default(field: Any) -> Any:
    if field.null:
        return None
    if field.has_default():
        value = field.get_default()
        return json.dumps(value) if isinstance(value, dict | list) else value
    return ""


def ensure_leads(*, total: int, open_: int, seed: int = 7) -> dict[str, Any]:
    """`total` leads, `open_` of them in the queue; generated with COPY unless the database already holds them."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from alignment.demo import ensure_demo_users
    from alignment.roles import Role

    shape = {"leads": total, "open": open_, "seed": seed, "version": 1}
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_dataset (shape jsonb, made_at timestamptz)")
        cursor.execute("SELECT shape, made_at FROM bench_dataset")
        row = cursor.fetchone()
        stored = json.loads(row[0]) if row and isinstance(row[0], str) else row[0] if row else None
        if stored == shape:  # Django reads jsonb as text
            return {**shape, "generated_seconds": 0.0, "now": row[1]}
    ensure_demo_users()
    reps = list(get_user_model().objects.filter(groups__name=Role.REP.value).values_list("pk", flat=True))
    started = time.perf_counter()
    now = timezone.now()
    rng = random.Random(seed)
    fields = _lead_columns()
    names = [field.column for field in fields]
    defaults = {field.column: _default(field) for field in fields}
    breakdown = json.dumps({"breakdown": [{"rule_id": "e1", "kind": "engagement", "name": "Pricing page view",
                                           "points": 15, "count": 1, "evidence": [{"activity_id": 1, "type": "page",
                                           "occurred_at": now.isoformat(), "detail": "/pricing"}]}],
                            "triggers": [], "aged_out": [], "failed_gates": []})  # fmt: skip
    # open leads are spread through the id range, as real hand-overs are
    open_ids = set(rng.sample(range(1, total + 1), open_))
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE leads_lead, leads_slabreach, leads_activity, leads_leadevent, leads_leadidentity CASCADE"
        )
        # COPY into the bare table, then build the indexes once (much faster than maintaining them row by row)
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'leads_lead' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = 'leads_lead'::regclass)"
        )
        indexes = cursor.fetchall()
        for index_name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{index_name}"')
        with cursor.connection.cursor().copy(f"COPY leads_lead ({', '.join(names)}) FROM STDIN") as copy:
            for pk in range(1, total + 1):
                row = dict(defaults)
                created = now - timedelta(minutes=rng.randint(10, 60 * 24 * 400))
                updated = created + timedelta(minutes=rng.randint(0, 60 * 24 * 30))
                row.update(
                    id=pk, email=f"lead{pk}@example.com", first_name=rng.choice(FIRST_NAMES),
                    last_name=f"{rng.choice(LAST_NAMES)}{pk % 997}", company=f"Company {pk % 5000}",
                    job_title="Analyst", industry="software", employees=rng.randint(5, 5000),
                    country="United Kingdom", source=rng.choice(SOURCES), campaign=rng.choice(CAMPAIGNS),
                    score=rng.randint(-20, 130), fit_score=20, engagement_score=30, created_at=created,
                    updated_at=min(updated, now),
                )  # fmt: skip
                if pk in open_ids:
                    roll = rng.random()
                    if roll < 0.03:  # late by more than a day: the Overdue tab
                        due = now - timedelta(hours=rng.randint(25, 24 * 20))
                    elif roll < 0.05:  # just late
                        due = now - timedelta(minutes=rng.randint(1, 60 * 23))
                    else:
                        due = now + timedelta(minutes=rng.randint(5, 60 * 24 * 5))
                    state = rng.choices(["mql", "sal", "sql"], [80, 15, 5])[0]
                    owned = state != "mql" or rng.random() < 0.2
                    row.update(
                        state=state, tier="hot" if rng.random() < 0.1 else "warm", breakdown=breakdown,
                        mql_at=due - timedelta(hours=4), handoff_reason="score 50", sla_clock="claim",
                        claim_due_at=due, first_contact_due_at=due + timedelta(minutes=10),
                        accept_due_at=due + timedelta(hours=4), outcome_due_at=due + timedelta(days=30),
                        sla_due_at=due, next_sla_check_at=due, owner_id=rng.choice(reps) if owned else None,
                    )  # fmt: skip
                else:
                    row["state"] = rng.choice(CLOSED)
                copy.write_row([row[name] for name in names])
        for _index_name, definition in indexes:
            cursor.execute(definition)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), (SELECT max(id) FROM leads_lead))"
        )
        cursor.execute("VACUUM ANALYZE leads_lead")
        cursor.execute("DELETE FROM bench_dataset")
        cursor.execute("INSERT INTO bench_dataset VALUES (%s, %s)", [json.dumps(shape), now])
    seconds = time.perf_counter() - started
    print(f"  generated {total:,} leads ({open_:,} open) with COPY in {seconds:.1f} s", flush=True)
    return {**shape, "generated_seconds": seconds, "now": now}
