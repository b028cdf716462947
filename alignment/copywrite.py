"""Write many model rows back in one statement: PostgreSQL COPY into a temporary table, then one UPDATE ... FROM.

Django's bulk paths send each value as a query parameter; for a list of JSON documents psycopg escapes every
element of the array with a regular expression, which was 41% of an activation's rescore. COPY streams the rows
in psycopg's C copy format instead (values adapted by the model fields themselves, so JSON is dumped once and
datetimes keep their time zone), and the UPDATE joins on the primary key. Other databases (SQLite) use
`bulk_update`, which is what they do well. New rows (hand-overs, their cycles, scoring's events) go in the same
way, straight into their table (`rows_insert`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from django.db import NotSupportedError, connection, models

#: Below this many rows the temporary table costs more than it saves.
COPY_FROM_ROWS = 100


def copy_applies(rows: int) -> bool:
    """Whether `rows_update` of this many rows goes through COPY (else the caller's own bulk path is as good). The
    temporary table lives until the commit, so only inside a transaction."""
    return connection.vendor == "postgresql" and rows >= COPY_FROM_ROWS and connection.in_atomic_block


def rows_update(model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Save `fields` of `objs` (instances that exist) in one statement; returns how many rows were written.
    Must run inside a transaction on PostgreSQL (the temporary table is dropped at commit)."""
    if not objs:
        return 0
    if not copy_applies(len(objs)):
        return model.objects.bulk_update(objs, list(fields), batch_size=1000)
    opts = model._meta
    concrete = [opts.get_field(name) for name in fields]
    pk = opts.pk
    table = connection.ops.quote_name(opts.db_table)
    temp = connection.ops.quote_name(f"_rows_{opts.db_table}")
    columns = [pk.column, *(field.column for field in concrete)]
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    assignments = ", ".join(
        f"{connection.ops.quote_name(field.column)} = t.{connection.ops.quote_name(field.column)}"
        for field in concrete
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS SELECT {quoted} FROM {table} WITH NO DATA"
        )
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        readers = [_reader(field) for field in concrete]
        with raw.copy(f"COPY {temp} ({quoted}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([obj.pk, *(read(obj) for read in readers)])
        cursor.execute(
            f"UPDATE {table} AS l SET {assignments} FROM {temp} AS t WHERE l.{pk.column} = t.{pk.column}"
        )
        written = cursor.rowcount
        cursor.execute(f"DROP TABLE {temp}")
    return written


def _reader(field: Any) -> Callable[[models.Model], Any]:
    """The value COPY writes for `field`: JSON as its text (dumped once, with the field's encoder), anything else
    as the instance holds it (psycopg's dumpers write aware datetimes, numbers and text as PostgreSQL reads them;
    field.get_db_prep_save did the same at ten times the cost)."""
    get = attrgetter(field.attname)
    if isinstance(field, models.JSONField):
        # No circular-reference check: a row's JSON is a tree, and the check (a dict of every container's id)
        # was a third of the dump of a scored lead's breakdown.
        encode = (field.encoder or json.JSONEncoder)(check_circular=False).encode

        def dumped(obj: models.Model) -> str | None:
            value = get(obj)
            return None if value is None else encode(value)

        return dumped
    return get


def rows_insert(model: type[models.Model], objs: Sequence[models.Model]) -> list[models.Model]:
    """Insert new `objs` (every concrete field) as `bulk_create` does, ids set on them, and return them. PostgreSQL:
    the ids are drawn from the table's sequence first, then the rows go in with one COPY (bulk_create's UNNEST
    sends each JSON document as an array element psycopg escapes with a regular expression, slow on breakdowns:
    kilobytes of quotes each). Elsewhere, or for one row, `bulk_create`."""
    objs = list(objs)
    if connection.vendor != "postgresql" or len(objs) < 2:
        return model.objects.bulk_create(objs)
    opts = model._meta
    fields = [field for field in opts.concrete_fields if not field.generated]
    table = connection.ops.quote_name(opts.db_table)
    quoted = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    for obj in objs:
        for field in fields:
            if field is not opts.pk:
                field.pre_save(obj, add=True)  # auto_now_add and the like, as bulk_create
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        readers = [_reader(field) for field in fields]
        with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([read(obj) for read in readers])
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


def rows_insert_new(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]
) -> list[int]:
    """Insert `objs` (their `fields`) skipping any that conflict with a unique constraint; returns the ids of the
    rows written: COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING id.
    PostgreSQL only, inside a transaction: callers check `copy_applies` and use bulk_create otherwise."""
    if not objs:
        return []
    if connection.vendor != "postgresql":
        raise NotSupportedError("rows_insert_new needs PostgreSQL (COPY)")
    opts = model._meta
    concrete = [opts.get_field(name) for name in fields]
    table = connection.ops.quote_name(opts.db_table)
    temp = connection.ops.quote_name(f"_new_{opts.db_table}")
    quoted = ", ".join(connection.ops.quote_name(field.column) for field in concrete)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS SELECT {quoted} FROM {table} WITH NO DATA"
        )
        readers = [_reader(field) for field in concrete]
        with cursor.cursor.copy(f"COPY {temp} ({quoted}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([read(obj) for read in readers])
        pk = connection.ops.quote_name(opts.pk.column)
        cursor.execute(
            f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM {temp} ON CONFLICT DO NOTHING RETURNING {pk}"
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"DROP TABLE {temp}")
    return ids
