"""Apply accepted review suggestions to an agreement's content (pure: plain dicts in, plain dicts out)."""

from __future__ import annotations

from typing import Any

from sla import content as agreement_content
from sla.exceptions import InvalidContent


def apply_change(content: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """One change from a suggestion. A rule removed or renamed meanwhile is skipped, never an error."""
    op = change.get("op")
    section = change.get("section", "")
    try:
        if op == "set_threshold":
            agreement_content.threshold_set(content, int(change["threshold"]))
        elif op == "set_points":
            rule = agreement_content.rule_get(content, section, change["rule_id"])
            agreement_content.rule_replace(
                content, section, change["rule_id"], {**rule, "points": int(change["points"])}
            )
        elif op == "remove_rule":
            agreement_content.rule_remove(content, section, change["rule_id"])
        elif op == "add_rule":
            agreement_content.rule_add(content, section, dict(change["rule"]))
        else:
            raise ValueError(f"Unknown change: {op}")
    except InvalidContent:
        pass  # the rule is gone from the draft; nothing to change
    return content


def apply_changes(content: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    for change in changes:
        content = apply_change(content, change)
    return content
