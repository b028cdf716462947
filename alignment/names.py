"""How a person's name is shown: family name first where the active locale writes names that way.

Django stores first_name/last_name; Japanese (and Chinese, Korean, Hungarian) readers expect "山田 太郎", not
"太郎 山田". One helper, used by templates (through the `names` tag library) and tables, so no screen decides alone.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language

# Locales whose convention is family name, then given name.
FAMILY_NAME_FIRST: frozenset[str] = frozenset({"ja", "zh", "ko", "hu"})


def family_name_first(language: str | None = None) -> bool:
    """True when `language` (default: the active one) writes the family name first."""
    code = (language or get_language() or "").split("-")[0].lower()
    return code in FAMILY_NAME_FIRST


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


def full_name(first: str, last: str, *, language: str | None = None) -> str:
    """The display name from its two parts, in the locale's order; CJK names are joined with a space."""
    first, last = (first or "").strip(), (last or "").strip()
    parts = [last, first] if family_name_first(language) else [first, last]
    return " ".join(part for part in parts if part)


def person_name(obj: Any, *, language: str | None = None) -> str:
    """A user's or a lead's display name: its first/last name in locale order, else its username or e-mail."""
    if obj is None:
        return ""
    name = full_name(getattr(obj, "first_name", ""), getattr(obj, "last_name", ""), language=language)
    if name:
        return name
    get_username = getattr(obj, "get_username", None)
    if callable(get_username):
        return get_username()
    return getattr(obj, "email", "") or str(obj)


def given_name(obj: Any) -> str:
    """How to greet someone: the given name, or family name + さん in Japanese (the polite, usual form)."""
    first, last = getattr(obj, "first_name", "") or "", getattr(obj, "last_name", "") or ""
    if family_name_first() and last:
        return f"{last}さん" if (get_language() or "").startswith("ja") else last
    if first:
        return first
    get_username = getattr(obj, "get_username", None)
    return get_username() if callable(get_username) else str(obj)
