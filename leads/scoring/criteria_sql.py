"""MQL criteria judged by the database: `sla.criteria.evaluate`'s verdict, as one SQL query over many leads.

What it is for: questions that count, never writes. "How many open leads would this draft make MQLs, and which
enter or leave the queue?" (feedback/whatif.py) must not pull a million leads and their activities into Python:
`annotate_evaluation` puts the verdict (score, fit, engagement, per-rule points, gates, triggers, MQL, tier, the
recycle rule) into one query that PostgreSQL and SQLite both run, and `count_mqls` turns it into three numbers.
It computes no breakdown evidence, failed-gate text or next rescore time, so nothing stored on a lead comes from
here: scoring, the activation's bulk rescore included, is `evaluate` (leads/scoring/rescore.py). The semantics are those of docs/agreement-content.md, exactly as
`evaluate` implements them; leads/tests/test_criteria_sql.py holds the two to the same answers on both databases.

Shape of the query. Lead-side facts (fit rules, gates, a trigger's attribute condition) are plain CASE
expressions on the lead's columns and its `attributes` JSON. Activity-side facts are aggregates over the lead's
activities up to `now`, in a correlated subquery (`COUNT(*) FILTER (WHERE ...)` per rule, one index range scan of
leads_activity per lead). Each final value (`sql_total`, `sql_is_mql`, `sql_tier`, ...) is one such subquery that
reads the lead-side facts through OuterRef: Django copies an annotation into every annotation that refers to it, so
building `sql_tier` on top of `sql_total` would run the activity scan once per reference.

Recycling (leads.lifecycle.rules.counts_since, may_hand_over) is applied as leads.scoring applies it: a recycled
or lost lead counts only the activity after it was turned down (`_SINCE`), and it is no MQL until it has some.

Where SQL reads a value differently from Python, it says so here rather than drifting silently:
- Criteria text (values, activity types) must be ASCII: SQLite's LOWER() folds ASCII letters only, so
  `can_express` refuses anything else and callers use the Python evaluator. Lead data may hold any text, and
  against an ASCII needle only the non-ASCII characters whose casefold() holds ASCII letters could tell: ß and
  ẞ are folded to "ss" like Python does; the 17 rarer ones (the ligatures ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ, long s ſ, the Kelvin
  sign K, dotted İ, ŉ, and ǰ ẖ ẗ ẘ ẙ ẚ) are compared as written, so "ﬁnance" does not equal "finance" in SQL.
- Numeric text is read like float() for [sign]digits[.digits][e±exponent up to 999], with commas removed and
  underscores between digits; float() also reads non-ASCII digits and longer exponents, SQL does not.
- Text operators on a custom attribute or property that holds a list or an object compare its JSON text where
  Python compares its repr (['a'] against ["a"]); on a float they compare the database's rendering, which equals
  Python's repr except for whole floats beyond 2**63 and, on PostgreSQL, fractions between 1e15 and 1e16.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from django.db import NotSupportedError
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    Expression,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Least, Length, Replace, Substr
from django.db.models.lookups import (
    Contains,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThanOrEqual,
    Regex,
    StartsWith,
)

from leads.lifecycle import rules as life
from leads.models import Activity
from leads.normalise import LEAD_FIELDS
from sla.criteria import (
    ANY_ACTIVITY,
    FREE_MAIL_DOMAINS,
    ActivityMatch,
    Condition,
    EngagementRule,
    Inactivity,
    MqlCriteria,
    Op,
    Trigger,
)

__all__ = [
    "NotExpressible",
    "annotate_evaluation",
    "can_express",
    "condition_q",
    "count_mqls",
    "gate_alias",
    "rule_alias",
    "trigger_alias",
]


class NotExpressible(ValueError):
    """These criteria cannot be judged faithfully in SQL on both databases: use `sla.criteria.evaluate`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def rule_alias(rule_id: str) -> str:
    """The annotation holding the points a fit or engagement rule gave (`rule_inactivity` for the penalty)."""
    return f"rule_{rule_id}"


def gate_alias(gate_id: str) -> str:
    return f"gate_{gate_id}"


def trigger_alias(trigger_id: str) -> str:
    return f"trigger_{trigger_id}"


# ---------------------------------------------------------------------------------------------------------
# What SQL cannot say


_SAFE_ID = re.compile(
    r"[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*"
)  # an annotation name Django and both databases accept
_SAFE_KEY = re.compile(r"[ -~]+")  # printable ASCII: a SQLite JSON path label cannot hold '"' or '\'
_TEXT_OPS = frozenset({Op.EQUALS, Op.NOT_EQUALS, Op.ONE_OF, Op.CONTAINS, Op.STARTS_WITH})
_MAX_SILENCE_DAYS = 36_500  # date arithmetic past a century risks leaving the databases' timestamp range
_MAX_POINTS = 10**9  # sums of counts times points stay far inside a 64-bit integer


