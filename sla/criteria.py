"""MQL and SQL criteria of an agreement ("mql" and "sql" in the agreement content; pure Python: no Django).

`evaluate` judges a lead's facts (attributes and activities) against the MQL criteria at an instant `now`.
The semantics are those of docs/agreement-content.md. Windows are half-open: an activity counts while it is
younger than `window_days` (or `within_days`), so the instant it stops counting is exactly
`occurred_at + window`, which is what `Evaluation.next_change_at` reports.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from numbers import Real
from operator import attrgetter
from typing import Any, Literal, NamedTuple

__all__ = [
    "EVIDENCE_LIMIT",
    "FRAMEWORKS",
    "FRAMEWORK_TEMPLATES",
    "FREE_MAIL_DOMAINS",
    "ANY_ACTIVITY",
    "Activity",
    "ActivityMatch",
    "Where",
    "Condition",
    "CriteriaError",
    "EngagementRule",
    "Evaluation",
    "Evidence",
    "FitRule",
    "Gate",
    "GateResult",
    "Inactivity",
    "MqlCriteria",
    "Op",
    "RuleHit",
    "SqlCriteria",
    "SqlItem",
    "SqlResult",
    "Tier",
    "Trigger",
    "TriggerHit",
    "condition_holds",
    "describe",
    "evaluate",
    "sql_check",
    "sql_template",
]

# A rule or trigger whose activity is "*" matches every activity type (e.g. "a dormant lead comes back").
ANY_ACTIVITY = "*"
# How many activities a RuleHit quotes as evidence (the most recent ones); its count is always complete.
EVIDENCE_LIMIT = 5
FRAMEWORKS = ("bant", "champ", "anum", "custom")

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.es",
        "yahoo.it", "ymail.com", "rocketmail.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr",
        "hotmail.de", "hotmail.it", "outlook.com", "outlook.fr", "live.com", "live.co.uk", "msn.com",
        "aol.com", "icloud.com", "me.com", "mac.com", "protonmail.com", "proton.me", "pm.me",
        "tutanota.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "t-online.de", "mail.com",
        "yandex.com", "yandex.ru", "mail.ru", "zoho.com", "fastmail.com", "hey.com", "qq.com", "163.com",
        "126.com", "naver.com", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "libero.it",
        "btinternet.com", "comcast.net", "seznam.cz", "rediffmail.com",
    }
)  # fmt: skip

FRAMEWORK_TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "bant": [
        {"key": "budget", "label": "Budget", "required": False},
        {"key": "authority", "label": "Authority", "required": True},
        {"key": "need", "label": "Need", "required": True},
        {"key": "timeframe", "label": "Timeframe", "required": False},
    ],
    "champ": [
        {"key": "challenges", "label": "Challenges", "required": True},
        {"key": "authority", "label": "Authority", "required": True},
        {"key": "money", "label": "Money", "required": False},
        {"key": "prioritization", "label": "Prioritization", "required": False},
    ],
    "anum": [
        {"key": "authority", "label": "Authority", "required": True},
        {"key": "need", "label": "Need", "required": True},
        {"key": "urgency", "label": "Urgency", "required": False},
        {"key": "money", "label": "Money", "required": False},
    ],
}


class CriteriaError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class Op(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    ONE_OF = "one_of"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    GTE = "gte"
    LTE = "lte"
    BETWEEN = "between"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"
    FREE_MAIL = "free_mail"


class Tier(StrEnum):
    HOT = "hot"
    WARM = "warm"
    NONE = ""


_UNUSED_VALUE_OPS = frozenset({Op.IS_EMPTY, Op.IS_NOT_EMPTY, Op.FREE_MAIL})

# ---------------------------------------------------------------------------------------------------------
# Validation helpers (each raises CriteriaError with the exact path)


def _object(data: Any, path: str, keys: tuple[str, ...], required: tuple[str, ...] = ()) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise CriteriaError(path, "must be an object")
    for key in data:
        if key not in keys:
            raise CriteriaError(f"{path}.{key}", f"unknown key (expected one of {', '.join(keys)})")
    for key in required:
        if key not in data:
            raise CriteriaError(f"{path}.{key}", "is required")
    return data


def _list(data: Any, path: str) -> list[Any]:
    if data is None:
        return []
    if not isinstance(data, list | tuple):
        raise CriteriaError(path, "must be a list")
    return list(data)


def _whole(value: Any, path: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CriteriaError(path, "must be a whole number")
    return value


def _positive(value: Any, path: str, *, message: str = "must be a positive whole number") -> int:
    try:
        number = _whole(value, path)
    except CriteriaError:
        raise CriteriaError(path, message) from None
    if number < 1:
        raise CriteriaError(path, message)
    return number


def _positive_or_null(value: Any, path: str) -> int | None:
    return (
        None if value is None else _positive(value, path, message="must be a positive whole number or null")
    )


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CriteriaError(path, "must be a non-empty string")
    return value


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise CriteriaError(path, "must be true or false")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _op(value: Any, path: str) -> Op:
    try:
        return Op(value)
    except ValueError:
        known = ", ".join(op.value for op in Op)
        raise CriteriaError(path, f'unknown operator "{value}" (expected one of {known})') from None


def _check_value(op: Op, value: Any, path: str) -> Any:
    """Return the value in its stored shape (lists become tuples so criteria stay hashable)."""
    if op in _UNUSED_VALUE_OPS:
        return None
    if op in (Op.EQUALS, Op.NOT_EQUALS):
        if not _is_scalar(value):
            raise CriteriaError(path, "must be text, a number or true/false")
        return value
    if op is Op.ONE_OF:
        if not isinstance(value, list | tuple) or not value:
            raise CriteriaError(path, "must be a non-empty list")
        for index, item in enumerate(value):
            if not _is_scalar(item):
                raise CriteriaError(f"{path}[{index}]", "must be text, a number or true/false")
        return tuple(value)
    if op in (Op.CONTAINS, Op.STARTS_WITH):
        if not isinstance(value, str) or not value.strip():
            raise CriteriaError(path, "must be non-empty text")
        return value
    if op in (Op.GTE, Op.LTE):
        if not _is_number(value):
            raise CriteriaError(path, "must be a number")
        return value
    # Op.BETWEEN
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise CriteriaError(path, "must be a [low, high] pair of numbers")
    for index, item in enumerate(value):
        if not _is_number(item):
            raise CriteriaError(f"{path}[{index}]", "must be a number")
    low, high = value
    if low > high:
        raise CriteriaError(path, f"low ({_fmt(low)}) must not be greater than high ({_fmt(high)})")
    return (low, high)


# ---------------------------------------------------------------------------------------------------------
# Conditions


@dataclass(frozen=True, slots=True)
class Condition:
    """An attribute condition: `field op value` on the lead's attributes."""

    field: str
    op: Op
    value: Any = None

    def __post_init__(self) -> None:
        op = _op(self.op, "condition.op")
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "value", _check_value(op, self.value, "condition.value"))

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "condition") -> Condition:
        data = _object(data, path, ("field", "op", "value"), required=("field", "op"))
        op = _op(data["op"], f"{path}.op")
        return cls(
            field=_text(data["field"], f"{path}.field"),
            op=op,
            value=_check_value(op, data.get("value"), f"{path}.value"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op.value, "value": _plain(self.value)}


@dataclass(frozen=True, slots=True)
class ActivityMatch:
    """The `where` of a rule or trigger: `property op value` on an activity's properties."""

    property: str
    op: Op
    value: Any = None

    def __post_init__(self) -> None:
        op = _op(self.op, "where.op")
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "value", _check_value(op, self.value, "where.value"))

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "where") -> ActivityMatch:
        data = _object(data, path, ("property", "op", "value"), required=("property", "op"))
        op = _op(data["op"], f"{path}.op")
        return cls(
            property=_text(data["property"], f"{path}.property"),
            op=op,
            value=_check_value(op, data.get("value"), f"{path}.value"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"property": self.property, "op": self.op.value, "value": _plain(self.value)}


Where = ActivityMatch


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


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


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_fmt(item) for item in value) if value else "empty"
    return str(value).strip()


