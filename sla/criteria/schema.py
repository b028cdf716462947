"""The shape of the MQL criteria ("mql" in the agreement content): operators, conditions, rules, gates,
triggers, and their validation from the stored JSON. Pure Python: no Django."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# A rule or trigger whose activity is "*" matches every activity type (e.g. "a dormant lead comes back").
ANY_ACTIVITY = "*"
# How many activities a RuleHit quotes as evidence (the most recent ones); its count is always complete.
EVIDENCE_LIMIT = 5

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
        # Japan: free web mail, the mobile carriers' addresses and the big consumer ISPs
        "yahoo.co.jp", "ymail.ne.jp", "ybb.ne.jp", "outlook.jp", "hotmail.co.jp", "live.jp", "msn.co.jp",
        "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp", "disney.ne.jp",
        "ymobile.ne.jp", "y-mobile.ne.jp", "rakuten.jp", "nifty.com", "biglobe.ne.jp", "ocn.ne.jp",
        "so-net.ne.jp", "excite.co.jp", "goo.jp", "mail.goo.ne.jp", "infoseek.jp", "zoho.jp",
    }
)  # fmt: skip


# Attributes sales fill in after hand-off (the import keeps them apart as `outcome_*`): a rule on one would score
# the result instead of the lead, and look excellent on history while meaning nothing for a new lead.
LEAKY_PREFIXES = ("outcome_",)


def is_leaky_field(name: str) -> bool:
    return str(name).strip().casefold().startswith(LEAKY_PREFIXES)


def _scoring_condition(data: Any, path: str) -> Condition:
    """A rule's or gate's condition, refused when it reads an outcome written after hand-off."""
    condition = Condition.from_dict(data, path=path)
    if is_leaky_field(condition.field):
        raise CriteriaError(
            f"{path}.field",
            gettext_noop(
                "“%(field)s” is filled in after hand-off (it records the outcome); a rule on it would "
                "score the result, not the lead. Use what is known about the lead before sales see it."
            ),
            {"field": condition.field},
        )
    return condition


def gettext_noop(text: str) -> str:
    """Marks a message for the catalogue (makemessages reads this name); `sla.wording.problem_words` translates it."""
    return text


class CriteriaError(ValueError):
    """`message` is English; `template` (with %(name)s placeholders) and `values` let the Django side say it in the
    reader's language (`sla.wording.problem_words`)."""

    def __init__(self, path: str, message: str, values: Mapping[str, Any] | None = None) -> None:
        self.template = message
        self.values = dict(values or {})
        message = message % self.values if values else message
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
        raise CriteriaError(path, gettext_noop("must be an object"))
    for key in data:
        if key not in keys:
            raise CriteriaError(
                f"{path}.{key}",
                gettext_noop("unknown key (expected one of %(keys)s)"),
                {"keys": ", ".join(keys)},
            )
    for key in required:
        if key not in data:
            raise CriteriaError(f"{path}.{key}", gettext_noop("is required"))
    return data


def _list(data: Any, path: str) -> list[Any]:
    if data is None:
        return []
    if not isinstance(data, list | tuple):
        raise CriteriaError(path, gettext_noop("must be a list"))
    return list(data)


def _whole(value: Any, path: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CriteriaError(path, gettext_noop("must be a whole number"))
    return value


def _positive(
    value: Any, path: str, *, message: str = gettext_noop("must be a positive whole number")
) -> int:
    try:
        number = _whole(value, path)
    except CriteriaError:
        raise CriteriaError(path, message) from None
    if number < 1:
        raise CriteriaError(path, message)
    return number


def _positive_or_null(value: Any, path: str) -> int | None:
    return (
        None
        if value is None
        else _positive(value, path, message=gettext_noop("must be a positive whole number or null"))
    )


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CriteriaError(path, gettext_noop("must be a non-empty string"))
    return value


def _flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise CriteriaError(path, gettext_noop("must be true or false"))
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_fmt(item) for item in value) if value else "empty"
    return str(value).strip()


def _op(value: Any, path: str) -> Op:
    try:
        return Op(value)
    except ValueError:
        known = ", ".join(op.value for op in Op)
        raise CriteriaError(
            path,
            gettext_noop('unknown operator "%(op)s" (expected one of %(known)s)'),
            {"op": value, "known": known},
        ) from None