def can_express(criteria: MqlCriteria) -> str | None:
    """Why these criteria cannot be evaluated in SQL, or None when `annotate_evaluation` can."""
    for check in (_non_ascii_text, _unsafe_key, _unsafe_id, _out_of_range):
        reason = check(criteria)
        if reason:
            return reason
    return None


def _conditions(criteria: MqlCriteria) -> list[Condition | ActivityMatch]:
    rules: list[Any] = [*criteria.engagement_rules, *criteria.triggers]
    return [
        *(rule.condition for rule in (*criteria.fit_rules, *criteria.gates)),
        *(rule.where for rule in rules if rule.where is not None),
        *(trigger.attribute for trigger in criteria.triggers if trigger.attribute is not None),
    ]


def _non_ascii_text(criteria: MqlCriteria) -> str | None:
    texts = [rule.activity for rule in (*criteria.engagement_rules, *criteria.triggers)]
    for condition in _conditions(criteria):
        if condition.op in _TEXT_OPS:
            values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
            texts += [value for value in values if isinstance(value, str)]
    for text in texts:
        if not text.isascii():
            return f'"{text}" is not ASCII: SQLite\'s LOWER() folds ASCII letters only'
    return None


def _unsafe_key(criteria: MqlCriteria) -> str | None:
    for condition in _conditions(criteria):
        key = condition.field if isinstance(condition, Condition) else condition.property
        if not _SAFE_KEY.fullmatch(key) or '"' in key or "\\" in key:
            return f'"{key}" cannot be looked up in JSON on SQLite (non-ASCII, a quote or a backslash)'
    return None


def _unsafe_id(criteria: MqlCriteria) -> str | None:
    for rule in (*criteria.fit_rules, *criteria.engagement_rules, *criteria.gates, *criteria.triggers):
        if not _SAFE_ID.fullmatch(rule.id):
            return f'rule id "{rule.id}" does not make a column name (letters, digits, single _ or -)'
    if criteria.inactivity and any(rule.id == "inactivity" for rule in criteria.fit_rules):
        return 'a fit rule\'s id "inactivity" clashes with the inactivity penalty'
    if criteria.inactivity and any(rule.id == "inactivity" for rule in criteria.engagement_rules):
        return 'an engagement rule\'s id "inactivity" clashes with the inactivity penalty'
    return None


def _out_of_range(criteria: MqlCriteria) -> str | None:
    for trigger in criteria.triggers:
        if (trigger.min_silence_days or 0) > _MAX_SILENCE_DAYS:
            return f"trigger {trigger.id}: a silence of more than {_MAX_SILENCE_DAYS} days"
    points = [rule.points for rule in (*criteria.fit_rules, *criteria.engagement_rules)]
    if criteria.inactivity:
        points.append(criteria.inactivity.points)
    if any(abs(value) > _MAX_POINTS for value in (*points, criteria.threshold)):
        return f"points or threshold beyond ±{_MAX_POINTS:,}"
    return None


# ---------------------------------------------------------------------------------------------------------
# Portable SQL pieces: each reproduces one Python behaviour on both databases

# Python's str.strip() removes these (str.isspace()); SQL's TRIM(x) only removes spaces.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# float() reads these (after commas and outer spaces go); longer exponents would overflow PostgreSQL's NUMERIC.
_NUMBER = r"^[+-]?([0-9]+(_[0-9]+)*([.]([0-9]+(_[0-9]+)*)?)?|[.][0-9]+(_[0-9]+)*)([eE][+-]?0*[0-9]{1,3})?$"
_INTEGER = r"^-?[0-9]+$"
# float() gives infinity from 2**1024 - 2**970 up (ties round to even) and 0.0 up to 2**-1075.
_FLOAT_INFINITE_FROM = Decimal(2**1024 - 2**970)
_FLOAT_ZERO_UP_TO = Decimal(5**1075).scaleb(-1075)
_ARGUMENT = re.compile(r"\{(\d)\}")


class _Portable(Func):
    """SQL that differs between PostgreSQL and SQLite. In `templates`, {0}, {1}, ... stand for the arguments;
    one may appear several times (its parameters are repeated) or not at all."""

    templates: ClassVar[dict[str, str]] = {}

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        template = self.templates.get(connection.vendor)
        if template is None:
            raise NotSupportedError(f"{type(self).__name__} supports PostgreSQL and SQLite only")
        if connection.vendor == "sqlite" and connection.Database.sqlite_version_info < (3, 38):
            raise NotSupportedError("criteria in SQL need SQLite 3.38 or later (the JSON -> operators)")
        compiled = [compiler.compile(argument) for argument in self.get_source_expressions()]
        parts: list[str] = []
        params: list[Any] = []
        start = 0
        for match in _ARGUMENT.finditer(template):
            sql, argument_params = compiled[int(match.group(1))]
            parts += [template[start : match.start()], sql]
            params += argument_params
            start = match.end()
        parts.append(template[start:])
        return "".join(parts), params


