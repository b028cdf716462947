"""Whole-document operations on an agreement's content: validation, the starter agreement, rule edits.

Pure Python on plain dicts (the JSON stored on AgreementVersion), so services and forms share one path.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

from sla.calendar import CalendarError
from sla.criteria import (
    FRAMEWORK_TEMPLATES,
    ActivityMatch,
    Condition,
    CriteriaError,
    MqlCriteria,
    SqlCriteria,
    describe,
)
from sla.exceptions import InvalidContent
from sla.terms import STARTER_TERMS, ServiceTerms, TermsError

RULE_SECTIONS: dict[str, tuple[str, str]] = {
    # section key in content["mql"] → (id prefix, label)
    "fit_rules": ("f", "Fit rule"),
    "engagement_rules": ("e", "Engagement rule"),
    "gates": ("g", "Gate"),
    "triggers": ("t", "Trigger"),
}

STARTER_MQL: dict[str, Any] = {
    "threshold": 50,
    "fit_rules": [
        {
            "id": "f1",
            "name": "Decision maker",
            "points": 20,
            "condition": {
                "field": "seniority",
                "op": "one_of",
                "value": ["director", "vp", "c-level", "owner"],
            },
        },
        {
            "id": "f2",
            "name": "Target industry",
            "points": 15,
            "condition": {
                "field": "industry",
                "op": "one_of",
                "value": ["software", "financial services", "healthcare", "education"],
            },
        },
        {
            "id": "f3",
            "name": "100+ employees",
            "points": 10,
            "condition": {"field": "employees", "op": "gte", "value": 100},
        },
        {
            "id": "f4",
            "name": "Free-mail address",
            "points": -20,
            "condition": {"field": "email", "op": "free_mail", "value": None},
        },
    ],
    "engagement_rules": [
        {
            "id": "e1",
            "name": "Pricing page view",
            "points": 15,
            "activity": "page",
            "where": {"property": "path", "op": "starts_with", "value": "/pricing"},
            "max_count": 2,
            "window_days": 30,
            "min_count": 1,
        },
        {
            "id": "e2",
            "name": "Case study download",
            "points": 10,
            "activity": "download",
            "where": {"property": "asset", "op": "contains", "value": "case study"},
            "max_count": 3,
            "window_days": 60,
            "min_count": 1,
        },
        {
            "id": "e3",
            "name": "Webinar attended",
            "points": 10,
            "activity": "webinar",
            "where": None,
            "max_count": 2,
            "window_days": 90,
            "min_count": 1,
        },
        {
            "id": "e4",
            "name": "Blog view",
            "points": 3,
            "activity": "page",
            "where": {"property": "path", "op": "starts_with", "value": "/blog"},
            "max_count": 5,
            "window_days": 30,
            "min_count": 1,
        },
        {
            "id": "e5",
            "name": "Email open",
            "points": 1,
            "activity": "email_open",
            "where": None,
            "max_count": 5,
            "window_days": 30,
            "min_count": 1,
        },
        {
            "id": "e6",
            "name": "3+ visits in 30 days",
            "points": 10,
            "activity": "page",
            "where": None,
            "max_count": None,
            "window_days": 30,
            "min_count": 3,
        },
        {
            "id": "e7",
            "name": "Careers page (job seeker)",
            "points": -50,
            "activity": "page",
            "where": {"property": "path", "op": "starts_with", "value": "/careers"},
            "max_count": 1,
            "window_days": 90,
            "min_count": 1,
        },
    ],
    "inactivity": {"days": 90, "points": -20},
    "gates": [
        {
            "id": "g1",
            "name": "Has an e-mail address",
            "condition": {"field": "email", "op": "is_not_empty", "value": None},
        },
        {"id": "g2", "name": "Company of 10+", "condition": {"field": "employees", "op": "gte", "value": 10}},
    ],
    "triggers": [
        {
            "id": "t1",
            "name": "Demo request",
            "activity": "demo_request",
            "where": None,
            "attribute": None,
            "requires_gates": True,
            "min_silence_days": None,
            "within_days": 7,
            "reason": "requested a demo",
        },
        {
            "id": "t2",
            "name": "Pricing page, in target",
            "activity": "page",
            "where": {"property": "path", "op": "starts_with", "value": "/pricing"},
            "attribute": {"field": "employees", "op": "gte", "value": 100},
            "requires_gates": True,
            "min_silence_days": None,
            "within_days": 2,
            "reason": "viewed pricing",
        },
        {
            "id": "t3",
            "name": "Dormant lead is back",
            "activity": "*",
            "where": None,
            "attribute": None,
            "requires_gates": True,
            "min_silence_days": 180,
            "within_days": 7,
            "reason": "came back after 180+ days of silence",
        },
    ],
}


def starter_content() -> dict[str, Any]:
    sql = SqlCriteria.from_dict(
        {"framework": "bant", "items": FRAMEWORK_TEMPLATES["bant"], "min_met": 3}
    ).to_dict()
    return {"mql": copy.deepcopy(STARTER_MQL), "sql": sql, "terms": copy.deepcopy(STARTER_TERMS)}


def validate(content: Any) -> None:
    """Raise InvalidContent naming the exact place (e.g. `mql.fit_rules[2].points`) of the first problem."""
    if not isinstance(content, dict):
        raise InvalidContent("The agreement content must be an object.", path="")
    for key in ("mql", "sql", "terms"):
        if key not in content:
            raise InvalidContent(f"{key}: is missing", path=key)
    unknown = set(content) - {"mql", "sql", "terms"}
    if unknown:
        raise InvalidContent(f"Unknown section(s): {', '.join(sorted(unknown))}", path="")
    try:
        MqlCriteria.from_dict(content["mql"])
        SqlCriteria.from_dict(content["sql"])
        ServiceTerms.from_dict(content["terms"])
    except (CriteriaError, TermsError, CalendarError) as error:
        message = str(error)
        path = getattr(error, "path", "") or message.split(":", 1)[0]
        raise InvalidContent(message, path=path) from error


def condition_fields(content: Any) -> dict[str, str]:
    """Each lead field or attribute a condition of the content reads, with the path of the first condition on it
    (e.g. `mql.fit_rules[2].condition.field`): what a check on the fields a draft's rules use looks at."""
    found: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("field"), str) and "op" in node and set(node) <= {"field", "op", "value"}:
                found.setdefault(node["field"], f"{path}.field")
                return
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    walk(content, "")
    return found


