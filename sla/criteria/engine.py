"""`evaluate` judges a lead's facts (attributes and activities) against the MQL criteria at an instant `now`.

The semantics are those of docs/agreement-content.md. Windows are half-open: an activity counts while it is
younger than `window_days` (or `within_days`), so the instant it stops counting is exactly
`occurred_at + window`, which is what `Evaluation.next_change_at` reports. Pure Python: no Django."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any, Literal, NamedTuple

from sla.criteria.operators import Matcher, _fmt_actual, _matcher, describe
from sla.criteria.schema import (
    ANY_ACTIVITY,
    EVIDENCE_LIMIT,
    ActivityMatch,
    Condition,
    EngagementRule,
    FitRule,
    Gate,
    Inactivity,
    MqlCriteria,
    Tier,
    Trigger,
    _fmt,
)

# ---------------------------------------------------------------------------------------------------------
# Evaluation

# Reading a stored evaluation back (`from_dict`) is lenient: a breakdown written by an older version of the
# engine, or by hand in a fixture, may lack keys; the missing ones read as empty, never as an error.


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _hits(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    return [item for item in data.get(key) or [] if isinstance(item, Mapping)]


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
    occurred_at: datetime | None  # None only when read back from a stored breakdown that lacks it
    detail: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(
            activity_id=data.get("activity_id"),
            type=data.get("type") or "",
            occurred_at=_when(data.get("occurred_at")),
            detail=data.get("detail") or "",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "activity_id": self.activity_id,
            "type": self.type,
            "occurred_at": None if self.occurred_at is None else self.occurred_at.isoformat(),
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleHit:
        return cls(
            rule_id=data.get("rule_id") or "",
            kind=data.get("kind") or "fit",
            name=data.get("name") or "",
            points=int(data.get("points") or 0),
            count=int(data.get("count") or 0),
            evidence=tuple(Evidence.from_dict(item) for item in _hits(data, "evidence")),
        )

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateResult:
        return cls(
            gate_id=data.get("gate_id") or "",
            name=data.get("name") or "",
            condition=data.get("condition") or "",
            actual=data.get("actual") or "",
        )

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
    occurred_at: datetime | None  # None only when read back from a stored breakdown that lacks it

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TriggerHit:
        return cls(
            trigger_id=data.get("trigger_id") or "",
            name=data.get("name") or "",
            reason=data.get("reason") or "",
            activity_id=data.get("activity_id"),
            occurred_at=_when(data.get("occurred_at")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger_id": self.trigger_id,
            "name": self.name,
            "reason": self.reason,
            "activity_id": self.activity_id,
            "occurred_at": None if self.occurred_at is None else self.occurred_at.isoformat(),
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Evaluation:
        """A stored evaluation (`Lead.breakdown`, `Cycle.breakdown`) read back; `{}` reads as "nothing scored"."""
        data = data or {}
        tier = data.get("tier") or ""
        return cls(
            total=int(data.get("total") or 0),
            fit=int(data.get("fit") or 0),
            engagement=int(data.get("engagement") or 0),
            breakdown=tuple(RuleHit.from_dict(hit) for hit in _hits(data, "breakdown")),
            aged_out=tuple(RuleHit.from_dict(hit) for hit in _hits(data, "aged_out")),
            gates_passed=bool(data.get("gates_passed", True)),
            failed_gates=tuple(GateResult.from_dict(gate) for gate in _hits(data, "failed_gates")),
            triggers=tuple(TriggerHit.from_dict(hit) for hit in _hits(data, "triggers")),
            is_mql=bool(data.get("is_mql", False)),
            tier=Tier(tier) if tier in Tier._value2member_map_ else Tier.NONE,
            next_change_at=_when(data.get("next_change_at")),
        )


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
    criteria: MqlCriteria,
    attributes: Mapping[str, Any],
    activities: Sequence[Activity],
    now: datetime,
    *,
    evidence: bool = True,
    left_out: Mapping[str, int] | None = None,
) -> Evaluation:
    """Score a lead at `now`. Pass the lead's whole activity history: inactivity and dormant-comeback
    triggers look at the latest activity before a given instant. Activities dated after `now` are ignored
    (so past instants can be replayed) and become a `next_change_at` candidate.

    Or pass what `retain` kept of it, with the `left_out` counts `retain` returned (rule id -> matching
    activities left out, all older than the ones kept): the evaluation is the same (incremental scoring).

    `evidence=False` leaves out the activities each engagement rule quotes (`RuleHit.evidence` empty), for
    callers that only count verdicts (the what-if): every other field is the same."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    compiled = compiled_of(criteria)
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
        if matches or (left_out and left_out.get(rule.rule.id)):
            extra = left_out.get(rule.rule.id, 0) if left_out else 0
            _score_rule(
                rule, matches, now, engagement_hits, aged_out, changes, evidence=evidence, extra=extra
            )
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


