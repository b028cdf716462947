"""The read side at scale: the queue, the all-leads list and /api/leads/, each beside its own SQL run bare.

    python bench/bench_queue.py            (or `make bench`; SCALE=small for 20k leads, 2k open)

Default scale: 1M leads, 100k of them open in the queue (generated with COPY into `alignment_bench_pages`, or
`alignment_bench_pages_small` at SCALE=small; set
DATABASE_URL to use another PostgreSQL database). For each page it records p50 and p95 server time (Django's test
client, DEBUG off: middleware, auth, view, template) interleaved with the baseline: *the same SQL statements the page
ran*, executed bare through psycopg, so the ratio is what Django and the templates add on top of the database; and
the web process's own CPU time per page (what a busy, shared machine does not inflate).
Deep pages start from a cursor half-way through their order (keyset paging: no OFFSET).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataset import django_setup, ensure_leads
from harness import interleaved, peak_rss_mb, record, scaled

TOTAL = scaled(small=20_000, default=1_000_000)
OPEN = scaled(small=2_000, default=100_000)
REPEATS = scaled(small=5, default=21)


def main() -> None:
    django_setup("alignment_bench_pages")
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from alignment.paging import encode, keys_for
    from leads.filters import PRIORITY
    from leads.models import Lead

    info = ensure_leads(total=TOTAL, open_=OPEN)
    print(f"  {TOTAL:,} leads, {OPEN:,} open (PostgreSQL {connection.pg_version // 10000})", flush=True)
    client = Client()
    client.force_login(get_user_model().objects.get(username="salesmanager"))
    now = timezone.now()

    def middle(queryset: Any, keys: list[Any], partition: int = 0) -> str:
        """A cursor half-way through this order (found once with OFFSET, outside the timing)."""
        count = queryset.count()
        record_ = queryset.order_by(*(key.order() for key in keys))[count // 2]
        values = []
        for key in keys:
            value: Any = record_
            for part in key.path.split("__"):
                value = getattr(value, part) if value is not None else None
            values.append(value)
        return encode(keys, partition, values)

    queue = Lead.objects.in_queue()
    not_late = queue.filter(sla_due_at__gte=now)
    list_keys = keys_for(Lead, ["-updated_at"])
    api_keys = keys_for(Lead, ["updated_at"])
    pages = {
        "queue page": "/leads/queue/",
        "queue page, deep (half-way)": f"/leads/queue/?after={middle(not_late, PRIORITY)}",
        "queue, Overdue tab": "/leads/queue/?tab=overdue",
        "queue sorted by score": "/leads/queue/?sort=-score",
        "queue filtered (hot, Google)": "/leads/queue/?tier=hot&source=Google",
        "all leads page": "/leads/",
        "all leads, deep (half-way)": f"/leads/?after={middle(Lead.objects.all(), list_keys)}",
        "/api/leads/ first page": "/api/leads/?page_size=50",
        "/api/leads/ deep page (half-way)": f"/api/leads/?page_size=50&cursor={middle(Lead.objects.all(), api_keys)}",
    }

    for name, url in pages.items():
        statements = page_sql(client, connection, url)
        bare_cursor = connection.connection.cursor()  # psycopg's own, no Django in between

        def bare(statements: list[tuple[str, Any]] = statements, cursor: Any = bare_cursor) -> None:
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()

        cpu: list[float] = []

        def page(url: str = url, cpu: list[float] = cpu) -> None:
            started = time.process_time()
            response = client.get(url)
            cpu.append(time.process_time() - started)
            assert response.status_code == 200, (url, response.status_code)

        times = interleaved({"page": page, "bare": bare}, repeats=REPEATS)
        details = {"notes": {"url": url.split("?")[0], "leads": TOTAL, "open": OPEN}}
        record(f"{name} p50", times["page"].p50 * 1000, "ms", baseline=times["bare"].p50 * 1000,
               baseline_name="its own SQL run bare", goal="< 100 ms" if name == "queue page" else "", **details)  # fmt: skip
        record(f"{name} p95", times["page"].p95 * 1000, "ms", baseline=times["bare"].p95 * 1000,
               baseline_name="its own SQL run bare", goal="< 100 ms" if name == "queue page" else "", **details)  # fmt: skip
        # what the web process itself spends (its CPU time): the part a busy machine does not inflate
        record(f"{name}, web process CPU p50", statistics.median(cpu) * 1000, "ms", **details)
        if name in (
            "queue page",
            "queue page, deep (half-way)",
            "all leads page",
            "/api/leads/ deep page (half-way)",
        ):
            record(f"{name} queries", len(statements), "queries", goal="constant at every scale", **details)
    record("bench_queue peak memory", peak_rss_mb(), "MB", goal="flat from SCALE=small to default",
           notes={"generated_seconds": round(info["generated_seconds"], 1)})  # fmt: skip


def page_sql(client: Any, connection: Any, url: str) -> list[tuple[str, Any]]:
    """The SQL statements (with their parameters, as sent) one request to `url` runs."""
    client.get(url)  # caches warm, as in use
    statements: list[tuple[str, Any]] = []

    def keep(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        assert client.get(url).status_code == 200, url
    return statements


if __name__ == "__main__":
    main()
