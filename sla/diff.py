"""What changed between two agreement contents, in words, in the reader's language (Django's gettext).

Works on the raw content dicts (docs/agreement-content.md) so it can compare a draft that does not validate
yet; a missing section reads as empty. `Change.section` is the English section name (a key: the view shows it
through gettext); `Change.text` is already in the active language, so callers that store it (the audit log) say it
in English with `translation.override("en")`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sla.criteria import ActivityMatch, Condition, CriteriaError
from sla.wording import activity_word, condition_words

__all__ = ["SECTIONS", "Change", "content_hash", "diff_content"]

SECTIONS = (
    gettext_noop("MQL criteria"),
    gettext_noop("Fit rules"),
    gettext_noop("Engagement rules"),
    gettext_noop("Gates"),
    gettext_noop("Triggers"),
    gettext_noop("SQL criteria"),
    gettext_noop("Service terms"),
    gettext_noop("Business calendar"),
    gettext_noop("Marketing commitment"),
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
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return _(", ").join(_value(item) for item in value) if value else _("none")
    return str(value)


def _points(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = int(value) if float(value).is_integer() else value
        return f"+{number}" if number > 0 else str(number)
    return _value(value)


def _amount(value: Any, unit: str, none: str = "", prefix: str = "") -> str:
    """`unit` and `prefix` are templates with %(n)s ("%(n)s days", "at most %(n)s"), already translated."""
    if value is None:
        return none or _("none")
    return (prefix or "%(n)s") % {"n": unit % {"n": _value(value)}}


def _from_to(old: Any, new: Any, unit: str, none: str = "", prefix: str = "") -> str:
    """ "15 → 10 business minutes" when both are set, else "15 business minutes → none"."""
    if old is not None and new is not None:
        return (prefix or "%(n)s") % {
            "n": unit % {"n": _("%(old)s → %(new)s") % {"old": _value(old), "new": _value(new)}}
        }
    return _("%(old)s → %(new)s") % {
        "old": _amount(old, unit, none, prefix),
        "new": _amount(new, unit, none, prefix),
    }


def _condition(raw: Any) -> str:
    if raw is None:
        return _("none")
    try:
        return condition_words(Condition.from_dict(raw))
    except CriteriaError:
        return _raw_condition(raw, "field")


def _where(raw: Any) -> str:
    if raw is None:
        return _("none")
    try:
        return condition_words(ActivityMatch.from_dict(raw))
    except CriteriaError:
        return _raw_condition(raw, "property")


def _raw_condition(raw: Any, subject: str) -> str:
    if not isinstance(raw, Mapping):
        return _value(raw)
    parts = (raw.get(subject), raw.get("op"), raw.get("value"))
    return " ".join(_value(part) for part in parts if part is not None) or _("none")


def _activity(rule: Mapping[str, Any]) -> str:
    activity = rule.get("activity")
    text = (
        _("any activity")
        if activity == "*"
        else activity_word(activity)
        if isinstance(activity, str)
        else _value(activity)
    )
    where = rule.get("where")
    return (
        text
        if where is None
        else _("%(activity)s where %(condition)s") % {"activity": text, "condition": _where(where)}
    )


# ---------------------------------------------------------------------------------------------------------
# MQL criteria


def _mql_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    if old.get("threshold") != new.get("threshold"):
        text = _("MQL threshold: %(old)s → %(new)s") % {
            "old": _value(old.get("threshold")),
            "new": _value(new.get("threshold")),
        }
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
        text = prefix + _("%(key)s: %(old)s → %(new)s") % {
            "key": key,
            "old": _value(old.get(key)),
            "new": _value(new.get(key)),
        }
        changes.append(Change(section, "changed", text))
    return changes


def _union(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return [*old, *(key for key in new if key not in old)]


FieldText = Callable[[str, Any, Any], str]


@dataclass(frozen=True, slots=True)
class _RuleKind:
    key: str
    section: str
    noun: str  # the kind of rule: gettext_noop'd, translated where used
    order_text: str
    summary: Callable[[Mapping[str, Any]], str]
    fields: dict[str, FieldText]


def _fit_summary(rule: Mapping[str, Any]) -> str:
    return _("%(old)s → %(new)s") % {
        "old": _condition(rule.get("condition")),
        "new": _points(rule.get("points")),
    }


def _engagement_summary(rule: Mapping[str, Any]) -> str:
    points, min_count = _points(rule.get("points")), rule.get("min_count", 1)
    if isinstance(min_count, int) and min_count > 1:
        text = _("%(count)s or more × %(activity)s → %(points)s once") % {
            "count": min_count, "activity": _activity(rule), "points": points}  # fmt: skip
    else:
        text = _("%(activity)s → %(points)s each") % {"activity": _activity(rule), "points": points}
        if rule.get("max_count") is not None:
            text += _(", at most %(count)s times") % {"count": _value(rule.get("max_count"))}
    window = rule.get("window_days")
    return text + (
        _(", never ages") if window is None else _(", counted for %(days)s days") % {"days": _value(window)}
    )


def _gate_summary(gate: Mapping[str, Any]) -> str:
    return _condition(gate.get("condition"))


def _trigger_summary(trigger: Mapping[str, Any]) -> str:
    parts = [_activity(trigger)]
    if trigger.get("attribute") is not None:
        parts.append(_("if %(condition)s") % {"condition": _condition(trigger.get("attribute"))})
    if trigger.get("min_silence_days") is not None:
        parts.append(_("after %(days)s+ days of silence") % {"days": _value(trigger.get("min_silence_days"))})
    if trigger.get("within_days") is not None:
        parts.append(_("within %(days)s days") % {"days": _value(trigger.get("within_days"))})
    if trigger.get("requires_gates"):
        parts.append(_("requires the gates"))
    reason = trigger.get("reason")
    return _(", ").join(parts) + (_(' → "%(reason)s"') % {"reason": reason} if reason else "")


def _points_text(name: str, old: Any, new: Any) -> str:
    return _("%(name)s: %(old)s → %(new)s points") % {"name": name, "old": _points(old), "new": _points(new)}


def _condition_text(name: str, old: Any, new: Any) -> str:
    return _("%(key)s: %(old)s → %(new)s") % {"key": name, "old": _condition(old), "new": _condition(new)}


def _activity_text(name: str, old: Any, new: Any) -> str:
    return _("%(name)s: activity %(old)s → %(new)s") % {"name": name, "old": _word(old), "new": _word(new)}


def _where_text(name: str, old: Any, new: Any) -> str:
    return _("%(name)s: where %(old)s → %(new)s") % {"name": name, "old": _where(old), "new": _where(new)}


def _max_count_text(name: str, old: Any, new: Any) -> str:
    text = _from_to(old, new, _("%(n)s times"), none=_("no cap"), prefix=_("at most %(n)s"))
    return _("%(key)s: %(value)s") % {"key": name, "value": text}


def _window_text(name: str, old: Any, new: Any) -> str:
    text = _from_to(old, new, _("%(n)s days"), none=_("never ages"), prefix=_("counted for %(n)s"))
    return _("%(key)s: %(value)s") % {"key": name, "value": text}


def _min_count_text(name: str, old: Any, new: Any) -> str:
    return _("%(name)s: needs %(old)s → %(new)s matching activities") % {
        "name": name, "old": _value(old), "new": _value(new)}  # fmt: skip


def _requires_gates_text(name: str, old: Any, new: Any) -> str:
    if new:
        return _("%(name)s: now requires the gates") % {"name": name}
    return _("%(name)s: no longer requires the gates") % {"name": name}


def _silence_text(name: str, old: Any, new: Any) -> str:
    text = _from_to(
        old, new, _("%(n)s days of silence"), none=_("no silence needed"), prefix=_("after %(n)s")
    )
    return _("%(key)s: %(value)s") % {"key": name, "value": text}


def _within_text(name: str, old: Any, new: Any) -> str:
    text = _from_to(old, new, _("%(n)s days"), none=_("no time limit"), prefix=_("within %(n)s"))
    return _("%(key)s: %(value)s") % {"key": name, "value": text}


def _reason_text(name: str, old: Any, new: Any) -> str:
    return _('%(name)s: reason "%(old)s" → "%(new)s"') % {
        "name": name,
        "old": _value(old),
        "new": _value(new),
    }


def _attribute_text(name: str, old: Any, new: Any) -> str:
    return _("%(name)s: attribute condition %(old)s → %(new)s") % {
        "name": name, "old": _condition(old), "new": _condition(new)}  # fmt: skip


def _word(value: Any) -> str:
    return activity_word(value) if isinstance(value, str) else _value(value)


_RULE_KINDS = (
    _RuleKind(
        "fit_rules",
        "Fit rules",
        gettext_noop("fit rule"),
        gettext_noop("Rule order changed"),
        _fit_summary,
        {"points": _points_text, "condition": _condition_text},
    ),
    _RuleKind(
        "engagement_rules",
        "Engagement rules",
        gettext_noop("engagement rule"),
        gettext_noop("Rule order changed"),
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
    _RuleKind(
        "gates",
        "Gates",
        gettext_noop("gate"),
        gettext_noop("Gate order changed"),
        _gate_summary,
        {"condition": _condition_text},
    ),
    _RuleKind(
        "triggers",
        "Triggers",
        gettext_noop("trigger"),
        gettext_noop("Trigger order changed"),
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
            text = _('Removed %(noun)s "%(name)s"') % {"noun": _(kind.noun), "name": _label(rule, key)}
            changes.append(Change(kind.section, "removed", text))
    for key, rule in new.items():
        if key not in old:
            text = _('Added %(noun)s "%(name)s": %(summary)s') % {
                "noun": _(kind.noun), "name": _label(rule, key), "summary": kind.summary(rule)}  # fmt: skip
            changes.append(Change(kind.section, "added", text))
        else:
            changes += _one_rule_changes(kind, key, old[key], rule)
    common_old = [key for key in old if key in new]
    common_new = [key for key in new if key in old]
    if common_old != common_new:
        changes.append(Change(kind.section, "changed", _(kind.order_text)))
    return changes


def _one_rule_changes(
    kind: _RuleKind, key: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Change]:
    changes: list[Change] = []
    name = _label(new, key)
    if _label(old, key) != name:
        text = _('%(noun)s "%(old)s" renamed to "%(new)s"') % {
            "noun": _(kind.noun).capitalize(), "old": _label(old, key), "new": name}  # fmt: skip
        changes.append(Change(kind.section, "changed", text))
    for field, text in kind.fields.items():
        if old.get(field) != new.get(field):
            changes.append(Change(kind.section, "changed", text(name, old.get(field), new.get(field))))
    changes += _other_keys(
        kind.section, _("%(name)s: ") % {"name": name}, old, new, {"id", "name", *kind.fields}
    )
    return changes


def _inactivity_changes(old_raw: Any, new_raw: Any) -> list[Change]:
    section = "Engagement rules"
    if old_raw == new_raw:
        return []
    old, new = _map(old_raw), _map(new_raw)
    if not old:
        return [
            Change(section, "added", _("Added inactivity penalty: %(what)s") % {"what": _inactivity(new)})
        ]
    if not new:
        return [
            Change(
                section, "removed", _("Removed inactivity penalty (%(what)s)") % {"what": _inactivity(old)}
            )
        ]
    changes = []
    if old.get("points") != new.get("points"):
        changes.append(
            Change(section, "changed", _points_text(_("Inactivity penalty"), old["points"], new["points"]))
        )
    if old.get("days") != new.get("days"):
        days = _from_to(old.get("days"), new.get("days"), _("%(n)s days"))
        text = _("Inactivity penalty: after %(days)s without activity") % {"days": days}
        changes.append(Change(section, "changed", text))
    return changes


def _inactivity(raw: Mapping[str, Any]) -> str:
    return _("%(points)s points after %(days)s days without activity") % {
        "points": _points(raw.get("points")), "days": _value(raw.get("days"))}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# SQL criteria


def _framework(value: Any) -> str:
    return value.upper() if value in ("bant", "champ", "anum") else _value(value).capitalize()


def _sql_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    section = "SQL criteria"
    changes: list[Change] = []
    if old.get("framework") != new.get("framework"):
        text = _("Framework: %(old)s → %(new)s") % {
            "old": _framework(old.get("framework")), "new": _framework(new.get("framework"))}  # fmt: skip
        changes.append(Change(section, "changed", text))
    old_items = {_map(item).get("key"): _map(item) for item in _list(old.get("items"))}
    new_items = {_map(item).get("key"): _map(item) for item in _list(new.get("items"))}
    for key, item in old_items.items():
        if key not in new_items:
            changes.append(
                Change(section, "removed", _('Removed item "%(label)s"') % {"label": _label_of(item)})
            )
    for key, item in new_items.items():
        if key not in old_items:
            if item.get("required"):
                text = _('Added item "%(label)s" (required)') % {"label": _label_of(item)}
            else:
                text = _('Added item "%(label)s" (optional)') % {"label": _label_of(item)}
            changes.append(Change(section, "added", text))
            continue
        before = old_items[key]
        if _label_of(before) != _label_of(item):
            text = _('Item "%(old)s" renamed to "%(new)s"') % {
                "old": _label_of(before),
                "new": _label_of(item),
            }
            changes.append(Change(section, "changed", text))
        if bool(before.get("required")) != bool(item.get("required")):
            if item.get("required"):
                text = _('Item "%(label)s": optional → required') % {"label": _label_of(item)}
            else:
                text = _('Item "%(label)s": required → optional') % {"label": _label_of(item)}
            changes.append(Change(section, "changed", text))
    if [key for key in old_items if key in new_items] != [key for key in new_items if key in old_items]:
        changes.append(Change(section, "changed", _("Item order changed")))
    if old.get("min_met") != new.get("min_met"):
        text = _("Items needed: %(old)s → %(new)s") % {
            "old": _value(old.get("min_met")),
            "new": _value(new.get("min_met")),
        }
        changes.append(Change(section, "changed", text))
    return changes


def _label_of(item: Mapping[str, Any]) -> str:
    return _value(item.get("label") or item.get("key"))


# ---------------------------------------------------------------------------------------------------------
# Service terms, business calendar, marketing commitment

# (label, unit template): gettext_noop'd, translated where used
_TIER_FIELDS = {
    "claim_minutes": (gettext_noop("time to claim"), gettext_noop("%(n)s business minutes")),
    "first_contact_minutes": (gettext_noop("time to first contact"), gettext_noop("%(n)s business minutes")),
    "accept_minutes": (gettext_noop("time to accept or reject"), gettext_noop("%(n)s business minutes")),
    "outcome_days": (gettext_noop("time to record an outcome"), gettext_noop("%(n)s business days")),
    "status_update_days": (gettext_noop("status update every"), gettext_noop("%(n)s days")),
}
_TERMS_FIELDS = {
    "on_breach": gettext_noop("On breach"),
    "notify_manager": gettext_noop("Notify the manager of breaches"),
    "auto_assign": gettext_noop("Automatic assignment"),
}
_TIERS = {"hot": gettext_noop("hot"), "warm": gettext_noop("warm")}
_BREACH_WORDS = {
    "none": gettext_noop("none"), "return_to_queue": gettext_noop("return to queue"),
    "reassign": gettext_noop("reassign"),
}  # fmt: skip


def _tier(value: Any) -> str:
    return _(_TIERS[value]) if value in _TIERS else str(value)


def _terms_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    section = "Service terms"
    changes: list[Change] = []
    old_tiers, new_tiers = _map(old.get("tiers")), _map(new.get("tiers"))
    for tier in _union(old_tiers, new_tiers):
        title = _("%(tier)s tier") % {"tier": _tier(tier).capitalize()}
        if tier not in new_tiers:
            changes.append(Change(section, "removed", _("Removed %(tier)s tier") % {"tier": _tier(tier)}))
        elif tier not in old_tiers:
            text = _("Added %(tier)s tier: %(summary)s") % {
                "tier": _tier(tier), "summary": _tier_summary(_map(new_tiers[tier]))}  # fmt: skip
            changes.append(Change(section, "added", text))
        else:
            changes += _tier_changes(title, _map(old_tiers[tier]), _map(new_tiers[tier]))
    for key, label in _TERMS_FIELDS.items():
        if old.get(key) != new.get(key):
            text = _("%(key)s: %(old)s → %(new)s") % {
                "key": _(label), "old": _words(old.get(key)), "new": _words(new.get(key))}  # fmt: skip
            changes.append(Change(section, "changed", text))
    changes += _other_keys(section, "", old, new, {"tiers", "marketing", "calendar", *_TERMS_FIELDS})
    return changes


def _words(value: Any) -> str:
    if isinstance(value, str):
        return _(_BREACH_WORDS[value]) if value in _BREACH_WORDS else value.replace("_", " ")
    return _value(value)


def _tier_summary(tier: Mapping[str, Any]) -> str:
    return _(", ").join(
        _("%(label)s %(amount)s") % {"label": _(label), "amount": _amount(tier.get(key), _(unit))}
        for key, (label, unit) in _TIER_FIELDS.items()
        if key in tier
    )


def _tier_changes(title: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes = []
    for key, (label, unit) in _TIER_FIELDS.items():
        if old.get(key) != new.get(key):
            text = _("%(tier)s, %(label)s: %(change)s") % {
                "tier": title, "label": _(label), "change": _from_to(old.get(key), new.get(key), _(unit))}  # fmt: skip
            changes.append(Change("Service terms", "changed", text))
    changes += _other_keys("Service terms", _("%(tier)s, ") % {"tier": title}, old, new, set(_TIER_FIELDS))
    return changes


_DAY_NAMES = (
    gettext_noop("Mon"), gettext_noop("Tue"), gettext_noop("Wed"), gettext_noop("Thu"), gettext_noop("Fri"),
    gettext_noop("Sat"), gettext_noop("Sun"),
)  # fmt: skip


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
            parts.append(f"{_(_DAY_NAMES[run[0]])}–{_(_DAY_NAMES[run[-1]])}")
        else:
            parts += [_(_DAY_NAMES[day]) for day in run]
    return _(", ").join(parts)


def _hours(calendar: Mapping[str, Any]) -> str:
    opens, closes = calendar.get("opens"), calendar.get("closes")
    return _("none") if opens is None and closes is None else f"{_value(opens)}–{_value(closes)}"


def _calendar_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    section = "Business calendar"
    changes: list[Change] = []
    if old.get("time_zone") != new.get("time_zone"):
        text = _("Time zone: %(old)s → %(new)s") % {
            "old": _value(old.get("time_zone")),
            "new": _value(new.get("time_zone")),
        }
        changes.append(Change(section, "changed", text))
    if _hours(old) != _hours(new):
        text = _("Working hours: %(old)s → %(new)s") % {"old": _hours(old), "new": _hours(new)}
        changes.append(Change(section, "changed", text))
    if _workdays(old.get("workdays")) != _workdays(new.get("workdays")):
        text = _("Workdays: %(old)s → %(new)s") % {
            "old": _workdays(old.get("workdays")), "new": _workdays(new.get("workdays"))}  # fmt: skip
        changes.append(Change(section, "changed", text))
    elif old.get("workdays") != new.get("workdays"):
        text = _("Workdays reordered: %(old)s → %(new)s") % {
            "old": _value(old.get("workdays")), "new": _value(new.get("workdays"))}  # fmt: skip
        changes.append(Change(section, "changed", text))
    if (old.get("country") or None) != (new.get("country") or None):
        text = _("Public holidays of: %(old)s → %(new)s") % {
            "old": _value(old.get("country") or None), "new": _value(new.get("country") or None)}  # fmt: skip
        changes.append(Change(section, "changed", text))
    changes += _set_changes(section, _CLOSED_DATE, old.get("closed_dates"), new.get("closed_dates"))
    known = {"time_zone", "opens", "closes", "workdays", "country", "closed_dates"}
    changes += _other_keys(section, "", old, new, known)
    return changes


# (removed, added, reordered) templates per kind of set member
_CLOSED_DATE = (
    gettext_noop("Removed closed date %(item)s"),
    gettext_noop("Added closed date %(item)s"),
    gettext_noop("Closed dates reordered: %(items)s"),
)
_REQUIRED_FIELD = (
    gettext_noop("Removed required field %(item)s"),
    gettext_noop("Added required field %(item)s"),
    gettext_noop("Required fields reordered: %(items)s"),
)


def _set_changes(section: str, words: tuple[str, str, str], old: Any, new: Any) -> list[Change]:
    removed, added, reordered = words
    before, after = [_value(item) for item in _list(old)], [_value(item) for item in _list(new)]
    changes = [
        Change(section, "removed", _(removed) % {"item": item}) for item in before if item not in after
    ]
    changes += [Change(section, "added", _(added) % {"item": item}) for item in after if item not in before]
    if not changes and before != after:  # same members, another order: still a change to sign
        changes.append(Change(section, "changed", _(reordered) % {"items": _value(after)}))
    return changes


def _marketing_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    section = "Marketing commitment"
    changes: list[Change] = []
    if old.get("mql_per_month") != new.get("mql_per_month"):
        text = _("MQLs per month: %(old)s → %(new)s") % {
            "old": _value(old.get("mql_per_month")), "new": _value(new.get("mql_per_month"))}  # fmt: skip
        changes.append(Change(section, "changed", text))
    changes += _set_changes(section, _REQUIRED_FIELD, old.get("required_fields"), new.get("required_fields"))
    changes += _other_keys(section, "", old, new, {"mql_per_month", "required_fields"})
    return changes
