"""Template filters for people's names, in the active locale's order (see alignment.names)."""

from typing import Any

from django import template

from alignment import names

register = template.Library()


@register.filter
def person_name(obj: Any) -> str:
    """{{ user|person_name }} → "山田 太郎" in Japanese, "Taro Yamada" in English."""
    return names.person_name(obj)


@register.filter
def given_name(obj: Any) -> str:
    """{{ user|given_name }} → the greeting form of a name."""
    return names.given_name(obj)