class _StripSpace(_Portable):
    """str.strip(): every Unicode white space, where TRIM(x) removes spaces only."""

    output_field = TextField()
    templates = {"postgresql": "BTRIM({0}, {1})", "sqlite": "TRIM({0}, {1})"}

    def __init__(self, text: Any) -> None:
        super().__init__(text, Value(_WHITESPACE))


class _RTrimChars(_Portable):
    output_field = TextField()
    templates = {"postgresql": "RTRIM({0}, {1})", "sqlite": "RTRIM({0}, {1})"}


class _AsciiLower(_Portable):
    """Lower-case ASCII letters only, the same on both databases: SQLite's LOWER() does just that, and so does
    PostgreSQL's under the "C" collation (under others it follows the locale, and may fold the Kelvin sign to "k"
    where SQLite cannot). It is also the cheapest form: TRANSLATE() costs ten times as much."""

    output_field = TextField()
    templates = {"postgresql": 'LOWER(({0}) COLLATE "C")', "sqlite": "LOWER({0})"}


class _ParseNumber(_Portable):
    """float() of text already stripped of commas and outer white space; NULL where float() fails or gives an
    infinity. PostgreSQL raises on a cast out of float8's range, so the size is checked as NUMERIC first."""

    output_field = FloatField()
    templates = {
        "postgresql": (
            "(CASE WHEN {0} ~ {1} THEN (CASE"
            " WHEN ABS(REPLACE({0}, '_', '')::numeric) >= {2} THEN NULL"
            " WHEN ABS(REPLACE({0}, '_', '')::numeric) <= {3} THEN 0::float8"
            " ELSE REPLACE({0}, '_', '')::float8 END) END)"
        ),
        "sqlite": (
            "(CASE WHEN {0} REGEXP {1} THEN (CASE"
            " WHEN ABS(CAST(REPLACE({0}, '_', '') AS REAL)) <= 1.7976931348623157e308"
            " THEN CAST(REPLACE({0}, '_', '') AS REAL) END) END)"
        ),
    }

    def __init__(self, text: Any) -> None:
        super().__init__(text, Value(_NUMBER), Value(_FLOAT_INFINITE_FROM), Value(_FLOAT_ZERO_UP_TO))


class _WholeFloatText(_Portable):
    """str(int(x)) for a whole float x below 2**63, else NULL."""

    output_field = TextField()
    templates = {
        "postgresql": "(CASE WHEN {0} = TRUNC({0}) AND ABS({0}) < 9.2e18 THEN CAST(CAST({0} AS bigint) AS text) END)",
        "sqlite": "(CASE WHEN {0} = CAST({0} AS INTEGER) AND ABS({0}) < 9.2e18 THEN CAST(CAST({0} AS INTEGER) AS TEXT) END)",
    }


class _FloatRepr(_Portable):
    """repr() of a JSON float, from its JSON text {0} and value {1}: PostgreSQL prints float8 in the same shortest
    round-trip form; SQLite keeps the JSON text json.dumps wrote, which is repr()."""

    output_field = TextField()
    templates = {"postgresql": "CAST({1} AS text)", "sqlite": "{0}"}


class _JsonLeaf(_Portable):
    """A value at `key` of a JSON column: PostgreSQL takes the key ({1}), SQLite a JSON path ({2})."""

    def __init__(self, column: Any, key: str) -> None:
        super().__init__(column, Value(key), Value(f'$."{key}"'))


class _JsonKind(_JsonLeaf):
    """'string', 'number', 'boolean', 'array' or 'object'; NULL when the key is missing or null (Python: None)."""

    output_field = CharField()
    templates = {
        "postgresql": "NULLIF(JSONB_TYPEOF({0} -> {1}), 'null')",
        "sqlite": (
            "(CASE JSON_TYPE({0}, {2}) WHEN 'text' THEN 'string' WHEN 'integer' THEN 'number'"
            " WHEN 'real' THEN 'number' WHEN 'true' THEN 'boolean' WHEN 'false' THEN 'boolean'"
            " WHEN 'array' THEN 'array' WHEN 'object' THEN 'object' END)"
        ),
    }


class _JsonString(_JsonLeaf):
    """The text of a JSON string."""

    output_field = TextField()
    templates = {"postgresql": "({0} ->> {1})", "sqlite": "({0} ->> {2})"}


class _JsonText(_JsonLeaf):
    """The JSON text of a number, boolean, list or object ('true', '1.5', '["a"]')."""

    output_field = TextField()
    templates = {"postgresql": "({0} ->> {1})", "sqlite": "({0} -> {2})"}


