"""The SQL criteria ("sql" in the agreement content): the qualification framework and its checklist items,
and whether a set of met items qualifies a lead. Pure Python: no Django."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sla.criteria.schema import CriteriaError, _flag, _list, _object, _text, _whole, gettext_noop

FRAMEWORKS = ("bant", "champ", "anum", "custom")

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
            raise CriteriaError(
                f"{path}.framework",
                gettext_noop("must be one of %(choices)s"),
                {"choices": ", ".join(FRAMEWORKS)},
            )
        raw_items = _list(data["items"], f"{path}.items")
        if not raw_items:
            raise CriteriaError(f"{path}.items", gettext_noop("must list at least one item"))
        items = [SqlItem.from_dict(item, path=f"{path}.items[{i}]") for i, item in enumerate(raw_items)]
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.key in seen:
                raise CriteriaError(
                    f"{path}.items[{index}].key", gettext_noop('duplicate key "%(key)s"'), {"key": item.key}
                )
            seen.add(item.key)
        min_met = _whole(data["min_met"], f"{path}.min_met")
        required = sum(item.required for item in items)
        if not required <= min_met <= len(items):
            raise CriteriaError(
                f"{path}.min_met",
                gettext_noop("must be between %(low)s (the required items) and %(high)s (all items)"),
                {"low": required, "high": len(items)},
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
