"""Activities partitioned by month (PostgreSQL declarative partitioning), so a big history stays cheap to age.

`leads_activity` is partitioned by RANGE on `occurred_at`: one partition per UTC month, named
`leads_activity_YYYY_MM`, plus `leads_activity_default`, which catches any instant no month partition covers (an
event far in the past or future is never lost). Beat runs `partitions_maintain` daily: it makes the next months'
partitions ahead of time, gives a month whose rows pile up in the default (a back-dated import) a partition of its own, and, when
ACTIVITY_RETENTION_MONTHS is set, ages out whole old months by DETACH + DROP (no row-by-row DELETE, no bloat,
no vacuum debt), recording each in ActivityMonthDropped.

On SQLite (the embedded default) there are no partitions: ageing out deletes the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from leads.models import Activity, ActivityMonthDropped, ActivityReceipt

TABLE = Activity._meta.db_table
DEFAULT = f"{TABLE}_default"
PARTITION_LOCK_TIMEOUT = "5s"
#: A month gets its own partition once this many of its rows wait in the default partition ...
MOVE_OUT_ROWS = 1000
#: ... unless it is more than this many months old.
OLDEST_MONTHS = 240
_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    name: str
    month: date  # first day of the month it holds (UTC)


def month_of(instant: datetime | date) -> date:
    if isinstance(instant, datetime):
        instant = instant.astimezone(UTC)
    return date(instant.year, instant.month, 1)


def month_add(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_{month:%Y_%m}"


def _bound(month: date) -> str:
    return f"{month:%Y-%m-%d} 00:00:00+00"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def partitions_list() -> list[Partition]:
    """The month partitions, oldest first (the default partition is not a month)."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        match = _BOUND.search(bound or "")
        if match:
            found.append(Partition(name=name, month=month_of(datetime.fromisoformat(match.group(1)))))
    return sorted(found, key=lambda p: p.month)


@transaction.atomic
def partition_create(month: date) -> bool:
    """Make `month`'s partition if it is missing (False if it was there). Rows of that month that waited in the
    default partition move into it, in the same transaction. Built aside and ATTACHed, so writers to the other
    months are not stopped (only the default partition is locked, briefly); gives up after a lock wait of
    PARTITION_LOCK_TIMEOUT (the next run tries again)."""
    month = month_of(month)
    if month in {p.month for p in partitions_list()}:
        return False
    name, low, high = partition_name(month), _bound(month), _bound(month_add(month, 1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [PARTITION_LOCK_TIMEOUT])
        cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)")
        # the bound as a check first: ATTACH then trusts it instead of scanning the new table
        cursor.execute(
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_bound "
            f"CHECK (occurred_at >= '{low}' AND occurred_at < '{high}')"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE occurred_at >= %s AND occurred_at < %s RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved",
            [low, high],
        )
        cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ('{low}') TO ('{high}')")
        cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bound")
    return True


def partitions_cover(first: datetime | date, last: datetime | date) -> list[str]:
    """Partitions for every month from `first` to `last` (say, before a bulk load of history)."""
    if not is_partitioned():
        return []
    months, month = [], month_of(first)
    while month <= month_of(last):
        months.append(month)
        month = month_add(month, 1)
    return [partition_name(m) for m in months if partition_create(m)]