class _JsonEmptyContainer(_JsonLeaf):
    output_field = BooleanField()
    templates = {
        "postgresql": "(({0} -> {1}) IN ('[]'::jsonb, '{}'::jsonb))",
        "sqlite": "(JSON_TYPE({0}, {2}) IN ('array', 'object') AND ({0} -> {2}) IN ('[]', '{}'))",
    }


def _casefold(text: Any, needles: Iterable[str]) -> _AsciiLower:
    """casefold() as far as ASCII `needles` can tell: ASCII letters fold, and ß and ẞ become "ss" (only worth
    doing when a needle holds an "s"). The 17 rarer characters whose casefold() holds ASCII letters stay as
    written: replacing them all nests too deep for SQLite's parser (see the module docstring)."""
    if "s" in "".join(needles):
        text = Replace(Replace(text, Value("ß"), Value("ss")), Value("ẞ"), Value("ss"))
    return _AsciiLower(text)


def _fold(text: Any, needles: Iterable[str]) -> _AsciiLower:
    """str.strip().casefold(), as `_casefold` (folding never makes or removes white space)."""
    return _casefold(_StripSpace(text), needles)


def _number_text(text: Any) -> _ParseNumber:
    """Python's _number() of text: `float(text.strip().replace(",", ""))` (float() strips again)."""
    return _ParseNumber(_StripSpace(Replace(_StripSpace(text), Value(","), Value(""))))


def _mail_domain(text: Any) -> _AsciiLower:
    """`_norm(text).rpartition("@")[2].strip().rstrip(".")`, folded last (casefold() never makes or removes an
    "@", a dot or white space). RTRIM(x, x-without-@) keeps x up to its last "@" (nothing when there is none),
    so the domain starts one character after that prefix."""
    stripped = _StripSpace(text)
    up_to_last_at = _RTrimChars(stripped, Replace(stripped, Value("@"), Value("")))
    domain = _RTrimChars(_StripSpace(Substr(stripped, Length(up_to_last_at) + 1)), Value("."))
    return _casefold(domain, FREE_MAIL_DOMAINS)


# ---------------------------------------------------------------------------------------------------------
# Subjects: the value a condition looks at, seen the ways sla.criteria's matchers see it


class _Subject(Protocol):
    def present(self) -> Q:
        """raw is not None. Never NULL."""

    def empty(self) -> Q:
        """_is_empty(raw): missing, blank text, empty list or object. Never NULL."""

    def norm(self, needles: Iterable[str]) -> Expression:
        """_norm(raw) as compared with these (ASCII) needles; NULL when raw is None."""

    def number(self) -> Expression:
        """_number(raw) as a float; NULL when raw is None or not a number."""

    def text(self) -> Expression:
        """The raw text, unfolded (what free_mail reads a domain from)."""


@dataclass(frozen=True)
class _TextColumn:
    """A lead's text field: never NULL, blank when unknown."""

    name: str

    def present(self) -> Q:
        return Q()

    def empty(self) -> Q:
        return Q(Exact(_StripSpace(F(self.name)), ""))

    def norm(self, needles: Iterable[str]) -> Expression:
        return _fold(F(self.name), needles)

    def number(self) -> Expression:
        return _number_text(F(self.name))

    def text(self) -> Expression:
        return F(self.name)


@dataclass(frozen=True)
class _IntegerColumn:
    """`employees`: a whole number or NULL."""

    name: str

    def present(self) -> Q:
        return Q(IsNull(F(self.name), False))

    def empty(self) -> Q:
        return Q(IsNull(F(self.name), True))

    def norm(self, needles: Iterable[str]) -> Expression:
        return self.text()

    def number(self) -> Expression:
        return Cast(F(self.name), FloatField())

    def text(self) -> Expression:
        return Cast(F(self.name), TextField())


class _ByKind(_Portable):
    """One value per JSON kind ({0}), reading the kind once: string {1}, number {2}, boolean {3}, else {4}."""

    templates = dict.fromkeys(
        ("postgresql", "sqlite"),
        "(CASE {0} WHEN 'string' THEN {1} WHEN 'number' THEN {2} WHEN 'boolean' THEN {3} ELSE {4} END)",
    )


