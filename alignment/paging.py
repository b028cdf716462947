"""Keyset ("cursor") pagination: a page is the rows after (or before) the last row seen, never an OFFSET or a COUNT.

A page of a million rows costs the same as the first: the database walks the index of the sort from the cursor on.
The order is a list of `Key`s ending in a unique one (the primary key); the cursor is the last (or first) row's
values of those keys, in an opaque URL-safe string. A cursor that cannot be read (edited, truncated, from another
sort) raises `BadCursor`: the pages show the first page, the API answers 422.

`partitions` splits the order by a leading condition the database cannot index (the queue's "still savable, then
late", which depends on the current time; a sort by the owner's name): each partition is read in turn with its own
indexed order. The number of queries a page takes is bounded by the keys and partitions, never by the rows.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from django.db import models
from django.db.models import Expression, F, Q, QuerySet

Kind = Literal["str", "int", "datetime"]
MAX_CURSOR = 1000  # characters: a longer one is not one of ours
MAX_INT = 2**63 - 1


class BadCursor(ValueError):
    """The cursor is not one this order produced."""


@dataclass(frozen=True)
class Key:
    """One sort key: a field path (may cross a relation), ascending or not; nullable keys sort nulls as PostgreSQL's
    default does (last ascending, first descending), so a plain btree index serves both directions."""

    path: str
    kind: Kind
    descending: bool = False
    nullable: bool = False

    def reverse(self) -> Key:
        return Key(self.path, self.kind, not self.descending, self.nullable)

    @property
    def nulls_last(self) -> bool:
        return not self.descending

    def order(self) -> Expression:
        expression = F(self.path)
        if not self.nullable:
            return expression.desc() if self.descending else expression.asc()
        if self.descending:
            return expression.desc(nulls_first=True)
        return expression.asc(nulls_last=True)

    def after(self, value: Any) -> list[Q]:
        """Rows strictly after `value` in this key's order, as ranges in order (each one an index range)."""
        if (
            value is None
        ):  # nulls sort last ascending (nothing after), first descending (every non-null after)
            return [] if self.nulls_last else [Q(**{f"{self.path}__isnull": False})]
        beyond = Q(**{f"{self.path}__{'lt' if self.descending else 'gt'}": value})
        if self.nullable and self.nulls_last:
            return [beyond, Q(**{f"{self.path}__isnull": True})]
        return [beyond]

    def equal(self, value: Any) -> Q:
        return Q(**{f"{self.path}__isnull": True}) if value is None else Q(**{self.path: value})


def ranges_after(keys: Sequence[Key], values: Sequence[Any]) -> list[Q]:
    """Rows after `values` in the lexicographic order of `keys`, as index ranges in that order: first the rows equal
    on every key but the last and after it on the last, then equal on all but the last two and after on the one
    before, and so on. Each is one contiguous range of an index on the keys, so a page deep in a million rows
    reads from where the last one stopped instead of filtering everything before it."""
    ranges: list[Q] = []
    for level in reversed(range(len(keys))):
        prefix = Q()
        for earlier, value in zip(keys[:level], values[:level], strict=True):
            prefix &= earlier.equal(value)
        ranges.extend(prefix & step for step in keys[level].after(values[level]))
    return ranges


def _read(record: Any, path: str) -> Any:
    value = record
    for part in path.split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def signature(keys: Sequence[Key]) -> str:
    """A few characters naming the order, so a cursor from another sort (a header clicked) is refused, not misread."""
    text = ",".join(f"{'-' if key.descending else ''}{key.path}" for key in keys)
    return f"{zlib.crc32(text.encode()) & 0xFFFF:04x}"


def encode(keys: Sequence[Key], partition: int, values: Sequence[Any]) -> str:
    plain = [signature(keys), partition] + [
        value.isoformat() if isinstance(value, datetime) else value for value in values
    ]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(cursor: str, keys: Sequence[Key], partitions: int) -> tuple[int, list[Any]]:
    if len(cursor) > MAX_CURSOR:
        raise BadCursor("the cursor is too long")
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise BadCursor("the cursor cannot be read") from error
    if not isinstance(plain, list) or len(plain) != len(keys) + 2 or plain[0] != signature(keys):
        raise BadCursor("the cursor does not match this order")
    partition, raw = plain[1], plain[2:]
    if type(partition) is not int or not 0 <= partition < partitions:
        raise BadCursor("the cursor does not match this order")
    return partition, [_value(key, value) for key, value in zip(keys, raw, strict=True)]


