"""What changed between two agreement contents, in words (pure Python: no Django).

Works on the raw content dicts (docs/agreement-content.md) so it can compare a draft that does not validate
yet; a missing section reads as empty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sla.criteria import ActivityMatch, Condition, CriteriaError, describe

__all__ = ["SECTIONS", "Change", "content_hash", "diff_content"]

SECTIONS = (
    "MQL criteria",
    "Fit rules",
    "Engagement rules",
    "Gates",
    "Triggers",
    "SQL criteria",
    "Service terms",
    "Business calendar",
    "Marketing commitment",
)

Kind = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class Change:
    section: str
    kind: Kind
    text: str


def content_hash(content: dict[str, Any]) -> str:
    """What a signature signs: the SHA-256 of the canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def diff_content(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[Change]:
    old, new = _map(old), _map(new)
    old_mql, new_mql = _map(old.get("mql")), _map(new.get("mql"))
    old_terms, new_terms = _map(old.get("terms")), _map(new.get("terms"))
    changes: list[Change] = []
    changes += _mql_changes(old_mql, new_mql)
    for kind in _RULE_KINDS:
        changes += _rule_changes(kind, old_mql.get(kind.key), new_mql.get(kind.key))
        if kind.key == "engagement_rules":
            changes += _inactivity_changes(old_mql.get("inactivity"), new_mql.get("inactivity"))
    changes += _sql_changes(_map(old.get("sql")), _map(new.get("sql")))
    changes += _terms_changes(old_terms, new_terms)
    changes += _calendar_changes(_map(old_terms.get("calendar")), _map(new_terms.get("calendar")))
    changes += _marketing_changes(_map(old_terms.get("marketing")), _map(new_terms.get("marketing")))
    order = {section: index for index, section in enumerate(SECTIONS)}
    return sorted(changes, key=lambda change: order[change.section])  # stable: keeps the order within one


# ---------------------------------------------------------------------------------------------------------
# Formatting


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(_value(item) for item in value) if value else "none"
    return str(value)


def _points(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = int(value) if float(value).is_integer() else value
        return f"+{number}" if number > 0 else str(number)
    return _value(value)


def _amount(value: Any, unit: str, none: str = "none", prefix: str = "") -> str:
    return none if value is None else f"{prefix}{_value(value)} {unit}"


def _from_to(old: Any, new: Any, unit: str, none: str = "none", prefix: str = "") -> str:
    """ "15 → 10 business minutes" when both are set, else "15 business minutes → none"."""
    if old is not None and new is not None:
        return f"{prefix}{_value(old)} → {_value(new)} {unit}"
    return f"{_amount(old, unit, none, prefix)} → {_amount(new, unit, none, prefix)}"


def _condition(raw: Any) -> str:
    if raw is None:
        return "none"
    try:
        return describe(Condition.from_dict(raw))
    except CriteriaError:
        return _raw_condition(raw, "field")


def _where(raw: Any) -> str:
    if raw is None:
        return "none"
    try:
        return describe(ActivityMatch.from_dict(raw))
    except CriteriaError:
        return _raw_condition(raw, "property")


def _raw_condition(raw: Any, subject: str) -> str:
    if not isinstance(raw, Mapping):
        return _value(raw)
    parts = (raw.get(subject), raw.get("op"), raw.get("value"))
    return " ".join(_value(part) for part in parts if part is not None) or "none"


def _activity(rule: Mapping[str, Any]) -> str:
    activity = rule.get("activity")
    text = "any activity" if activity == "*" else _value(activity)
    where = rule.get("where")
    return text if where is None else f"{text} where {_where(where)}"


# ---------------------------------------------------------------------------------------------------------
# MQL criteria


def _mql_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    if old.get("threshold") != new.get("threshold"):
        text = f"MQL threshold: {_value(old.get('threshold'))} → {_value(new.get('threshold'))}"
        changes.append(Change("MQL criteria", "changed", text))
    known = {"threshold", "inactivity", *(kind.key for kind in _RULE_KINDS)}
    changes += _other_keys("MQL criteria", "", old, new, known)
    return changes


def _other_keys(
    section: str, prefix: str, old: Mapping[str, Any], new: Mapping[str, Any], known: set[str]
) -> list[Change]:
    """Keys the schema does not name still show up, so nothing changes unseen."""
    changes = []
    for key in _union(old, new):
        if key in known or old.get(key) == new.get(key):
            continue
        text = f"{prefix}{key}: {_value(old.get(key))} → {_value(new.get(key))}"
        changes.append(Change(section, "changed", text))
    return changes


def _union(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return [*old, *(key for key in new if key not in old)]


FieldText = Callable[[str, Any, Any], str]


@dataclass(frozen=True, slots=True)
class _RuleKind:
    key: str
    section: str
    noun: str
    order_text: str
    summary: Callable[[Mapping[str, Any]], str]
    fields: dict[str, FieldText]


def _fit_summary(rule: Mapping[str, Any]) -> str:
    return f"{_condition(rule.get('condition'))} → {_points(rule.get('points'))}"


def _engagement_summary(rule: Mapping[str, Any]) -> str:
    points, min_count = _points(rule.get("points")), rule.get("min_count", 1)
    if isinstance(min_count, int) and min_count > 1:
        text = f"{min_count} or more × {_activity(rule)} → {points} once"
    else:
        text = f"{_activity(rule)} → {points} each"
        if rule.get("max_count") is not None:
            text += f", at most {_value(rule.get('max_count'))} times"
    window = rule.get("window_days")
    return text + (", never ages" if window is None else f", counted for {_value(window)} days")


def _gate_summary(gate: Mapping[str, Any]) -> str:
    return _condition(gate.get("condition"))


def _trigger_summary(trigger: Mapping[str, Any]) -> str:
    parts = [_activity(trigger)]
    if trigger.get("attribute") is not None:
        parts.append(f"if {_condition(trigger.get('attribute'))}")
    if trigger.get("min_silence_days") is not None:
        parts.append(f"after {_value(trigger.get('min_silence_days'))}+ days of silence")
    if trigger.get("within_days") is not None:
        parts.append(f"within {_value(trigger.get('within_days'))} days")
    if trigger.get("requires_gates"):
        parts.append("requires the gates")
    reason = trigger.get("reason")
    return ", ".join(parts) + (f' → "{reason}"' if reason else "")


def _points_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: {_points(old)} → {_points(new)} points"


def _condition_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: {_condition(old)} → {_condition(new)}"


def _activity_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: activity {_value(old)} → {_value(new)}"


def _where_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: where {_where(old)} → {_where(new)}"


def _max_count_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: {_from_to(old, new, 'times', none='no cap', prefix='at most ')}"


def _window_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: {_from_to(old, new, 'days', none='never ages', prefix='counted for ')}"


def _min_count_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: needs {_value(old)} → {_value(new)} matching activities"


def _requires_gates_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: now requires the gates" if new else f"{name}: no longer requires the gates"


def _silence_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: {_from_to(old, new, 'days of silence', none='no silence needed', prefix='after ')}"


def _within_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: {_from_to(old, new, 'days', none='no time limit', prefix='within ')}"


def _reason_text(name: str, old: Any, new: Any) -> str:
    return f'{name}: reason "{_value(old)}" → "{_value(new)}"'


def _attribute_text(name: str, old: Any, new: Any) -> str:
    return f"{name}: attribute condition {_condition(old)} → {_condition(new)}"


_RULE_KINDS = (
    _RuleKind(
        "fit_rules",
        "Fit rules",
        "fit rule",
        "Rule order changed",
        _fit_summary,
        {"points": _points_text, "condition": _condition_text},
    ),
    _RuleKind(
        "engagement_rules",
        "Engagement rules",
        "engagement rule",
        "Rule order changed",
        _engagement_summary,
        {
            "points": _points_text,
            "activity": _activity_text,
            "where": _where_text,
            "max_count": _max_count_text,
            "window_days": _window_text,
            "min_count": _min_count_text,
        },
    ),
    _RuleKind("gates", "Gates", "gate", "Gate order changed", _gate_summary, {"condition": _condition_text}),
    _RuleKind(
        "triggers",
        "Triggers",
        "trigger",
        "Trigger order changed",
        _trigger_summary,
        {
            "activity": _activity_text,
            "where": _where_text,
            "attribute": _attribute_text,
            "requires_gates": _requires_gates_text,
            "min_silence_days": _silence_text,
            "within_days": _within_text,
            "reason": _reason_text,
        },
    ),
)


def _by_id(rules: Any) -> dict[str, Mapping[str, Any]]:
    keyed: dict[str, Mapping[str, Any]] = {}
    for index, rule in enumerate(_list(rules)):
        rule = _map(rule)
        rule_id = rule.get("id")
        key = rule_id if isinstance(rule_id, str) and rule_id not in keyed else f"#{index}"
        keyed[key] = rule
    return keyed


def _label(rule: Mapping[str, Any], key: str) -> str:
    name = rule.get("name")
    return name if isinstance(name, str) and name.strip() else key


def _rule_changes(kind: _RuleKind, old_rules: Any, new_rules: Any) -> list[Change]:
    old, new = _by_id(old_rules), _by_id(new_rules)
    changes: list[Change] = []
    for key, rule in old.items():
        if key not in new:
            changes.append(Change(kind.section, "removed", f'Removed {kind.noun} "{_label(rule, key)}"'))
    for key, rule in new.items():
        if key not in old:
            text = f'Added {kind.noun} "{_label(rule, key)}": {kind.summary(rule)}'
            changes.append(Change(kind.section, "added", text))
        else:
            changes += _one_rule_changes(kind, key, old[key], rule)
    common_old = [key for key in old if key in new]
    common_new = [key for key in new if key in old]
    if common_old != common_new:
        changes.append(Change(kind.section, "changed", kind.order_text))
    return changes


def _one_rule_changes(
    kind: _RuleKind, key: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Change]:
    changes: list[Change] = []
    name = _label(new, key)
    if _label(old, key) != name:
        text = f'{kind.noun.capitalize()} "{_label(old, key)}" renamed to "{name}"'
        changes.append(Change(kind.section, "changed", text))
    for field, text in kind.fields.items():
        if old.get(field) != new.get(field):
            changes.append(Change(kind.section, "changed", text(name, old.get(field), new.get(field))))
    changes += _other_keys(kind.section, f"{name}: ", old, new, {"id", "name", *kind.fields})
    return changes


def _inactivity_changes(old_raw: Any, new_raw: Any) -> list[Change]:
    section = "Engagement rules"
    if old_raw == new_raw:
        return []
    old, new = _map(old_raw), _map(new_raw)
    if not old:
        return [Change(section, "added", f"Added inactivity penalty: {_inactivity(new)}")]
    if not new:
        return [Change(section, "removed", f"Removed inactivity penalty ({_inactivity(old)})")]
    changes = []
    if old.get("points") != new.get("points"):
        changes.append(
            Change(section, "changed", _points_text("Inactivity penalty", old["points"], new["points"]))
        )
    if old.get("days") != new.get("days"):
        text = (
            f"Inactivity penalty: after {_from_to(old.get('days'), new.get('days'), 'days')} without activity"
        )
        changes.append(Change(section, "changed", text))
    return changes


def _inactivity(raw: Mapping[str, Any]) -> str:
    return f"{_points(raw.get('points'))} points after {_value(raw.get('days'))} days without activity"


# ---------------------------------------------------------------------------------------------------------
# SQL criteria


def _framework(value: Any) -> str:
    return value.upper() if value in ("bant", "champ", "anum") else _value(value).capitalize()


def _sql_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    section = "SQL criteria"
    changes: list[Change] = []
    if old.get("framework") != new.get("framework"):
        text = f"Framework: {_framework(old.get('framework'))} → {_framework(new.get('framework'))}"
        changes.append(Change(section, "changed", text))
    old_items = {_map(item).get("key"): _map(item) for item in _list(old.get("items"))}
    new_items = {_map(item).get("key"): _map(item) for item in _list(new.get("items"))}
    for key, item in old_items.items():
        if key not in new_items:
            changes.append(Change(section, "removed", f'Removed item "{_label_of(item)}"'))
    for key, item in new_items.items():
        if key not in old_items:
            required = "required" if item.get("required") else "optional"
            changes.append(Change(section, "added", f'Added item "{_label_of(item)}" ({required})'))
            continue
        before = old_items[key]
        if _label_of(before) != _label_of(item):
            text = f'Item "{_label_of(before)}" renamed to "{_label_of(item)}"'
            changes.append(Change(section, "changed", text))
        if bool(before.get("required")) != bool(item.get("required")):
            text = f'Item "{_label_of(item)}": ' + (
                "optional → required" if item.get("required") else "required → optional"
            )
            changes.append(Change(section, "changed", text))
    if [key for key in old_items if key in new_items] != [key for key in new_items if key in old_items]:
        changes.append(Change(section, "changed", "Item order changed"))
    if old.get("min_met") != new.get("min_met"):
        text = f"Items needed: {_value(old.get('min_met'))} → {_value(new.get('min_met'))}"
        changes.append(Change(section, "changed", text))
    return changes


def _label_of(item: Mapping[str, Any]) -> str:
    return _value(item.get("label") or item.get("key"))


# ---------------------------------------------------------------------------------------------------------
# Service terms, business calendar, marketing commitment

_TIER_FIELDS = {
    "claim_minutes": ("time to claim", "business minutes"),
    "first_contact_minutes": ("time to first contact", "business minutes"),
    "accept_minutes": ("time to accept or reject", "business minutes"),
    "outcome_days": ("time to record an outcome", "business days"),
    "status_update_days": ("status update every", "days"),
}
_TERMS_FIELDS = {
    "on_breach": "On breach",
    "notify_manager": "Notify the manager of breaches",
    "auto_assign": "Automatic assignment",
}


def _terms_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    section = "Service terms"
    changes: list[Change] = []
    old_tiers, new_tiers = _map(old.get("tiers")), _map(new.get("tiers"))
    for tier in _union(old_tiers, new_tiers):
        title = f"{str(tier).capitalize()} tier"
        if tier not in new_tiers:
            changes.append(Change(section, "removed", f"Removed {str(tier)} tier"))
        elif tier not in old_tiers:
            changes.append(
                Change(section, "added", f"Added {str(tier)} tier: {_tier_summary(_map(new_tiers[tier]))}")
            )
        else:
            changes += _tier_changes(title, _map(old_tiers[tier]), _map(new_tiers[tier]))
    for key, label in _TERMS_FIELDS.items():
        if old.get(key) != new.get(key):
            text = f"{label}: {_words(old.get(key))} → {_words(new.get(key))}"
            changes.append(Change(section, "changed", text))
    changes += _other_keys(section, "", old, new, {"tiers", "marketing", "calendar", *_TERMS_FIELDS})
    return changes


def _words(value: Any) -> str:
    return value.replace("_", " ") if isinstance(value, str) else _value(value)


def _tier_summary(tier: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{label} {_amount(tier.get(key), unit)}"
        for key, (label, unit) in _TIER_FIELDS.items()
        if key in tier
    )


def _tier_changes(title: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = []
    for key, (label, unit) in _TIER_FIELDS.items():
        if old.get(key) != new.get(key):
            text = f"{title}, {label}: {_from_to(old.get(key), new.get(key), unit)}"
            changes.append(Change("Service terms", "changed", text))
    changes += _other_keys("Service terms", f"{title}, ", old, new, set(_TIER_FIELDS))
    return changes


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _workdays(value: Any) -> str:
    days = _list(value)
    if not days or not all(isinstance(day, int) and 0 <= day <= 6 for day in days):
        return _value(value)
    ordered = sorted(set(days))
    runs: list[list[int]] = []
    for day in ordered:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_DAY_NAMES[run[0]]}–{_DAY_NAMES[run[-1]]}")
        else:
            parts += [_DAY_NAMES[day] for day in run]
    return ", ".join(parts)


def _hours(calendar: Mapping[str, Any]) -> str:
    opens, closes = calendar.get("opens"), calendar.get("closes")
    return "none" if opens is None and closes is None else f"{_value(opens)}–{_value(closes)}"


def _calendar_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    section = "Business calendar"
    changes: list[Change] = []
    if old.get("time_zone") != new.get("time_zone"):
        text = f"Time zone: {_value(old.get('time_zone'))} → {_value(new.get('time_zone'))}"
        changes.append(Change(section, "changed", text))
    if _hours(old) != _hours(new):
        changes.append(Change(section, "changed", f"Working hours: {_hours(old)} → {_hours(new)}"))
    if _workdays(old.get("workdays")) != _workdays(new.get("workdays")):
        text = f"Workdays: {_workdays(old.get('workdays'))} → {_workdays(new.get('workdays'))}"
        changes.append(Change(section, "changed", text))
    elif old.get("workdays") != new.get("workdays"):
        text = f"Workdays reordered: {_value(old.get('workdays'))} → {_value(new.get('workdays'))}"
        changes.append(Change(section, "changed", text))
    if (old.get("country") or None) != (new.get("country") or None):
        text = (
            f"Public holidays of: {_value(old.get('country') or None)} → {_value(new.get('country') or None)}"
        )
        changes.append(Change(section, "changed", text))
    changes += _set_changes(section, "closed date", old.get("closed_dates"), new.get("closed_dates"))
    known = {"time_zone", "opens", "closes", "workdays", "country", "closed_dates"}
    changes += _other_keys(section, "", old, new, known)
    return changes


def _set_changes(section: str, noun: str, old: Any, new: Any) -> list[Change]:
    before, after = [_value(item) for item in _list(old)], [_value(item) for item in _list(new)]
    changes = [Change(section, "removed", f"Removed {noun} {item}") for item in before if item not in after]
    changes += [Change(section, "added", f"Added {noun} {item}") for item in after if item not in before]
    if not changes and before != after:  # same members, another order: still a change to sign
        changes.append(Change(section, "changed", f"{noun.capitalize()}s reordered: {_value(after)}"))
    return changes


def _marketing_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    section = "Marketing commitment"
    changes: list[Change] = []
    if old.get("mql_per_month") != new.get("mql_per_month"):
        text = f"MQLs per month: {_value(old.get('mql_per_month'))} → {_value(new.get('mql_per_month'))}"
        changes.append(Change(section, "changed", text))
    changes += _set_changes(section, "required field", old.get("required_fields"), new.get("required_fields"))
    changes += _other_keys(section, "", old, new, {"mql_per_month", "required_fields"})
    return changes