@dataclass(frozen=True)
class _JsonKey:
    """A custom attribute (`attributes`) or an activity property (`properties`): any JSON value."""

    column: str
    key: str

    def _kind(self) -> _JsonKind:
        return _JsonKind(F(self.column), self.key)

    def _string(self) -> _JsonString:
        return _JsonString(F(self.column), self.key)

    def _json(self) -> _JsonText:
        return _JsonText(F(self.column), self.key)

    def present(self) -> Q:
        return Q(IsNull(self._kind(), False))

    def empty(self) -> Q:
        kind = self._kind()
        blank = Q(Exact(kind, "string")) & Q(Exact(_StripSpace(self._string()), ""))
        return Q(IsNull(kind, True)) | blank | Q(_JsonEmptyContainer(F(self.column), self.key))

    def norm(self, needles: Iterable[str]) -> Expression:
        string = _fold(self._string(), needles)
        other = _fold(self._json(), needles)  # a list or an object: its JSON text (Python: its repr)
        return _ByKind(
            self._kind(), string, self._number_norm(), self._json(), other, output_field=TextField()
        )

    def _number_norm(self) -> Case:
        """An integer keeps its digits, a whole float reads as one ("100.0" → "100"), any other float as repr."""
        text = self._json()
        value = _ParseNumber(text)
        return Case(
            When(Regex(text, _INTEGER), then=text),
            When(IsNull(_WholeFloatText(value), False), then=_WholeFloatText(value)),
            default=_FloatRepr(text, value),
            output_field=TextField(),
        )

    def number(self) -> Expression:
        nothing = Value(None, output_field=FloatField())
        number, string = _ParseNumber(self._json()), _number_text(self._string())
        return _ByKind(self._kind(), string, number, nothing, nothing, output_field=FloatField())

    def text(self) -> Expression:
        return self._string()


def _lead_subject(field: str) -> _Subject:
    """attributes_of(lead): the lead's own fields win over custom attributes of the same name."""
    if field == "employees":
        return _IntegerColumn(field)
    if field in LEAD_FIELDS:
        return _TextColumn(field)
    return _JsonKey("attributes", field)


def _property_subject(name: str) -> _Subject:
    return _JsonKey("properties", name)


# ---------------------------------------------------------------------------------------------------------
# Operators: each gives a Q where NULL, as in a WHERE or a FILTER, means no match. The two that negate
# (not_equals, is_not_empty) negate a Q that is never NULL, so NOT cannot turn an unknown into a match.


def _norm_value(value: Any) -> str:
    """sla.criteria's _norm of a criteria value (text, number or true/false)."""
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _on_norm(subject: _Subject, lookup: type, values: str | list[str]) -> Q:
    """NULL (no match) when raw is None; never negated."""
    needles = [values] if isinstance(values, str) else values
    return Q(lookup(subject.norm(needles), values))


def _on_number(subject: _Subject, low: float | None, high: float | None) -> Q:
    number = subject.number()
    q = Q(IsNull(number, False))
    if low is not None:
        q &= Q(GreaterThanOrEqual(number, low))
    if high is not None:
        q &= Q(LessThanOrEqual(number, high))
    return q


def _equals(subject: _Subject, value: Any) -> Q:
    """Never NULL: not_equals negates it."""
    if _is_number(value):
        return _on_number(subject, float(value), float(value))
    norm = subject.norm([_norm_value(value)])
    return Q(IsNull(norm, False)) & Q(Exact(norm, _norm_value(value)))


def _not_equals(subject: _Subject, value: Any) -> Q:
    return subject.present() & ~_equals(subject, value)


def _one_of(subject: _Subject, value: Any) -> Q:
    return _on_norm(subject, In, sorted({_norm_value(item) for item in value}))


def _contains(subject: _Subject, value: Any) -> Q:
    return _on_norm(subject, Contains, _norm_value(value))


def _starts_with(subject: _Subject, value: Any) -> Q:
    return _on_norm(subject, StartsWith, _norm_value(value))


def _gte(subject: _Subject, value: Any) -> Q:
    return _on_number(subject, float(value), None)


def _lte(subject: _Subject, value: Any) -> Q:
    return _on_number(subject, None, float(value))


def _between(subject: _Subject, value: Any) -> Q:
    return _on_number(subject, float(value[0]), float(value[1]))


def _is_empty(subject: _Subject, value: Any) -> Q:
    return subject.empty()


def _is_not_empty(subject: _Subject, value: Any) -> Q:
    return ~subject.empty()


def _free_mail(subject: _Subject, value: Any) -> Q:
    return Q(In(_mail_domain(subject.text()), sorted(FREE_MAIL_DOMAINS)))


_OPERATORS = {
    Op.EQUALS: _equals,
    Op.NOT_EQUALS: _not_equals,
    Op.ONE_OF: _one_of,
    Op.CONTAINS: _contains,
    Op.STARTS_WITH: _starts_with,
    Op.GTE: _gte,
    Op.LTE: _lte,
    Op.BETWEEN: _between,
    Op.IS_EMPTY: _is_empty,
    Op.IS_NOT_EMPTY: _is_not_empty,
    Op.FREE_MAIL: _free_mail,
}


def condition_q(condition: Condition) -> Q:
    """The lead-side Q of an attribute condition (fit rule, gate, trigger attribute)."""
    return _OPERATORS[condition.op](_lead_subject(condition.field), condition.value)


