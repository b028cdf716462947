"""Activities partitioned by month (leads/partitions.py): what ageing out and reading cost, against the same rows in
an unpartitioned table (the layout before), in the same database and run.

- Ageing out one month: `activities_age_out` (count, DETACH + DROP PARTITION, recorded) against a DELETE of the same
  rows from the plain table (the DELETE alone: the VACUUM it leaves behind is in the notes).
- The lead page's history read (a lead's 100 latest activities) and a scoring worker's read (every activity of 50
  leads), partitioned against plain.

Data: `ensure_leads` leads, and ACTIVITIES activities over the last 12 months (time-ordered, as ingest writes
them) generated in SQL into the plain table, then copied into the partitioned one.

    python bench/bench_partition.py            # or: make bench SCALE=small
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from dataset import django_setup, ensure_leads
from harness import Timing, interleaved, record, scaled

LEADS = scaled(small=20_000, default=1_000_000)
ACTIVITIES = scaled(small=240_000, default=10_000_000)
MONTHS = 12
PLAIN = "bench_activity_plain"
ROUNDS = 3  # months aged out, one per round


def generate(cursor, *, now: datetime, months: list) -> None:
    from leads.partitions import month_add, partitions_cover

    start = datetime(months[0].year, months[0].month, 1, tzinfo=UTC)
    started = time.perf_counter()
    cursor.execute(f"DROP TABLE IF EXISTS {PLAIN}")
    cursor.execute(f"CREATE TABLE {PLAIN} (LIKE leads_activity INCLUDING DEFAULTS)")
    cursor.execute("SELECT setseed(0.7)")
    cursor.execute(
        f"INSERT INTO {PLAIN} (id, lead_id, type, properties, occurred_at, received_at, source, message_id) "
        "SELECT g, 1 + floor(random() * %(leads)s)::bigint, (ARRAY['page', 'email_open', 'form_submit', "
        "'content_download'])[1 + g %% 4], jsonb_build_object('path', '/pricing/' || g %% 50), "
        "%(start)s + (%(now)s - %(start)s) * (g::float8 / %(total)s), "
        "%(start)s + (%(now)s - %(start)s) * (g::float8 / %(total)s), 'bench', NULL "
        "FROM generate_series(1, %(total)s) g",
        {"leads": LEADS, "start": start, "now": now, "total": ACTIVITIES},
    )
    # the indexes the table had before it was partitioned
    cursor.execute(f"ALTER TABLE {PLAIN} ADD PRIMARY KEY (id)")
    cursor.execute(f"CREATE INDEX {PLAIN}_lead ON {PLAIN} (lead_id)")
    cursor.execute(f"CREATE INDEX {PLAIN}_lead_at ON {PLAIN} (lead_id, occurred_at DESC)")
    cursor.execute("TRUNCATE leads_activity")
    partitions_cover(months[0], month_add(months[-1], 3))
    # load the bare partitions, then build the secondary indexes once (as dataset.py does for leads)
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = 'leads_activity'::regclass AND NOT x.indisprimary"
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    # the rows are the plain table's, whose lead ids exist: no foreign-key check per row (superuser only)
    cursor.execute("SET session_replication_role = replica")
    cursor.execute(f"INSERT INTO leads_activity SELECT * FROM {PLAIN}")
    cursor.execute("RESET session_replication_role")
    for _name, definition in indexes:
        cursor.execute(definition.replace(" ON ONLY ", " ON "))
    cursor.execute(f"VACUUM ANALYZE {PLAIN}")
    cursor.execute("VACUUM ANALYZE leads_activity")
    print(
        f"  generated {ACTIVITIES:,} activities, twice, in {time.perf_counter() - started:.1f} s", flush=True
    )


def main() -> None:
    django_setup("alignment_bench_partition")
    ensure_leads(total=LEADS, open_=LEADS // 10)
    from django.db import connection, transaction

    from leads.partitions import activities_age_out, month_add, month_of, partitions_list

    now = datetime.now(UTC)
    months = [month_add(month_of(now), n) for n in range(-(MONTHS - 1), 1)]
    with connection.cursor() as cursor:
        generate(cursor, now=now, months=months)
    rng = random.Random(7)

    # Reads: the lead page's history and a scoring worker's batch, partitioned against plain.
    page_leads = [rng.randint(1, LEADS) for _ in range(200)]
    batches = [[rng.randint(1, LEADS) for _ in range(50)] for _ in range(20)]

    def history(table: str):
        sql = f"SELECT id, type, properties, occurred_at FROM {table} WHERE lead_id = %s ORDER BY occurred_at DESC LIMIT 100"

        def run() -> None:
            with connection.cursor() as cursor:
                for lead_id in page_leads:
                    cursor.execute(sql, [lead_id])
                    cursor.fetchall()

        return run

    def scoring(table: str):
        sql = f"SELECT lead_id, id, type, occurred_at, properties::text FROM {table} WHERE lead_id = ANY(%s)"

        def run() -> None:
            with connection.cursor() as cursor:
                for ids in batches:
                    cursor.execute(sql, [ids])
                    cursor.fetchall()

        return run

    reads = interleaved(
        {
            "history": history("leads_activity"),
            "history plain": history(PLAIN),
            "scoring": scoring("leads_activity"),
            "scoring plain": scoring(PLAIN),
        },
        repeats=7,
    )
    partitions = len(partitions_list())
    record(
        "lead history read (100 latest), partitioned",
        reads["history"].p50 / len(page_leads) * 1000,
        "ms",
        baseline=reads["history plain"].p50 / len(page_leads) * 1000,
        baseline_name="the same read on the unpartitioned table",
        notes={"activities": ACTIVITIES, "partitions": partitions},
    )
    record(
        "scoring read (50 leads' whole history), partitioned",
        reads["scoring"].p50 / len(batches) * 1000,
        "ms",
        baseline=reads["scoring plain"].p50 / len(batches) * 1000,
        baseline_name="the same read on the unpartitioned table",
        notes={"activities": ACTIVITIES, "partitions": partitions},
    )

    # Ageing out: one month per round, the oldest first, each way.
    drops, deletes, vacuums, rows = [], [], [], []
    for round_ in range(ROUNDS):
        month, following = months[round_], months[round_ + 1]
        start = time.perf_counter()
        with transaction.atomic():
            dropped = activities_age_out(now=now, keep_months=MONTHS - 2 - round_)
        drops.append(time.perf_counter() - start)
        assert [d.month for d in dropped] == [month], dropped
        rows.append(dropped[0].rows)
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {PLAIN} WHERE occurred_at >= %s AND occurred_at < %s", [month, following]
            )
            assert cursor.rowcount == dropped[0].rows, (cursor.rowcount, dropped[0].rows)
        deletes.append(time.perf_counter() - start)
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {PLAIN}")
        vacuums.append(time.perf_counter() - start)
    drop, delete, vacuum = Timing(drops), Timing(deletes), Timing(vacuums)
    record(
        "age out one month of activity (DETACH + DROP PARTITION)",
        drop.p50 * 1000,
        "ms",
        baseline=delete.p50 * 1000,
        baseline_name="DELETE of the same rows from the unpartitioned table",
        notes={"rows per month": rows, "VACUUM after the DELETE ms (p50)": round(vacuum.p50 * 1000, 1)},
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {PLAIN}")


if __name__ == "__main__":
    main()
