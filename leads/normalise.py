"""Pure helpers that turn what sources send into the lead attributes rules look at. No Django import."""

from __future__ import annotations

import re
from typing import Any

SENIORITY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("c-level", re.compile(r"\b(ceo|cfo|cto|coo|cmo|cio|cro|chief|president)\b", re.I)),
    ("owner", re.compile(r"\b(owner|founder|co-founder|cofounder|partner)\b", re.I)),
    ("vp", re.compile(r"\b(vp|svp|evp|vice[- ]president)\b", re.I)),
    ("director", re.compile(r"\b(director|head of)\b", re.I)),
    ("manager", re.compile(r"\b(manager|lead|supervisor)\b", re.I)),
    ("student", re.compile(r"\b(student|intern|graduate)\b", re.I)),
)
LEAD_FIELDS = (
    "email", "first_name", "last_name", "company", "job_title", "seniority", "department",
    "industry", "employees", "country", "source", "campaign",
)  # fmt: skip


def seniority_from_title(title: str) -> str:
    """'VP of Sales' → 'vp', 'Head of Marketing' → 'director'; '' when the title says nothing about rank."""
    for level, pattern in SENIORITY_PATTERNS:
        if pattern.search(title or ""):
            return level
    return "individual" if (title or "").strip() else ""


def parse_employees(value: Any) -> int | None:
    """'1,200' → 1200, '51-200' → 51 (the lower bound of a range), '' → None; ValueError for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("not a number of employees")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("cannot be negative")
        return int(value)
    text = str(value).strip().replace(",", "").replace(" ", "")
    match = re.fullmatch(r"(\d+)(?:\+|-\d+)?", text)
    if not match:
        raise ValueError(f"“{value}” is not a number of employees")
    return int(match.group(1))


def lead_attributes(fields: dict[str, Any], custom: dict[str, Any]) -> dict[str, Any]:
    """The facts criteria see: custom attributes first, the lead's own fields win on a clash."""
    return {**custom, **{key: fields.get(key) for key in LEAD_FIELDS}}