def _where_q(where: ActivityMatch) -> Q:
    return _OPERATORS[where.op](_property_subject(where.property), where.value)


def _flag(q: Q) -> Case:
    return Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField())


def _points_if(q: Q, points: int) -> Case:
    return Case(When(q, then=Value(points)), default=Value(0), output_field=IntegerField())


# ---------------------------------------------------------------------------------------------------------
# Activity side: aggregates over one lead's activities up to `now`, the rows of a per-lead subquery


@dataclass(frozen=True)
class _Activities:
    now: datetime
    type_keys: frozenset[str]  # every activity type the criteria name, folded

    @classmethod
    def of(cls, criteria: MqlCriteria, now: datetime) -> _Activities:
        named = (rule.activity for rule in (*criteria.engagement_rules, *criteria.triggers))
        return cls(now, frozenset(_type_key(name) for name in named) - {ANY_ACTIVITY})

    def since(self, days: int) -> Q:
        """Half-open window: an activity exactly `days` old no longer counts. The cutoff is `now - days` in
        `now`'s own time zone, as evaluate() computes it (wall-clock days: across a DST change in that zone the
        window is an hour longer or shorter; leads.scoring passes UTC)."""
        return Q(GreaterThan(F("occurred_at"), self.now - timedelta(days=days)))

    def matching(self, activity_type: str, where: ActivityMatch | None, window: int | None) -> Q:
        """The cheapest test first (both databases stop an AND at the first false): the window, a timestamp
        comparison, rules out most rows before the type and the `where` are folded and read."""
        q = Q() if window is None else self.since(window)
        type_key = _type_key(activity_type)
        if type_key != ANY_ACTIVITY:
            q &= self.of_type(type_key)
        if where is not None:
            q &= _where_q(where)
        return q

    def of_type(self, type_key: str) -> Q:
        """Types match case-insensitively and trimmed. A type stored exactly as one of the criteria's keys (the
        usual case) is its own fold, so only the others are folded."""
        type_ = F("type")
        unusual = ~Q(In(type_, sorted(self.type_keys))) & Q(Exact(_fold(type_, [type_key]), type_key))
        return Q(Exact(type_, type_key)) | unusual

    def rule_points(self, rule: EngagementRule) -> Expression:
        counted: Any = Count("pk", filter=self.matching(rule.activity, rule.where, rule.window_days))
        if rule.min_count > 1:  # a frequency rule scores once
            return _points_if(Q(GreaterThanOrEqual(counted, rule.min_count)), rule.points)
        if rule.max_count is not None:  # never NULL: Least() is safe on SQLite
            counted = Least(counted, Value(rule.max_count))
        return counted * Value(rule.points)

    def inactivity_points(self, inactivity: Inactivity) -> Case:
        """No activity at all gives MAX() NULL, hence no penalty: that silence has no start. evaluate() adds the
        days to the last activity, a UTC time, so the cutoff is taken in UTC."""
        cutoff = self.now.astimezone(UTC) - timedelta(days=inactivity.days)
        return _points_if(Q(LessThanOrEqual(Max("occurred_at"), cutoff)), inactivity.points)

    def engagement(self, criteria: MqlCriteria) -> Expression | None:
        terms = [self.rule_points(rule) for rule in criteria.engagement_rules]
        if criteria.inactivity is not None:
            terms.append(self.inactivity_points(criteria.inactivity))
        return _sum(terms)

    def fired(self, trigger: Trigger) -> Q:
        q = self.matching(trigger.activity, trigger.where, trigger.within_days)
        if trigger.min_silence_days is not None:
            q &= _came_back_after(trigger.min_silence_days)
        return Q(GreaterThan(Count("pk", filter=q), 0))


def _type_key(activity_type: str) -> str:
    return activity_type.strip().casefold()


def _came_back_after(days: int) -> Q:
    """The activity had an earlier one (a first-ever activity is no comeback), and none in the `days` before it:
    the latest earlier activity is at least `days` older."""
    earlier = Activity.objects.filter(
        _counts(OuterRef(OuterRef(_SINCE))),
        lead_id=OuterRef("lead_id"),
        occurred_at__lt=OuterRef("occurred_at"),
    )
    too_recent = earlier.filter(occurred_at__gt=OuterRef("occurred_at") - timedelta(days=days))
    return Q(Exists(earlier)) & ~Q(Exists(too_recent))


def _sum(terms: list[Any]) -> Any:
    """a + b + c + ... as a balanced tree: SQLite's parser stack overflows on deeply nested expressions."""
    if not terms:
        return None
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


# ---------------------------------------------------------------------------------------------------------
# Putting it together