def _months_waiting_in_default(*, now: datetime, min_rows: int) -> list[date]:
    """Months with at least `min_rows` rows in the default partition, within OLDEST_MONTHS of now (a few stray
    or absurd timestamps stay in the default: every partition costs each lead's history read a little)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM {DEFAULT} "
            "GROUP BY 1 HAVING count(*) >= %s",
            [min_rows],
        )
        oldest = month_add(month_of(now), -OLDEST_MONTHS)
        return sorted(month for (month,) in cursor.fetchall() if month >= oldest)


def retention_cutoff(*, now: datetime, keep_months: int) -> date:
    """Activities before this day (the first of a month, UTC) are aged out: the current month and the
    `keep_months` whole months before it are kept."""
    return month_add(month_of(now), -keep_months)


@dataclass(frozen=True)
class Maintenance:
    created: list[str]
    dropped: list[ActivityMonthDropped]


def partitions_ensure(
    *, now: datetime, ahead: int | None = None, keep_months: int | None = None, min_rows: int = MOVE_OUT_ROWS
) -> list[str]:
    """Partitions for this month and the `ahead` next ones, and for every month of which `min_rows` rows wait in
    the default partition (back-dated events; not months retention would drop anyway). Returns the names made."""
    if not is_partitioned():
        return []
    ahead = settings.ACTIVITY_PARTITIONS_AHEAD if ahead is None else ahead
    first = month_of(now)
    months = [month_add(first, n) for n in range(ahead + 1)]
    cutoff = retention_cutoff(now=now, keep_months=keep_months) if keep_months else None
    waiting = _months_waiting_in_default(now=now, min_rows=min_rows)
    months += [m for m in waiting if cutoff is None or m >= cutoff]
    return [partition_name(m) for m in sorted(set(months)) if partition_create(m)]


@contextmanager
def _checks_done_now(cursor: Any) -> Iterator[None]:
    """A partition cannot be dropped while its rows' deferred foreign-key checks wait for the commit (rows moved
    or written earlier in the same transaction): run those checks now, then defer them again."""
    cursor.execute(
        "SELECT quote_ident(conname) FROM pg_constraint WHERE conrelid = %s::regclass AND condeferred",
        [TABLE],
    )
    names = ", ".join(row[0] for row in cursor.fetchall())
    if names:
        cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
    yield
    if names:
        cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


@transaction.atomic
def activities_age_out(*, now: datetime, keep_months: int) -> list[ActivityMonthDropped]:
    """Drop every month of activity older than the retention (whole months only), and each month's receipts
    received before the cutoff. PostgreSQL: DETACH + DROP of the month partitions, and a DELETE of the few
    old rows left in the default partition; SQLite: a DELETE. Each month dropped is recorded."""
    if keep_months < 1:
        raise ValueError("keep_months must be at least 1")
    cutoff = retention_cutoff(now=now, keep_months=keep_months)
    low = datetime(cutoff.year, cutoff.month, 1, tzinfo=UTC)
    dropped: dict[date, int] = {}
    if is_partitioned():
        with connection.cursor() as cursor, _checks_done_now(cursor):
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [PARTITION_LOCK_TIMEOUT])
            for partition in partitions_list():
                if partition.month >= cutoff:
                    continue
                cursor.execute(f"SELECT count(*) FROM {partition.name}")
                dropped[partition.month] = cursor.fetchone()[0]
                cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {partition.name}")
                cursor.execute(f"DROP TABLE {partition.name}")
            cursor.execute(
                f"DELETE FROM {DEFAULT} WHERE occurred_at < %s "
                "RETURNING date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date",
                [low],
            )
            for (month,) in cursor.fetchall():
                dropped[month] = dropped.get(month, 0) + 1
    else:
        old = Activity.objects.filter(occurred_at__lt=low)
        for at in old.values_list("occurred_at", flat=True).iterator():
            dropped[month_of(at)] = dropped.get(month_of(at), 0) + 1
        old.delete()
    ActivityReceipt.objects.filter(received_at__lt=low).delete()
    records = [ActivityMonthDropped(month=m, rows=n, dropped_at=now) for m, n in sorted(dropped.items())]
    return ActivityMonthDropped.objects.bulk_create(records)


def partitions_maintain(*, now: datetime) -> Maintenance:
    """What beat runs daily: partitions ahead of time, then retention if ACTIVITY_RETENTION_MONTHS is set."""
    keep = settings.ACTIVITY_RETENTION_MONTHS
    created = partitions_ensure(now=now, keep_months=keep)
    dropped = activities_age_out(now=now, keep_months=keep) if keep else []
    return Maintenance(created=created, dropped=dropped)
