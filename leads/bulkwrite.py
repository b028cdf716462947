"""Writing many rows at once, fast on PostgreSQL: one statement per table, `INSERT … SELECT FROM unnest(…)`
with one array per column bound on the server, instead of Django's bulk path, which renders every value into the
SQL text on the client (psycopg's per-element escaping of arrays and JSON was most of an import's time).
Elsewhere (SQLite) Django's bulk_create / bulk_update do the job.

What is stored is what Django would store (JSON through the field's encoder); a database error is raised as
Django's (IntegrityError, ...).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from django.db import connection, models


def _fields(model: type[models.Model], names: Sequence[str] | None) -> list[models.Field]:
    if names is not None:
        return [model._meta.get_field(name) for name in names]
    return [field for field in model._meta.concrete_fields if not field.primary_key or not field.auto_created]


def _column(field: models.Field) -> tuple[str, str, Callable[[Any], Any] | None]:
    """(array type the values are bound as, cast back to the column's type, how a value is prepared)."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return "text", "::jsonb", lambda value: None if value is None else json.dumps(value, cls=encoder)
    return field.db_type(connection) or "text", "", None


def _arrays(
    objs: Sequence[models.Model], fields: list[models.Field]
) -> tuple[list[str], list[str], list[list]]:
    types, casts, arrays = [], [], []
    for field in fields:
        type_, cast, prepare = _column(field)
        values = [getattr(obj, field.attname) for obj in objs]
        types.append(type_)
        casts.append(cast)
        arrays.append(values if prepare is None else [prepare(value) for value in values])
    return types, casts, arrays


def _cursor() -> psycopg.Cursor:
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)  # server-side binding, whatever Django's cursors do


def rows_insert(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    fields: Sequence[str] | None = None,
    ignore_conflicts: bool = False,
    set_pks: bool = False,
) -> None:
    """INSERT these objects (every concrete field but an auto id, or `fields`); `set_pks` reads the new ids
    back onto them (in order, as Django's own bulk_create relies on; not with ignore_conflicts)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=1000, ignore_conflicts=ignore_conflicts)
        return
    columns = _fields(model, fields)
    types, casts, arrays = _arrays(objs, columns)
    names = [f"c{n}" for n in range(len(columns))]
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(f.column for f in columns)}) "
        f"SELECT {', '.join(name + cast for name, cast in zip(names, casts, strict=True))} "
        f"FROM unnest({', '.join(f'%s::{type_}[]' for type_ in types)}) AS t({', '.join(names)})"
    )
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    pk = model._meta.pk
    if set_pks:
        sql += f" RETURNING {pk.column}"
    with connection.wrap_database_errors, _cursor() as cursor:
        cursor.execute(sql, arrays)
        if set_pks:
            for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
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
    types, casts, arrays = _arrays(objs, columns)
    names = [f"c{n}" for n in range(len(columns))]
    sets = ", ".join(
        f"{field.column} = v.{name}{cast}"
        for field, name, cast in zip(columns[1:], names[1:], casts[1:], strict=True)
    )
    sql = (
        f"UPDATE {model._meta.db_table} AS t SET {sets} "
        f"FROM unnest({', '.join(f'%s::{type_}[]' for type_ in types)}) AS v({', '.join(names)}) "
        f"WHERE t.{pk.column} = v.{names[0]}"
    )
    with connection.wrap_database_errors, _cursor() as cursor:
        cursor.execute(sql, arrays)
