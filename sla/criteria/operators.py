"""How one condition's operator matches a value (normalised text, numbers, free-mail domains), and the
words a condition is described with. Pure Python: no Django."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from numbers import Real
from typing import Any

from sla.criteria.schema import FREE_MAIL_DOMAINS, ActivityMatch, Condition, Op, _fmt, _is_number


def _norm(value: Any) -> str:
    """Comparable text of a value: trimmed and case-folded; 100, 100.0 and "100" all read "100"."""
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip().casefold()


def _number(value: Any) -> float | None:
    """The value as a finite number, or None (text such as "1,200" is read; "51-200" is not a number)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, Real | Decimal):
        try:
            number = float(value)
        except (OverflowError, ValueError):
            return None
        return number if math.isfinite(number) else None
    return None


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset | dict):
        return not value
    return False


@lru_cache(maxsize=4096)
def _mail_domain(text: str) -> str:
    return text.rpartition("@")[2].strip().rstrip(".")


Matcher = Callable[[Any], bool]


def _matcher(op: Op, value: Any) -> Matcher:
    """A predicate on a raw attribute/property value; a missing value (None) only matches is_empty."""
    # The type names keep True, 1 and 1.0 apart in the cache (they are equal, and hash alike, in Python).
    types = tuple(type(item).__name__ for item in value) if isinstance(value, tuple) else type(value).__name__
    return _compile_matcher(op, value, types)


@lru_cache(maxsize=1024)
def _compile_matcher(op: Op, value: Any, _types: Any) -> Matcher:
    if op is Op.IS_EMPTY:
        return _is_empty
    if op is Op.IS_NOT_EMPTY:
        return lambda raw: not _is_empty(raw)
    if op is Op.FREE_MAIL:
        return lambda raw: raw is not None and _mail_domain(_norm(raw)) in FREE_MAIL_DOMAINS
    if op in (Op.EQUALS, Op.NOT_EQUALS):
        equals = _equals_matcher(value)
        if op is Op.EQUALS:
            return equals
        return lambda raw: raw is not None and not equals(raw)
    if op is Op.ONE_OF:
        options = frozenset(_norm(item) for item in value)
        return lambda raw: raw is not None and _norm(raw) in options
    if op is Op.CONTAINS:
        needle = _norm(value)
        return lambda raw: raw is not None and needle in _norm(raw)
    if op is Op.STARTS_WITH:
        prefix = _norm(value)
        return lambda raw: raw is not None and _norm(raw).startswith(prefix)
    return _numeric_matcher(op, value)


def _equals_matcher(value: Any) -> Matcher:
    if _is_number(value):
        target = float(value)
        return lambda raw: _number(raw) == target
    text = _norm(value)
    return lambda raw: raw is not None and _norm(raw) == text


def _numeric_matcher(op: Op, value: Any) -> Matcher:
    def between(low: float, high: float) -> Matcher:
        def matches(raw: Any) -> bool:
            number = _number(raw)
            return number is not None and low <= number <= high

        return matches

    if op is Op.GTE:
        return between(float(value), math.inf)
    if op is Op.LTE:
        return between(-math.inf, float(value))
    return between(float(value[0]), float(value[1]))


def condition_holds(condition: Condition, attributes: Mapping[str, Any]) -> bool:
    return _matcher(condition.op, condition.value)(attributes.get(condition.field))


def describe(condition: Condition | ActivityMatch) -> str:
    """The condition in words: "employees ≥ 100", "seniority is one of director, vp"."""
    subject = condition.field if isinstance(condition, Condition) else condition.property
    op, value = condition.op, condition.value
    words = {
        Op.EQUALS: lambda: f"is {_fmt(value)}",
        Op.NOT_EQUALS: lambda: f"is not {_fmt(value)}",
        Op.ONE_OF: lambda: f"is one of {', '.join(_fmt(item) for item in value)}",
        Op.CONTAINS: lambda: f"contains {_fmt(value)}",
        Op.STARTS_WITH: lambda: f"starts with {_fmt(value)}",
        Op.GTE: lambda: f"≥ {_fmt(value)}",
        Op.LTE: lambda: f"≤ {_fmt(value)}",
        Op.BETWEEN: lambda: f"is between {_fmt(value[0])} and {_fmt(value[1])}",
        Op.IS_EMPTY: lambda: "is empty",
        Op.IS_NOT_EMPTY: lambda: "is not empty",
        Op.FREE_MAIL: lambda: "is a free-mail address",
    }
    return f"{subject} {words[op]()}"


def _fmt_actual(value: Any) -> str:
    if value is None:
        return "missing"
    if _is_empty(value):
        return "empty"
    return _fmt(value)