_FIT = "_crit_fit"
_GATES = "_crit_gates"
_SINCE = (
    "_crit_since"  # life.counts_since: activity at or before it no longer counts (NULL: all of it counts)
)
_WAITS = "_crit_waits"  # life.may_hand_over is false: handed back, and nothing done since
_NEVER = Q(Exact(Value(1), 0))


def _lead_trigger_alias(index: int) -> str:
    return f"_crit_trigger{index}"


def _lead_side(criteria: MqlCriteria) -> dict[str, Expression]:
    """Hidden annotations the per-lead subqueries read through OuterRef: the fit score, the gates, and each
    trigger's lead-side condition (gates when it requires them, its attribute condition)."""
    fit = _sum([_points_if(condition_q(rule.condition), rule.points) for rule in criteria.fit_rules])
    gates = [condition_q(gate.condition) for gate in criteria.gates]
    aliases: dict[str, Expression] = {
        _FIT: Value(0) if fit is None else fit,
        _GATES: _flag(_all(gates)) if gates else Value(True),
        _SINCE: _counts_since(),
        _WAITS: _flag(
            ~Q(IsNull(F(_SINCE), True))
            & ~Exists(Activity.objects.filter(_counts(OuterRef(_SINCE)), lead_id=OuterRef("pk")))
        ),
    }
    for index, trigger in enumerate(criteria.triggers):
        q = Q()
        if trigger.requires_gates and gates:
            q &= _all(gates)
        if trigger.attribute is not None:
            q &= condition_q(trigger.attribute)
        aliases[_lead_trigger_alias(index)] = _flag(q) if q else Value(True)
    return aliases


def _counts_since() -> Case:
    """life.counts_since in SQL: a recycled lead counts from its rejection, a lost one from the loss."""
    return Case(
        When(Q(state=life.State.RECYCLED, decided_at__isnull=False), then=F("decided_at")),
        When(Q(state=life.State.LOST, outcome_at__isnull=False), then=F("outcome_at")),
        default=Value(None),
        output_field=DateTimeField(),
    )


def _counts(since: Any) -> Q:
    """Activity rows that count towards a hand-over, `since` being the lead's `_SINCE` seen from the row."""
    return Q(IsNull(since, True)) | Q(GreaterThan(F("occurred_at"), since))


def _all(qs: list[Q]) -> Q:
    combined = Q()
    for q in qs:
        combined &= q
    return combined


def _per_lead(expression: Any, output_field: Any, now: datetime) -> Subquery:
    """`expression` over the lead's activities up to `now`, as a correlated scalar subquery. Without GROUP BY an
    aggregate query returns exactly one row, so a lead with no activity still gets its value (COUNT() is 0)."""
    query = (
        Activity.objects.filter(_counts(OuterRef(_SINCE)), lead_id=OuterRef("pk"), occurred_at__lte=now)
        .annotate(_value=expression)
        .values("_value")
        .query
    )
    query.group_by = None
    return Subquery(query, output_field=output_field)


Ref = type[F]  # F on the lead's row, OuterRef from inside a per-lead subquery


@dataclass(frozen=True)
class _Judgement:
    """The final values, built for either place: on the lead's row (`ref` is F) when they read no activity,
    else inside a per-lead subquery that reads the lead-side facts through OuterRef."""

    criteria: MqlCriteria
    activities: _Activities

    def trigger_fired(self, ref: Ref, index: int, trigger: Trigger) -> Q:
        return _true(ref, _lead_trigger_alias(index)) & self.activities.fired(trigger)

    def triggered(self, ref: Ref) -> Q | None:
        fired = [
            self.trigger_fired(ref, index, trigger) for index, trigger in enumerate(self.criteria.triggers)
        ]
        if not fired:
            return None
        any_fired = fired[0]
        for q in fired[1:]:
            any_fired |= q
        return any_fired

    def total(self, ref: Ref) -> Any:
        engagement = self.activities.engagement(self.criteria)
        return ref(_FIT) if engagement is None else ref(_FIT) + engagement

    def by_score(self, ref: Ref) -> Q:
        return Q(GreaterThanOrEqual(self.total(ref), self.criteria.threshold))

    def is_mql(self, ref: Ref) -> Case:
        triggered = self.triggered(ref)
        reason = self.by_score(ref) if triggered is None else self.by_score(ref) | triggered
        return _flag(_true(ref, _GATES) & ~_true(ref, _WAITS) & reason)

    def tier(self, ref: Ref) -> Case:
        """A lead that fails a gate, or waits for new activity, has no tier whatever fired; then a trigger makes
        it hot, the score warm."""
        triggered = self.triggered(ref)
        outside = When(~_true(ref, _GATES) | _true(ref, _WAITS), then=Value(""))
        hot = [] if triggered is None else [When(triggered, then=Value("hot"))]
        warm = When(self.by_score(ref), then=Value("warm"))
        return Case(outside, *hot, warm, default=Value(""), output_field=CharField())

    @property
    def scores_activity(self) -> bool:
        return bool(self.criteria.engagement_rules or self.criteria.inactivity)

    def final(self, build: Callable[[Ref], Any], output_field: Any, *, reads_activities: bool) -> Any:
        """`build(OuterRef)` in a per-lead subquery when the value reads activities, else `build(F)`."""
        if reads_activities:
            return _per_lead(build(OuterRef), output_field, self.activities.now)
        return build(F)