def retain(
    criteria: MqlCriteria,
    activities: Sequence[Activity],
    now: datetime,
    *,
    left_out: Mapping[str, int] | None = None,
) -> tuple[list[Activity], dict[str, int]]:
    """The part of a history (or of what an earlier `retain` kept, with its `left_out`) that decides every
    later evaluation, and the new `left_out` counts: `evaluate(criteria, a, kept + newer, t, left_out=counts)`
    equals `evaluate(criteria, a, activities + newer, t, left_out=left_out)` for every `t >= now` and any
    `newer` activities dated after all of `activities`. What is kept, in the input order:

    - every activity younger than the longest window (`window_days`, `within_days`), and the latest one at or
      before it (inactivity and a comeback trigger's silence read the activity before another);
    - per engagement rule, its matches in the window now and the `EVIDENCE_LIMIT` older ones that may be quoted
      as aged out later (without a window: the most recent `EVIDENCE_LIMIT`); the rest is counted in `left_out`;
    - per trigger without `within_days`, its most recent candidate (a comeback trigger without `within_days`
      keeps the whole history)."""
    compiled = compiled_of(criteria)
    horizon = _horizon(compiled)
    counts = dict(left_out or {})
    if horizon is None:
        return list(activities), counts
    past, _ = _split_past(activities, now)
    by_type = _group_by_type(past)
    keep = {id(activity) for activity in activities if activity.occurred_at > now - horizon}
    keep.update(id(activity) for activity in past[:1])
    edge = next((activity for activity in past if activity.occurred_at <= now - horizon), None)
    if edge is not None:
        keep.add(id(edge))
    property_values: dict[tuple[str, str], list[Any]] = {}
    matched: dict[str, int] = {}
    for rule in compiled.engagement:
        matches = _select(rule.type_key, rule.where, past, by_type, property_values)
        matched[rule.rule.id] = len(matches)
        size = EVIDENCE_LIMIT
        if rule.window is not None:
            cutoff = now - rule.window
            size += next(
                (i for i, activity in enumerate(matches) if activity.occurred_at <= cutoff), len(matches)
            )
        keep.update(id(activity) for activity in matches[:size])
    for trigger in compiled.triggers:
        if trigger.within is None:
            pool = past if trigger.type_key == ANY_ACTIVITY else by_type.get(trigger.type_key, ())
            first = next((a for a in pool if trigger.where is None or trigger.where.test(a)), None)
            if first is not None:
                keep.add(id(first))
    kept = [activity for activity in activities if id(activity) in keep]
    kept_past, _ = _split_past(kept, now)
    kept_by_type = _group_by_type(kept_past)
    property_values = {}
    for rule in compiled.engagement:
        dropped = matched[rule.rule.id] - len(
            _select(rule.type_key, rule.where, kept_past, kept_by_type, property_values)
        )
        if dropped:
            counts[rule.rule.id] = counts.get(rule.rule.id, 0) + dropped
    return kept, counts


def _horizon(compiled: _Compiled) -> timedelta | None:
    """How far back every window reaches; None when a comeback trigger without `within_days` may fire on any
    activity of the history (its silence is read from the activity before it)."""
    if any(trigger.silence is not None and trigger.within is None for trigger in compiled.triggers):
        return None
    windows = [rule.window for rule in compiled.engagement if rule.window is not None]
    windows += [trigger.within for trigger in compiled.triggers if trigger.within is not None]
    return max(windows, default=timedelta(0))


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
    *,
    evidence: bool = True,
    extra: int = 0,
) -> None:
    """`extra`: matching activities left out of `matches` (by `retain`), all older than those in it."""
    rule = compiled.rule
    detail_property = None if compiled.where is None else compiled.where.property
    total = len(matches) + extra
    in_window = total
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
        cap = total if rule.max_count is None else rule.max_count
        counted = min(in_window, cap)
        points, count = counted * rule.points, counted
        lost = min(total, cap) * rule.points - points
    else:
        fired = in_window >= rule.min_count
        points, count = (rule.points, in_window) if fired else (0, 0)
        lost = (rule.points if total >= rule.min_count else 0) - points
    if count:
        quoted = _evidence(matches[: min(count, EVIDENCE_LIMIT)], detail_property) if evidence else ()
        hits.append(RuleHit(rule.id, "engagement", rule.name, points, count, quoted))
    if in_window < total:
        aged = matches[in_window:]
        quoted = _evidence(aged[:EVIDENCE_LIMIT], detail_property) if evidence else ()
        aged_out.append(RuleHit(rule.id, "engagement", rule.name, lost, total - in_window, quoted))


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


def may_trigger(
    criteria: MqlCriteria,
    activity_type: str,
    properties: Mapping[str, Any],
    *,
    occurred_at: datetime | None = None,
    previous_at: datetime | None = None,
    now: datetime | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> bool:
    """Whether an activity may fire one of the triggers: its type and `where` match, it is inside `within`
    (when `occurred_at` and `now` are given), and for a comeback trigger the lead's activity before it
    (`previous_at`, None: it has none) is at least `min_silence_days` older. With the lead's `attributes`,
    a trigger whose gates (when it requires them) or attribute condition they fail is left out, as `evaluate`
    leaves it out (a pricing-page view of a lead too small to be in target); without them those are left to
    `evaluate`. A True may still not fire, a False never does. Ingest scores such leads first."""
    key = _type_key(activity_type)
    compiled_criteria = compiled_of(criteria)
    gates_passed: bool | None = None
    for compiled in compiled_criteria.triggers:
        if compiled.type_key not in (key, ANY_ACTIVITY):
            continue
        if attributes is not None:
            if compiled.attribute is not None and not compiled.attribute(attributes):
                continue
            if compiled.trigger.requires_gates:
                if gates_passed is None:
                    gates_passed = all(
                        matches(attributes.get(gate.condition.field))
                        for gate, matches, _ in compiled_criteria.gates
                    )
                if not gates_passed:
                    continue
        if compiled.where is not None and not compiled.where.test(
            Activity(None, activity_type, _EPOCH, properties)
        ):
            continue
        if compiled.within is not None and occurred_at and now and occurred_at <= now - compiled.within:
            continue
        if compiled.silence is not None and (
            previous_at is None or (occurred_at is not None and occurred_at - previous_at < compiled.silence)
        ):
            continue
        return True
    return False


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def compiled_of(criteria: MqlCriteria) -> _Compiled:
    """The criteria's matchers, compiled once per criteria object and kept on it."""
    try:
        return criteria._compiled
    except AttributeError:
        compiled = _compile(criteria)
        object.__setattr__(criteria, "_compiled", compiled)
        return compiled
