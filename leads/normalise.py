"""Pure helpers that turn what sources send into the lead attributes rules look at. No Django import."""

from __future__ import annotations

import re
from typing import Any

from leads import textformats

# Japanese titles first (no word boundaries in Japanese; 本部長 must match before 部長). "課長以上" (section chief
# and above) is the usual decision-maker line in Japanese B2B scoring, so 課長 and マネージャー land in the
# "director" band the starter agreement's "Decision maker" rule counts; 係長/主任 are managers.
SENIORITY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "c-level",
        re.compile(r"代表取締役|取締役|社長|会長|頭取|専務|常務|最高\S*責任者|CEO|CFO|CTO|COO|CMO|CIO"),
    ),
    ("owner", re.compile(r"創業者|オーナー|創設者")),
    ("vp", re.compile(r"執行役員|本部長|事業部長|副社長")),
    ("director", re.compile(r"部長|室長|センター長|支店長|工場長|課長|マネージャー|マネジャー|ディレクター")),
    ("manager", re.compile(r"係長|主任|チームリーダー|リーダー")),
    ("student", re.compile(r"学生|インターン")),
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
    text = textformats.normalise_digits(str(value)).strip().removesuffix("名").removesuffix("人")
    match = re.fullmatch(r"([\d.,\s']+?)(?:\+|以上|-[\d.,]+|~[\d.,]+)?", text)
    if not match:
        raise ValueError(f"“{value}” is not a number of employees")
    try:
        number = textformats.parse_number(match.group(1))
    except ValueError:
        raise ValueError(f"“{value}” is not a number of employees") from None
    if number != int(number):
        raise ValueError(f"“{value}” is not a whole number of employees")
    return int(number)


def lead_attributes(fields: dict[str, Any], custom: dict[str, Any]) -> dict[str, Any]:
    """The facts criteria see: custom attributes first, the lead's own fields win on a clash."""
    return {**custom, **{key: fields.get(key) for key in LEAD_FIELDS}}