def _check_value(op: Op, value: Any, path: str) -> Any:
    """Return the value in its stored shape (lists become tuples so criteria stay hashable)."""
    if op in _UNUSED_VALUE_OPS:
        return None
    if op in (Op.EQUALS, Op.NOT_EQUALS):
        if not _is_scalar(value):
            raise CriteriaError(path, gettext_noop("must be text, a number or true/false"))
        return value
    if op is Op.ONE_OF:
        if not isinstance(value, list | tuple) or not value:
            raise CriteriaError(path, gettext_noop("must be a non-empty list"))
        for index, item in enumerate(value):
            if not _is_scalar(item):
                raise CriteriaError(f"{path}[{index}]", gettext_noop("must be text, a number or true/false"))
        return tuple(value)
    if op in (Op.CONTAINS, Op.STARTS_WITH):
        if not isinstance(value, str) or not value.strip():
            raise CriteriaError(path, gettext_noop("must be non-empty text"))
        return value
    if op in (Op.GTE, Op.LTE):
        if not _is_number(value):
            raise CriteriaError(path, gettext_noop("must be a number"))
        return value
    # Op.BETWEEN
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise CriteriaError(path, gettext_noop("must be a [low, high] pair of numbers"))
    for index, item in enumerate(value):
        if not _is_number(item):
            raise CriteriaError(f"{path}[{index}]", gettext_noop("must be a number"))
    low, high = value
    if low > high:
        raise CriteriaError(
            path,
            gettext_noop("low (%(low)s) must not be greater than high (%(high)s)"),
            {"low": _fmt(low), "high": _fmt(high)},
        )
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
            condition=_scoring_condition(data["condition"], f"{path}.condition"),
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
            raise CriteriaError(f"{path}.points", gettext_noop("must be zero or negative (it is a penalty)"))
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
            condition=_scoring_condition(data["condition"], f"{path}.condition"),
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
            raise CriteriaError(f"{path}.reason", gettext_noop("must be a string"))
        return cls(
            id=_text(data["id"], f"{path}.id"),
            name=_text(data["name"], f"{path}.name"),
            activity=_text(data["activity"], f"{path}.activity"),
            where=None if where is None else ActivityMatch.from_dict(where, path=f"{path}.where"),
            attribute=None if attribute is None else _scoring_condition(attribute, f"{path}.attribute"),
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


_MQL_KEYS = ("threshold", "fit_rules", "engagement_rules", "inactivity", "gates", "triggers", "max_rules")


@dataclass(frozen=True, slots=True)
class MqlCriteria:
    threshold: int
    fit_rules: tuple[FitRule, ...] = ()
    engagement_rules: tuple[EngagementRule, ...] = ()
    inactivity: Inactivity | None = None
    gates: tuple[Gate, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    max_rules: int | None = None  # the most scoring rules the review may propose (None: its default, 15)
    # The engine's compiled matchers, set on first evaluation (sla.criteria.engine.compiled).
    _compiled: Any = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name in ("fit_rules", "engagement_rules", "gates", "triggers"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    # The compiled matchers are closures, which pickle cannot store: pickle the fields; they compile again.
    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _MQL_KEYS)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(_MQL_KEYS, state, strict=True):
            object.__setattr__(self, name, value)

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
            max_rules=_positive_or_null(data.get("max_rules"), f"{path}.max_rules"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "fit_rules": [rule.to_dict() for rule in self.fit_rules],
            "engagement_rules": [rule.to_dict() for rule in self.engagement_rules],
            "inactivity": None if self.inactivity is None else self.inactivity.to_dict(),
            "gates": [gate.to_dict() for gate in self.gates],
            "triggers": [trigger.to_dict() for trigger in self.triggers],
        } | ({} if self.max_rules is None else {"max_rules": self.max_rules})


def _items(data: Mapping[str, Any], key: str, path: str) -> list[tuple[int, Any]]:
    return list(enumerate(_list(data.get(key), f"{path}.{key}")))


def _check_unique_ids(path: str, **sections: Sequence[FitRule | EngagementRule | Gate | Trigger]) -> None:
    seen: dict[str, str] = {}
    for section, rules in sections.items():
        for index, rule in enumerate(rules):
            where = f"{path}.{section}[{index}]"
            if rule.id in seen:
                raise CriteriaError(
                    f"{where}.id",
                    gettext_noop('duplicate id "%(id)s" (already used by %(other)s)'),
                    {"id": rule.id, "other": seen[rule.id]},
                )
            seen[rule.id] = where
