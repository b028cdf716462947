"""Writing many rows at once, fast on PostgreSQL: one statement per table whose rows travel as a single JSON
document (`INSERT … SELECT FROM jsonb_to_recordset(%s)`), encoded by the C json encoder and bound on the server,
instead of Django's bulk path, which renders every value into the SQL text on the client (psycopg's per-element
escaping of arrays and JSON was most of an import's time). Elsewhere (SQLite) Django's bulk_create / bulk_update
do the job.

What is stored is what Django would store (JSON columns as the same JSON, datetimes to the microsecond); a
database error is raised as Django's (IntegrityError, ...).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import psycopg
from django.db import connection, models


def _fields(model: type[models.Model], names: Sequence[str] | None) -> list[models.Field]:
    if names is not None:
        return [model._meta.get_field(name) for name in names]
    return [field for field in model._meta.concrete_fields if not field.primary_key or not field.auto_created]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _record_type(field: models.Field) -> str:
    return "jsonb" if isinstance(field, models.JSONField) else field.db_type(connection) or "text"


def _document(rows: Sequence[Sequence[Any]]) -> str:
    """The rows as one JSON array of objects keyed c0, c1, ... (what jsonb_to_recordset reads)."""
    keys = [f"c{n}" for n in range(len(rows[0]))] if rows else []  # every row has the same columns
    return json.dumps([dict(zip(keys, row, strict=True)) for row in rows], default=_default, allow_nan=False)


def _execute(sql: str, document: str) -> list[tuple]:
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, [document])
        return cursor.fetchall() if cursor.description else []


def values_insert(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
    returning: bool = False,
    update: Sequence[str] = (),
) -> list[Any]:
    """INSERT rows given as values of the fields `names` (attnames' values: a foreign key's id); the new
    primary keys in order when `returning`. `update`: a row whose primary key is stored replaces these fields
    of it (an upsert: one statement where DELETE + INSERT took two). No model instance is built on PostgreSQL."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        fields = _fields(model, names)
        objs = [model(**{f.attname: value for f, value in zip(fields, row, strict=True)}) for row in rows]
        upsert = {"update_conflicts": True, "unique_fields": [model._meta.pk.name], "update_fields": update}
        model.objects.bulk_create(
            objs, batch_size=1000, ignore_conflicts=ignore_conflicts, **(upsert if update else {})
        )
        return [obj.pk for obj in objs]
    fields = _fields(model, names)
    spec = ", ".join(f"c{n} {_record_type(field)}" for n, field in enumerate(fields))
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(f.column for f in fields)}) "
        f"SELECT {', '.join(f'c{n}' for n in range(len(fields)))} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS t({spec})"
    )
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    elif update:
        columns = ", ".join(f"{f.column} = EXCLUDED.{f.column}" for f in _fields(model, update))
        sql += f" ON CONFLICT ({model._meta.pk.column}) DO UPDATE SET {columns}"
    if returning:
        sql += f" RETURNING {model._meta.pk.column}"
    return [row[0] for row in _execute(sql, _document(rows))]


def rows_insert(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    fields: Sequence[str] | None = None,
    ignore_conflicts: bool = False,
    set_pks: bool = False,
) -> None:
    """INSERT these objects (every concrete field but an auto id, or `fields`); `set_pks` reads the new ids
    back onto them (in insertion order, as Django's own bulk_create relies on; not with ignore_conflicts)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=1000, ignore_conflicts=ignore_conflicts)
        return
    columns = _fields(model, fields)
    rows = [[getattr(obj, field.attname) for field in columns] for obj in objs]
    pks = values_insert(
        model, [f.name for f in columns], rows, ignore_conflicts=ignore_conflicts, returning=set_pks
    )
    if set_pks:
        pk = model._meta.pk
        for obj, value in zip(objs, pks, strict=True):
            setattr(obj, pk.attname, value)
            obj._state.adding, obj._state.db = False, connection.alias


def rows_update(model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """UPDATE these stored objects' `fields` in one statement."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, list(fields), batch_size=500)
        return
    pk = model._meta.pk
    columns = [pk, *_fields(model, fields)]
    rows = [[getattr(obj, field.attname) for field in columns] for obj in objs]
    spec = ", ".join(f"c{n} {_record_type(field)}" for n, field in enumerate(columns))
    sets = ", ".join(f"{field.column} = v.c{n}" for n, field in enumerate(columns) if n)
    sql = (
        f"UPDATE {model._meta.db_table} AS t SET {sets} "
        f"FROM jsonb_to_recordset(%s::jsonb) AS v({spec}) WHERE t.{pk.column} = v.c0"
    )
    _execute(sql, _document(rows))