def _true(ref: Ref, alias: str) -> Q:
    return Q(Exact(ref(alias), True))


def _check(criteria: MqlCriteria, now: datetime) -> None:
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    reason = can_express(criteria)
    if reason:
        raise NotExpressible(reason)


def annotate_evaluation(queryset: QuerySet, *, criteria: MqlCriteria, now: datetime) -> QuerySet:
    """Annotate each lead with its evaluation at `now`, computed by the database in the same one query:

    `sql_fit`, `sql_engagement`, `sql_total`, `sql_gates_passed`, `sql_triggered`, `sql_is_mql`, `sql_tier`
    ("hot", "warm" or ""), `rule_<id>` for the points each fit and engagement rule gave (`rule_inactivity` for
    the penalty), `gate_<id>` (passed) and `trigger_<id>` (fired) — so lifts and what-ifs group in SQL.

    Like `evaluate(criteria, attributes_of(lead), <the activities that count>, now)` with leads.scoring's rule
    for a recycled or lost lead: only what it did since counts, and it is no MQL (`sql_is_mql` false, `sql_tier`
    "") until it did something (`sql_waits`). Raises NotExpressible (see
    `can_express`) when SQL cannot be faithful, so the caller falls back to the Python evaluator."""
    _check(criteria, now)
    activities = _Activities.of(criteria, now)
    judgement = _Judgement(criteria, activities)
    annotations: dict[str, Any] = {}
    for rule in criteria.fit_rules:
        annotations[rule_alias(rule.id)] = _points_if(condition_q(rule.condition), rule.points)
    for rule in criteria.engagement_rules:
        annotations[rule_alias(rule.id)] = _per_lead(activities.rule_points(rule), IntegerField(), now)
    if criteria.inactivity is not None:
        points = activities.inactivity_points(criteria.inactivity)
        annotations[rule_alias("inactivity")] = _per_lead(points, IntegerField(), now)
    for gate in criteria.gates:
        annotations[gate_alias(gate.id)] = _flag(condition_q(gate.condition))
    for index, trigger in enumerate(criteria.triggers):
        fired = _flag(judgement.trigger_fired(OuterRef, index, trigger))
        annotations[trigger_alias(trigger.id)] = _per_lead(fired, BooleanField(), now)
    scores, triggers = judgement.scores_activity, bool(criteria.triggers)
    annotations.update(
        sql_fit=F(_FIT),
        sql_engagement=judgement.final(
            lambda ref: activities.engagement(criteria) or Value(0), IntegerField(), reads_activities=scores
        ),
        sql_total=judgement.final(judgement.total, IntegerField(), reads_activities=scores),
        sql_gates_passed=F(_GATES),
        sql_waits=F(_WAITS),
        sql_triggered=judgement.final(
            lambda ref: _flag(judgement.triggered(ref) or _NEVER), BooleanField(), reads_activities=triggers
        ),
        sql_is_mql=judgement.final(judgement.is_mql, BooleanField(), reads_activities=scores or triggers),
        sql_tier=judgement.final(judgement.tier, CharField(), reads_activities=scores or triggers),
    )
    return queryset.alias(**_lead_side(criteria)).annotate(**annotations)


def count_mqls(queryset: QuerySet, *, criteria: MqlCriteria, now: datetime) -> dict[str, int]:
    """How many of these leads the criteria make MQLs at `now`, hot and warm: one aggregate query that scans
    each lead's activities once (GROUP BY the tier). On PostgreSQL, JIT-compiling the large expression can take
    as long as the scan itself over a few hundred thousand leads (bench/bench_criteria_sql.py); `jit = off` for
    the session or role that runs it avoids that."""
    _check(criteria, now)
    judgement = _Judgement(criteria, _Activities.of(criteria, now))
    reads_activities = judgement.scores_activity or bool(criteria.triggers)
    tier = judgement.final(judgement.tier, CharField(), reads_activities=reads_activities)
    rows = (
        queryset.alias(**_lead_side(criteria))
        .annotate(_crit_tier=tier)
        .order_by()
        .values("_crit_tier")
        .annotate(_crit_count=Count("pk"))
        .values_list("_crit_tier", "_crit_count")
    )
    counts = dict(rows)
    hot, warm = counts.get("hot", 0), counts.get("warm", 0)
    return {"leads": sum(counts.values()), "mqls": hot + warm, "hot": hot, "warm": warm}