def _fmt_actual(value: Any) -> str:
    if value is None:
        return "missing"
    if _is_empty(value):
        return "empty"
    return _fmt(value)


# ---------------------------------------------------------------------------------------------------------
# MQL criteria


@dataclass(frozen=True, slots=True)
class FitRule:
    id: str
    name: str
    points: int
    condition: Condition

    @classmethod
    def from_dict(cls, data: Any, *, path: str) -> FitRule:
        keys = ("id", "name", "points", "condition")
        data = _object(data, path, keys, required=keys)
        return cls(
            id=_text(data["id"], f"{path}.id"),
            name=_text(data["name"], f"{path}.name"),
            points=_whole(data["points"], f"{path}.points"),
            condition=Condition.from_dict(data["condition"], path=f"{path}.condition"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "points": self.points,
            "condition": self.condition.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class EngagementRule:
    """min_count 1: each matching activity in the window scores, at most max_count times (the most recent
    ones count). min_count K > 1: a frequency rule, K or more matching activities score points once."""

    id: str
    name: str
    points: int
    activity: str
    where: ActivityMatch | None = None
    max_count: int | None = None
    window_days: int | None = None
    min_count: int = 1

    @classmethod
    def from_dict(cls, data: Any, *, path: str) -> EngagementRule:
        keys = ("id", "name", "points", "activity", "where", "max_count", "window_days", "min_count")
        data = _object(data, path, keys, required=("id", "name", "points", "activity"))
        where = data.get("where")
        return cls(
            id=_text(data["id"], f"{path}.id"),
            name=_text(data["name"], f"{path}.name"),
            points=_whole(data["points"], f"{path}.points"),
            activity=_text(data["activity"], f"{path}.activity"),
            where=None if where is None else ActivityMatch.from_dict(where, path=f"{path}.where"),
            max_count=_positive_or_null(data.get("max_count"), f"{path}.max_count"),
            window_days=_positive_or_null(data.get("window_days"), f"{path}.window_days"),
            min_count=_positive(data.get("min_count", 1), f"{path}.min_count"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "points": self.points,
            "activity": self.activity,
            "where": None if self.where is None else self.where.to_dict(),
            "max_count": self.max_count,
            "window_days": self.window_days,
            "min_count": self.min_count,
        }


@dataclass(frozen=True, slots=True)
class Inactivity:
    days: int
    points: int

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "mql.inactivity") -> Inactivity:
        data = _object(data, path, ("days", "points"), required=("days", "points"))
        points = _whole(data["points"], f"{path}.points")
        if points > 0:
            raise CriteriaError(f"{path}.points", "must be zero or negative (it is a penalty)")
        return cls(days=_positive(data["days"], f"{path}.days"), points=points)

    def to_dict(self) -> dict[str, Any]:
        return {"days": self.days, "points": self.points}


@dataclass(frozen=True, slots=True)
class Gate:
    id: str
    name: str
    condition: Condition

    @classmethod
    def from_dict(cls, data: Any, *, path: str) -> Gate:
        data = _object(data, path, ("id", "name", "condition"), required=("id", "name", "condition"))
        return cls(
            id=_text(data["id"], f"{path}.id"),
            name=_text(data["name"], f"{path}.name"),
            condition=Condition.from_dict(data["condition"], path=f"{path}.condition"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "condition": self.condition.to_dict()}


@dataclass(frozen=True, slots=True)
class Trigger:
    id: str
    name: str
    activity: str
    where: ActivityMatch | None = None
    attribute: Condition | None = None
    requires_gates: bool = False
    min_silence_days: int | None = None
    within_days: int | None = None
    reason: str = ""

    @classmethod
    def from_dict(cls, data: Any, *, path: str) -> Trigger:
        keys = (
            "id", "name", "activity", "where", "attribute", "requires_gates", "min_silence_days",
            "within_days", "reason",
        )  # fmt: skip
        data = _object(data, path, keys, required=("id", "name", "activity"))
        where, attribute, reason = data.get("where"), data.get("attribute"), data.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise CriteriaError(f"{path}.reason", "must be a string")
        return cls(
            id=_text(data["id"], f"{path}.id"),
            name=_text(data["name"], f"{path}.name"),
            activity=_text(data["activity"], f"{path}.activity"),
            where=None if where is None else ActivityMatch.from_dict(where, path=f"{path}.where"),
            attribute=None if attribute is None else Condition.from_dict(attribute, path=f"{path}.attribute"),
            requires_gates=_flag(data.get("requires_gates", False), f"{path}.requires_gates"),
            min_silence_days=_positive_or_null(data.get("min_silence_days"), f"{path}.min_silence_days"),
            within_days=_positive_or_null(data.get("within_days"), f"{path}.within_days"),
            reason=reason or "",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "activity": self.activity,
            "where": None if self.where is None else self.where.to_dict(),
            "attribute": None if self.attribute is None else self.attribute.to_dict(),
            "requires_gates": self.requires_gates,
            "min_silence_days": self.min_silence_days,
            "within_days": self.within_days,
            "reason": self.reason,
        }


_MQL_KEYS = ("threshold", "fit_rules", "engagement_rules", "inactivity", "gates", "triggers")


@dataclass(frozen=True, slots=True)
class MqlCriteria:
    threshold: int
    fit_rules: tuple[FitRule, ...] = ()
    engagement_rules: tuple[EngagementRule, ...] = ()
    inactivity: Inactivity | None = None
    gates: tuple[Gate, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    _compiled: _Compiled = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name in ("fit_rules", "engagement_rules", "gates", "triggers"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "_compiled", _compile(self))

    # The compiled matchers are closures, which pickle cannot store: pickle the fields and compile again.
    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _MQL_KEYS)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(_MQL_KEYS, state, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_compiled", _compile(self))

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "mql") -> MqlCriteria:
        data = _object(data, path, _MQL_KEYS, required=("threshold",))
        fit = [
            FitRule.from_dict(item, path=f"{path}.fit_rules[{i}]")
            for i, item in _items(data, "fit_rules", path)
        ]
        engagement = [
            EngagementRule.from_dict(item, path=f"{path}.engagement_rules[{i}]")
            for i, item in _items(data, "engagement_rules", path)
        ]
        gates = [Gate.from_dict(item, path=f"{path}.gates[{i}]") for i, item in _items(data, "gates", path)]
        triggers = [
            Trigger.from_dict(item, path=f"{path}.triggers[{i}]")
            for i, item in _items(data, "triggers", path)
        ]
        _check_unique_ids(path, fit_rules=fit, engagement_rules=engagement, gates=gates, triggers=triggers)
        inactivity = data.get("inactivity")
        if inactivity is not None:
            inactivity = Inactivity.from_dict(inactivity, path=f"{path}.inactivity")
        return cls(
            threshold=_whole(data["threshold"], f"{path}.threshold"),
            fit_rules=tuple(fit),
            engagement_rules=tuple(engagement),
            inactivity=inactivity,
            gates=tuple(gates),
            triggers=tuple(triggers),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "fit_rules": [rule.to_dict() for rule in self.fit_rules],
            "engagement_rules": [rule.to_dict() for rule in self.engagement_rules],
            "inactivity": None if self.inactivity is None else self.inactivity.to_dict(),
            "gates": [gate.to_dict() for gate in self.gates],
            "triggers": [trigger.to_dict() for trigger in self.triggers],
        }


def _items(data: Mapping[str, Any], key: str, path: str) -> list[tuple[int, Any]]:
    return list(enumerate(_list(data.get(key), f"{path}.{key}")))


def _check_unique_ids(path: str, **sections: Sequence[FitRule | EngagementRule | Gate | Trigger]) -> None:
    seen: dict[str, str] = {}
    for section, rules in sections.items():
        for index, rule in enumerate(rules):
            where = f"{path}.{section}[{index}]"
            if rule.id in seen:
                raise CriteriaError(
                    f"{where}.id", f'duplicate id "{rule.id}" (already used by {seen[rule.id]})'
                )
            seen[rule.id] = where


# ---------------------------------------------------------------------------------------------------------
# SQL criteria


@dataclass(frozen=True, slots=True)
class SqlItem:
    key: str
    label: str
    required: bool = False

    @classmethod
    def from_dict(cls, data: Any, *, path: str) -> SqlItem:
        data = _object(data, path, ("key", "label", "required"), required=("key", "label"))
        return cls(
            key=_text(data["key"], f"{path}.key"),
            label=_text(data["label"], f"{path}.label"),
            required=_flag(data.get("required", False), f"{path}.required"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "required": self.required}


@dataclass(frozen=True, slots=True)
class SqlCriteria:
    framework: str
    items: tuple[SqlItem, ...]
    min_met: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "sql") -> SqlCriteria:
        data = _object(
            data, path, ("framework", "items", "min_met"), required=("framework", "items", "min_met")
        )
        framework = data["framework"]
        if framework not in FRAMEWORKS:
            raise CriteriaError(f"{path}.framework", f"must be one of {', '.join(FRAMEWORKS)}")
        raw_items = _list(data["items"], f"{path}.items")
        if not raw_items:
            raise CriteriaError(f"{path}.items", "must list at least one item")
        items = [SqlItem.from_dict(item, path=f"{path}.items[{i}]") for i, item in enumerate(raw_items)]
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.key in seen:
                raise CriteriaError(f"{path}.items[{index}].key", f'duplicate key "{item.key}"')
            seen.add(item.key)
        min_met = _whole(data["min_met"], f"{path}.min_met")
        required = sum(item.required for item in items)
        if not required <= min_met <= len(items):
            raise CriteriaError(
                f"{path}.min_met",
                f"must be between {required} (the required items) and {len(items)} (all items)",
            )
        return cls(framework=framework, items=tuple(items), min_met=min_met)

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "items": [item.to_dict() for item in self.items],
            "min_met": self.min_met,
        }


@dataclass(frozen=True, slots=True)
class SqlResult:
    qualified: bool
    missing_required: tuple[str, ...]
    met_count: int
    needed_count: int
    message: str


def sql_template(framework: str) -> SqlCriteria:
    """A starting checklist for a framework: its required items plus one of the others."""
    items = tuple(SqlItem(**item) for item in FRAMEWORK_TEMPLATES[framework])
    required = sum(item.required for item in items)
    return SqlCriteria(framework=framework, items=items, min_met=min(len(items), required + 1))


def sql_check(criteria: SqlCriteria, met: set[str]) -> SqlResult:
    met_count = sum(1 for item in criteria.items if item.key in met)
    missing = tuple(item.label for item in criteria.items if item.required and item.key not in met)
    needed = criteria.min_met
    qualified = not missing and met_count >= needed
    if qualified:
        message = f"Qualified: {met_count} of {len(criteria.items)} items met ({needed} needed)."
    else:
        missing_text = f"Missing required: {', '.join(missing)}. " if missing else ""
        message = f"{missing_text}{met_count} met; {needed} needed, every required one among them."
    return SqlResult(
        qualified=qualified,
        missing_required=missing,
        met_count=met_count,
        needed_count=needed,
        message=message,
    )


# ---------------------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True, slots=True)
class Activity:
    id: int | str | None
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.occurred_at.utcoffset() is None:
            raise ValueError(f"activity {self.id!r}: occurred_at must be timezone-aware")


class Evidence(NamedTuple):
    """An activity quoted by a rule hit (a named tuple: thousands are built per second while rescoring)."""

    activity_id: int | str | None
    type: str
    occurred_at: datetime
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "activity_id": self.activity_id,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "detail": self.detail,
        }


RuleKind = Literal["fit", "engagement", "inactivity"]


@dataclass(frozen=True, slots=True)
class RuleHit:
    """In `Evaluation.breakdown`, `points` is what the rule scores now. In `Evaluation.aged_out`, `count` is
    the number of matching activities older than the window and `points` what ageing costs the lead: the
    rule's score were nothing aged out, minus its score now (0 when the cap was reached anyway)."""

    rule_id: str
    kind: RuleKind
    name: str
    points: int
    count: int
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "name": self.name,
            "points": self.points,
            "count": self.count,
            "evidence": [item.to_dict() for item in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class GateResult:
    gate_id: str
    name: str
    condition: str
    actual: str

    @property
    def text(self) -> str:
        return f"{self.condition} (is {self.actual})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate_id": self.gate_id,
            "name": self.name,
            "condition": self.condition,
            "actual": self.actual,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class TriggerHit:
    trigger_id: str
    name: str
    reason: str
    activity_id: int | str | None
    occurred_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger_id": self.trigger_id,
            "name": self.name,
            "reason": self.reason,
            "activity_id": self.activity_id,
            "occurred_at": self.occurred_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    total: int
    fit: int
    engagement: int
    breakdown: tuple[RuleHit, ...]
    aged_out: tuple[RuleHit, ...]
    gates_passed: bool
    failed_gates: tuple[GateResult, ...]
    triggers: tuple[TriggerHit, ...]
    is_mql: bool
    tier: Tier
    next_change_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "fit": self.fit,
            "engagement": self.engagement,
            "breakdown": [hit.to_dict() for hit in self.breakdown],
            "aged_out": [hit.to_dict() for hit in self.aged_out],
            "gates_passed": self.gates_passed,
            "failed_gates": [gate.to_dict() for gate in self.failed_gates],
            "triggers": [hit.to_dict() for hit in self.triggers],
            "is_mql": self.is_mql,
            "tier": self.tier.value,
            "next_change_at": None if self.next_change_at is None else self.next_change_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    rule: EngagementRule
    type_key: str
    where: _WhereFilter | None
    window: timedelta | None


@dataclass(frozen=True, slots=True)
class _CompiledTrigger:
    trigger: Trigger
    type_key: str
    where: _WhereFilter | None
    attribute: Callable[[Mapping[str, Any]], bool] | None
    within: timedelta | None
    silence: timedelta | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    fit: tuple[tuple[FitRule, Matcher], ...]
    gates: tuple[tuple[Gate, Matcher, str], ...]
    engagement: tuple[_CompiledRule, ...]
    triggers: tuple[_CompiledTrigger, ...]
    inactivity: timedelta | None


def _compile(criteria: MqlCriteria) -> _Compiled:
    return _Compiled(
        fit=tuple((rule, _matcher(rule.condition.op, rule.condition.value)) for rule in criteria.fit_rules),
        gates=tuple(
            (gate, _matcher(gate.condition.op, gate.condition.value), describe(gate.condition))
            for gate in criteria.gates
        ),
        engagement=tuple(
            _CompiledRule(
                rule=rule,
                type_key=_type_key(rule.activity),
                where=_where_filter(rule.where),
                window=_days(rule.window_days),
            )
            for rule in criteria.engagement_rules
        ),
        triggers=tuple(
            _CompiledTrigger(
                trigger=trigger,
                type_key=_type_key(trigger.activity),
                where=_where_filter(trigger.where),
                attribute=None if trigger.attribute is None else _condition_matcher(trigger.attribute),
                within=_days(trigger.within_days),
                silence=_days(trigger.min_silence_days),
            )
            for trigger in criteria.triggers
        ),
        inactivity=None if criteria.inactivity is None else timedelta(days=criteria.inactivity.days),
    )


def _condition_matcher(condition: Condition) -> Callable[[Mapping[str, Any]], bool]:
    matches, name = _matcher(condition.op, condition.value), condition.field
    return lambda attributes: matches(attributes.get(name))


def _days(days: int | None) -> timedelta | None:
    return None if days is None else timedelta(days=days)


class _WhereFilter:
    """Applies a `where` to activities, remembering the answer per property value: the same few paths and
    assets recur across thousands of activities, so most activities cost one dict lookup."""

    __slots__ = ("_matches", "_memo", "property")
    _MEMO_SIZE = 4096

    def __init__(self, where: ActivityMatch) -> None:
        self._matches = _matcher(where.op, where.value)
        self._memo: dict[Any, bool] = {}
        self.property = where.property

    def test(self, activity: Activity) -> bool:
        return self._lookup(activity.properties.get(self.property))

    def _remember(self, raw: Any) -> bool:
        if len(self._memo) >= self._MEMO_SIZE:
            self._memo.clear()
        result = self._memo[raw] = self._matches(raw)
        return result

    def _lookup(self, raw: Any) -> bool:
        # Only text and None are remembered: True, 1 and 1.0 are one dict key but not one value to match.
        if raw is not None and type(raw) is not str:
            return self._matches(raw)
        try:
            return self._memo[raw]
        except KeyError:
            return self._remember(raw)

    def select(self, pool: Sequence[Activity], raws: Sequence[Any]) -> list[Activity]:
        """The activities of `pool` that match; `raws` holds their values of `self.property`, in order."""
        memo = self._memo
        try:  # fast path: every value seen before
            return [activity for activity, raw in zip(pool, raws, strict=True) if memo[raw]]
        except (KeyError, TypeError):  # TypeError: an unhashable value such as a list
            return [activity for activity, raw in zip(pool, raws, strict=True) if self._lookup(raw)]


def _where_filter(where: ActivityMatch | None) -> _WhereFilter | None:
    return None if where is None else _WhereFilter(where)


_TYPE_KEYS: dict[str, str] = {}


def _type_key(activity_type: str) -> str:
    key = _TYPE_KEYS.get(activity_type)
    if key is None:
        if len(_TYPE_KEYS) > 10_000:  # custom types are few; never let junk input grow the cache for ever
            _TYPE_KEYS.clear()
        key = _TYPE_KEYS[activity_type] = activity_type.strip().casefold()
    return key


_occurred = attrgetter("occurred_at")
_DETAIL_PROPERTIES = ("path", "url", "title", "asset", "name")


def evaluate(
    criteria: MqlCriteria, attributes: Mapping[str, Any], activities: Sequence[Activity], now: datetime
) -> Evaluation:
    """Score a lead at `now`. Pass the lead's whole activity history: inactivity and dormant-comeback
    triggers look at the latest activity before a given instant. Activities dated after `now` are ignored
    (so past instants can be replayed) and become a `next_change_at` candidate."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    compiled = criteria._compiled
    changes: list[datetime] = []
    past, next_future = _split_past(activities, now)
    if next_future is not None:
        changes.append(next_future)
    by_type = _group_by_type(past)

    fit_hits = [
        RuleHit(rule_id=rule.id, kind="fit", name=rule.name, points=rule.points, count=1)
        for rule, matches in compiled.fit
        if matches(attributes.get(rule.condition.field))
    ]
    failed_gates = tuple(
        GateResult(
            gate_id=gate.id,
            name=gate.name,
            condition=text,
            actual=_fmt_actual(attributes.get(gate.condition.field)),
        )
        for gate, matches, text in compiled.gates
        if not matches(attributes.get(gate.condition.field))
    )
    engagement_hits: list[RuleHit] = []
    aged_out: list[RuleHit] = []
    property_values: dict[tuple[str, str], list[Any]] = {}
    for rule in compiled.engagement:
        matches = _select(rule.type_key, rule.where, past, by_type, property_values)
        if matches:
            _score_rule(rule, matches, now, engagement_hits, aged_out, changes)
    if criteria.inactivity is not None and compiled.inactivity is not None and past:
        silent_until = past[0].occurred_at + compiled.inactivity
        if silent_until <= now:
            engagement_hits.append(_inactivity_hit(criteria.inactivity, past[0]))
        else:
            changes.append(silent_until)
    gates_passed = not failed_gates
    trigger_hits = _fire_triggers(compiled.triggers, attributes, gates_passed, past, by_type, now, changes)

    fit = sum(hit.points for hit in fit_hits)
    engagement = sum(hit.points for hit in engagement_hits)
    total = fit + engagement
    is_mql = gates_passed and (total >= criteria.threshold or bool(trigger_hits))
    tier = (Tier.HOT if trigger_hits else Tier.WARM) if is_mql else Tier.NONE
    return Evaluation(
        total=total,
        fit=fit,
        engagement=engagement,
        breakdown=(*fit_hits, *engagement_hits),
        aged_out=tuple(aged_out),
        gates_passed=gates_passed,
        failed_gates=failed_gates,
        triggers=trigger_hits,
        is_mql=is_mql,
        tier=tier,
        next_change_at=min(changes) if changes else None,
    )


def _split_past(activities: Sequence[Activity], now: datetime) -> tuple[list[Activity], datetime | None]:
    """Activities up to `now`, most recent first, and the earliest instant of the ones after `now`."""
    ordered = sorted(activities, key=_occurred, reverse=True)
    future = 0
    while future < len(ordered) and ordered[future].occurred_at > now:  # rare: clock skew, replays
        future += 1
    if not future:
        return ordered, None
    return ordered[future:], ordered[future - 1].occurred_at


def _group_by_type(past: list[Activity]) -> dict[str, list[Activity]]:
    """Most recent first within each type; "Page" and "page" are one type."""
    by_raw_type: defaultdict[str, list[Activity]] = defaultdict(list)
    for activity in past:
        by_raw_type[activity.type].append(activity)
    groups: dict[str, list[Activity]] = {}
    for raw_type, group in by_raw_type.items():
        key = _type_key(raw_type)
        if key in groups:
            group = sorted((*groups[key], *group), key=_occurred, reverse=True)
        groups[key] = group
    return groups


def _select(
    type_key: str,
    where: _WhereFilter | None,
    past: list[Activity],
    by_type: dict[str, list[Activity]],
    property_values: dict[tuple[str, str], list[Any]],
) -> Sequence[Activity]:
    """Activities of the type that pass `where`, most recent first. Rules on the same type and property
    (pricing, blog, careers pages) share one read of the property values per evaluation."""
    pool = past if type_key == ANY_ACTIVITY else by_type.get(type_key, ())
    if where is None or not pool:
        return pool
    key = (type_key, where.property)
    raws = property_values.get(key)
    if raws is None:
        name = where.property
        raws = property_values[key] = [activity.properties.get(name) for activity in pool]
    return where.select(pool, raws)


def _score_rule(
    compiled: _CompiledRule,
    matches: Sequence[Activity],
    now: datetime,
    hits: list[RuleHit],
    aged_out: list[RuleHit],
    changes: list[datetime],
) -> None:
    rule = compiled.rule
    detail_property = None if compiled.where is None else compiled.where.property
    in_window = len(matches)
    if compiled.window is not None:
        cutoff = now - compiled.window
        in_window = 0
        for activity in matches:  # most recent first: the window is a prefix
            if activity.occurred_at <= cutoff:
                break
            in_window += 1
        if in_window:
            changes.append(matches[in_window - 1].occurred_at + compiled.window)
    if rule.min_count <= 1:
        cap = len(matches) if rule.max_count is None else rule.max_count
        counted = min(in_window, cap)
        points, count = counted * rule.points, counted
        lost = min(len(matches), cap) * rule.points - points
    else:
        fired = in_window >= rule.min_count
        points, count = (rule.points, in_window) if fired else (0, 0)
        lost = (rule.points if len(matches) >= rule.min_count else 0) - points
    if count:
        evidence = _evidence(matches[: min(count, EVIDENCE_LIMIT)], detail_property)
        hits.append(RuleHit(rule.id, "engagement", rule.name, points, count, evidence))
    if in_window < len(matches):
        aged = matches[in_window:]
        evidence = _evidence(aged[:EVIDENCE_LIMIT], detail_property)
        aged_out.append(RuleHit(rule.id, "engagement", rule.name, lost, len(aged), evidence))


def _evidence(activities: Sequence[Activity], detail_property: str | None) -> tuple[Evidence, ...]:
    return tuple(
        Evidence(activity.id, activity.type, activity.occurred_at, _detail(activity, detail_property))
        for activity in activities
    )


def _detail(activity: Activity, detail_property: str | None) -> str:
    properties = activity.properties
    names = (detail_property, *_DETAIL_PROPERTIES) if detail_property else _DETAIL_PROPERTIES
    for name in names:
        value = properties.get(name)
        if isinstance(value, str):
            if value.strip():
                return value.strip()
        elif value is not None:
            return _fmt(value)
    return ""


def _inactivity_hit(inactivity: Inactivity, last: Activity) -> RuleHit:
    evidence = Evidence(last.id, last.type, last.occurred_at, "last activity")
    name = f"No activity for {inactivity.days} days"
    return RuleHit("inactivity", "inactivity", name, inactivity.points, 1, (evidence,))


def _fire_triggers(
    triggers: tuple[_CompiledTrigger, ...],
    attributes: Mapping[str, Any],
    gates_passed: bool,
    past: list[Activity],
    by_type: dict[str, list[Activity]],
    now: datetime,
    changes: list[datetime],
) -> tuple[TriggerHit, ...]:
    hits: list[TriggerHit] = []
    ascending: list[datetime] | None = None
    for compiled in triggers:
        trigger = compiled.trigger
        if trigger.requires_gates and not gates_passed:
            continue
        if compiled.attribute is not None and not compiled.attribute(attributes):
            continue
        if compiled.silence is not None and ascending is None:
            ascending = [activity.occurred_at for activity in reversed(past)]
        fired = _trigger_activity(compiled, past, by_type, now, ascending)
        if fired is None:
            continue
        if compiled.within is not None:
            changes.append(fired.occurred_at + compiled.within)
        reason = trigger.reason or trigger.name
        hits.append(TriggerHit(trigger.id, trigger.name, reason, fired.id, fired.occurred_at))
    return tuple(hits)


def _trigger_activity(
    compiled: _CompiledTrigger,
    past: list[Activity],
    by_type: dict[str, list[Activity]],
    now: datetime,
    ascending: list[datetime] | None,
) -> Activity | None:
    """The most recent activity that fires the trigger, if any."""
    pool = past if compiled.type_key == ANY_ACTIVITY else by_type.get(compiled.type_key, ())
    cutoff = None if compiled.within is None else now - compiled.within
    for activity in pool:
        if cutoff is not None and activity.occurred_at <= cutoff:
            return None
        if compiled.where is not None and not compiled.where.test(activity):
            continue
        if compiled.silence is not None:
            assert ascending is not None
            earlier = bisect_left(ascending, activity.occurred_at)  # activities strictly before this one
            if not earlier or activity.occurred_at - ascending[earlier - 1] < compiled.silence:
                continue
        return activity
    return None
