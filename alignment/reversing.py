"""reverse() for one row's URL, fast: a page or an API response names hundreds of rows' URLs.

The URL of a named route that takes one id is the same text around the id, so it is reversed once (per script
prefix) with a placeholder id and the row's id is put in its place.
"""

from __future__ import annotations

from functools import lru_cache

from django.urls import get_script_prefix, reverse

_PK = 987654321  # the placeholder id


@lru_cache(maxsize=64)
def _around(name: str, script_prefix: str) -> tuple[str, str]:
    before, _placeholder, after = reverse(name, args=[_PK]).partition(str(_PK))
    return before, after


def reverse_pk(name: str, pk: int) -> str:
    """reverse(name, args=[pk]) for a route whose one argument is an integer id."""
    if type(pk) is not int:
        return reverse(name, args=[pk])
    before, after = _around(name, get_script_prefix())
    return f"{before}{pk}{after}"