def _value(key: Key, value: Any) -> Any:
    """One cursor value, checked against its key's kind (so the database never sees a value it would refuse)."""
    if value is None and (key.nullable or "__" in key.path):
        return None
    if key.kind == "int" and type(value) is int and -MAX_INT <= value <= MAX_INT:
        return value
    if key.kind == "str" and isinstance(value, str) and len(value) <= 500 and "\x00" not in value:
        return value
    if key.kind == "datetime" and isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                raise BadCursor("the cursor holds a date without its time zone")
            return moment.astimezone(UTC)  # a date with no UTC equivalent (year 9999, -23:59) is refused here
        except (ValueError, OverflowError) as error:
            raise BadCursor("the cursor holds an unreadable date") from error
    raise BadCursor("the cursor does not match this order")


@dataclass
class KeysetPage:
    records: list[Any]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def keyset_page(
    queryset: QuerySet[Any],
    keys: Sequence[Key],
    *,
    per_page: int,
    after: str | None = None,
    before: str | None = None,
    partitions: Sequence[Q] | None = None,
) -> KeysetPage:
    """The page after the cursor `after` (or before `before`; neither: the first page). A first page is one query
    per partition it reaches; a page from a cursor at most one more per key (see ranges_after), whatever the
    table holds. Raises BadCursor for a cursor this order did not produce."""
    parts = list(partitions) if partitions else [Q()]
    backwards = bool(before) and not after
    cursor = after or before
    if cursor:
        start, values = decode(cursor, keys, len(parts))
    else:
        start, values = (len(parts) - 1 if backwards else 0), None
    order = [key.reverse() for key in keys] if backwards else list(keys)
    sequence = range(start, -1, -1) if backwards else range(start, len(parts))
    rows: list[tuple[int, Any]] = []
    ordering = [key.order() for key in order]
    for index in sequence:
        subset = queryset.filter(parts[index]) if partitions else queryset
        ranges = ranges_after(order, values) if values is not None and index == start else [Q()]
        for condition in ranges:
            wanted = per_page + 1 - len(rows)
            rows.extend((index, record) for record in subset.filter(condition).order_by(*ordering)[:wanted])
            if len(rows) > per_page:
                break
        if len(rows) > per_page:
            break
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    page = KeysetPage(records=[record for _index, record in rows])
    if rows:
        first, last = rows[0], rows[-1]
        has_next = more if not backwards else True
        has_previous = more if backwards else bool(cursor)
        if has_next:
            page.next_cursor = encode(keys, last[0], [_read(last[1], key.path) for key in keys])
        if has_previous:
            page.previous_cursor = encode(keys, first[0], [_read(first[1], key.path) for key in keys])
    elif backwards:  # before the first row: there is nothing, show the first page
        return keyset_page(queryset, keys, per_page=per_page, partitions=partitions)
    return page


def keys_for(model: Any, fields: Sequence[str], *, descending: bool = False) -> list[Key]:
    """Keys for sorting `model` by these field paths ("-" flips one; `descending` flips all), ending in the primary
    key."""
    keys: list[Key] = []
    for name in fields:
        flip = name.startswith("-")
        path = name.lstrip("-")
        meta, nullable, target = model._meta, False, None
        for part in path.split("__"):
            target = meta.pk if part == "pk" else meta.get_field(part)
            nullable = nullable or bool(getattr(target, "null", False))
            if target.is_relation and target.related_model is not None:
                meta = target.related_model._meta
        kind: Kind = (
            "datetime"
            if isinstance(target, models.DateTimeField)
            else "int"
            if isinstance(target, models.IntegerField | models.AutoField | models.ForeignKey)
            else "str"
        )
        keys.append(Key(path, kind, descending=flip != descending, nullable=nullable))
    if not keys or keys[-1].path not in ("pk", "id"):  # the tie-break runs the same way, so one index serves
        keys.append(Key("pk", "int", descending=keys[-1].descending if keys else descending))
    return keys


def count_up_to(queryset: QuerySet[Any], limit: int) -> tuple[int, bool]:
    """How many rows, counted no further than `limit`: (n, False) exact, or (limit, True) meaning "more than"."""
    found = queryset.order_by().values("pk")[: limit + 1].count()
    return (limit, True) if found > limit else (found, False)
