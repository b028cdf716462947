"""CSV files that are safe to open in a spreadsheet: every CSV the site writes goes through `writer`.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by Excel, LibreOffice and
Google Sheets (`=cmd|' /C calc'!A0`, `=HYPERLINK(...)` leaking data). OWASP's remedy: prefix such a text cell with
a single quote, which the spreadsheet shows as text. Numbers (Python int/float, or text that is just a number such
as "-12.5") are left alone, so figures stay figures.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?")


def safe_cell(value: Any) -> Any:
    """The value, or its text prefixed with ' when a spreadsheet would run it as a formula."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class SafeWriter:
    """csv.writer with every cell passed through safe_cell."""

    def __init__(self, file: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(file: Any, **kwargs: Any) -> SafeWriter:
    return SafeWriter(file, **kwargs)