def new_rule_id(content: dict[str, Any], section: str) -> str:
    """A fresh random id, so a removed rule's id is never reused: the diff matches rules by id across versions."""
    prefix = RULE_SECTIONS[section][0]
    used = {
        rule.get("id")
        for key in RULE_SECTIONS
        for rule in content.get("mql", {}).get(key, [])
        if isinstance(rule, dict)
    }
    while (rule_id := f"{prefix}{secrets.token_hex(3)}") in used:
        pass
    return rule_id


def threshold_set(content: dict[str, Any], threshold: int) -> dict[str, Any]:
    content["mql"]["threshold"] = threshold
    return content


def calendar_set(content: dict[str, Any], calendar: dict[str, Any]) -> dict[str, Any]:
    """Replace the business calendar's settings (e.g. a preset of sla.forms.CALENDAR_PRESETS) in one go."""
    content["terms"]["calendar"] = {**content["terms"]["calendar"], **calendar}
    return content


def rule_add(content: dict[str, Any], section: str, rule: dict[str, Any]) -> dict[str, Any]:
    rule = {**rule, "id": new_rule_id(content, section)}
    content["mql"].setdefault(section, []).append(rule)
    return content


def rule_replace(content: dict[str, Any], section: str, rule_id: str, rule: dict[str, Any]) -> dict[str, Any]:
    rules = content["mql"][section]
    index = _index(rules, rule_id)
    rules[index] = {**rule, "id": rule_id}
    return content


def rule_remove(content: dict[str, Any], section: str, rule_id: str) -> dict[str, Any]:
    rules = content["mql"][section]
    del rules[_index(rules, rule_id)]
    return content


def rule_move(content: dict[str, Any], section: str, rule_id: str, offset: int) -> dict[str, Any]:
    rules = content["mql"][section]
    index = _index(rules, rule_id)
    target = max(0, min(len(rules) - 1, index + offset))
    rules.insert(target, rules.pop(index))
    return content


def rule_get(content: dict[str, Any], section: str, rule_id: str) -> dict[str, Any]:
    rules = content["mql"][section]
    return rules[_index(rules, rule_id)]


def _index(rules: list[dict[str, Any]], rule_id: str) -> int:
    for index, rule in enumerate(rules):
        if rule.get("id") == rule_id:
            return index
    raise InvalidContent(
        f"No rule {rule_id} in this section; it may have been removed meanwhile.", path=rule_id
    )


def describe_rule(section: str, rule: dict[str, Any]) -> str:
    """A rule in the words the agreement page uses ("page where path starts with /pricing, at most 2× in 30 days")."""
    if section in ("fit_rules", "gates"):
        return describe(Condition.from_dict(rule["condition"]))
    activity = "any activity" if rule.get("activity") == "*" else rule.get("activity", "")
    text = activity
    if rule.get("where"):
        text += f" where {describe(ActivityMatch.from_dict(rule['where']))}"
    if section == "engagement_rules":
        window = f"in the last {rule['window_days']} days" if rule.get("window_days") else "ever"
        if (rule.get("min_count") or 1) > 1:
            return f"{rule['min_count']}+ × {text} {window} (scores once)"
        cap = f", at most {rule['max_count']}×" if rule.get("max_count") else ""
        return f"each {text} {window}{cap}"
    parts = [text, f"within {rule.get('within_days')} days"]
    if rule.get("attribute"):
        parts.append(f"and {describe(Condition.from_dict(rule['attribute']))}")
    if rule.get("requires_gates"):
        parts.append("and passes the gates")
    if rule.get("min_silence_days"):
        parts.append(f"after {rule['min_silence_days']}+ days of silence")
    return " ".join(parts)
