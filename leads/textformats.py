"""Numbers and dates as people type them in spreadsheets, whatever their locale. Pure Python: no Django.

    1,200 · 1.200 · 1 200 · 1'200 · １，２００ · 1.2万  → 1200
    2,5 · 2.5                                            → 2.5
    2026-12-01 · 2026/12/01 · 2026年12月1日 · 令和8年12月1日 · R8.12.1 · 01.12.2026  → date(2026, 12, 1)

One module so the importer, the API and the rules agree on what a value means.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date

# Japanese eras: first Gregorian year (元年 = year 1). Letters are the usual abbreviations (R6.4.1).
ERAS: dict[str, int] = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
ERA_LETTERS: dict[str, str] = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
_SPACES = re.compile(r"[\s\u00a0\u202f\u3000']")
_UNITS = {"万": 10_000, "億": 100_000_000}


def normalise_digits(text: str) -> str:
    """Full-width digits, commas, points and minus signs to ASCII (NFKC), e.g. "１，２００" → "1,200"."""
    return unicodedata.normalize("NFKC", text).replace("−", "-").replace("‐", "-")


def parse_number(value: str, *, decimal_mark: str | None = None) -> int | float:
    """A number written with any grouping: ValueError when it is not one.

    `decimal_mark` ("." or ",") settles "1,200" / "1.200" when the file's locale is known. Without it, a single
    separator followed by exactly three digits groups thousands (1,200 and 1.200 are both 1200, as Excel in
    English, German or Japanese writes them); otherwise it is the decimal mark (2,5 and 2.5 are 2.5).
    """
    text = _SPACES.sub("", normalise_digits(str(value)))
    factor = 1
    if text and text[-1] in _UNITS:
        factor, text = _UNITS[text[-1]], text[:-1]
    sign = ""
    if text[:1] in "+-":
        sign, text = text[0], text[1:]
    if not re.fullmatch(r"[\d.,]*\d[\d.,]*|\d*[.,]\d+", text or "x") and not re.fullmatch(
        r"\d+(\.\d+)?[eE][-+]?\d+", text
    ):
        raise ValueError(f"“{value}” is not a number.")
    number = float(text) if "e" in text.lower() else float(_canonical(text, decimal_mark, value))
    number = float(sign + "1") * number * factor
    if not math.isfinite(number):
        raise ValueError(f"“{value}” is not a number.")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _canonical(text: str, decimal_mark: str | None, original: str) -> str:
    marks = [ch for ch in text if ch in ".,"]
    if not marks:
        return text
    if decimal_mark is None:
        if len(set(marks)) == 2:
            decimal_mark = marks[-1]  # 1.234,5 or 1,234.5: the last mark is the decimal one
        elif len(marks) > 1:
            decimal_mark = "," if marks[0] == "." else "."  # 1.234.567: grouping only
        else:
            head, tail = text.split(marks[0])
            grouping = len(tail) == 3 and 1 <= len(head) <= 3 and head != "0"
            decimal_mark = ("," if marks[0] == "." else ".") if grouping else marks[0]
    group = "," if decimal_mark == "." else "."
    integer, _, fraction = text.partition(decimal_mark)
    if fraction and group in fraction or fraction.count(decimal_mark):
        raise ValueError(f"“{original}” is not a number.")
    if group in integer and not re.fullmatch(rf"\d{{1,3}}(\{group}\d{{3}})+", integer):
        raise ValueError(f"“{original}” is not a number (its digit groups are uneven).")
    return integer.replace(group, "") + ("." + fraction if fraction else "")


_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_KANJI = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_ERA = re.compile(r"(明治|大正|昭和|平成|令和)(\d{1,2}|元)年(\d{1,2})月(\d{1,2})日?")
_ERA_SHORT = re.compile(r"([MTSHR])(\d{1,2})[./-](\d{1,2})[./-](\d{1,2})", re.I)
_DMY = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})")


def parse_date(value: str, *, day_first: bool = True) -> date:
    """A calendar date from the ways spreadsheets write one; ValueError otherwise.

    `day_first` decides 01/12/2026 (1 December, as in Europe) against 12/01/2026 (US); year-first and Japanese
    forms are never ambiguous. A time after the date (2026/12/01 10:00) is ignored.
    """
    text = normalise_digits(str(value)).strip().split(" ")[0].split("T")[0]
    if match := _ERA.fullmatch(text):
        era, year, month, day = match.groups()
        return _date(ERAS[era] + (1 if year == "元" else int(year)) - 1, month, day, value)
    if match := _ERA_SHORT.fullmatch(text):
        letter, year, month, day = match.groups()
        return _date(ERAS[ERA_LETTERS[letter.upper()]] + int(year) - 1, month, day, value)
    if match := _ISO.fullmatch(text) or _KANJI.fullmatch(text):
        return _date(match.group(1), match.group(2), match.group(3), value)
    if match := _DMY.fullmatch(text):
        first, second, year = match.groups()
        day, month = (first, second) if day_first else (second, first)
        return _date(year, month, day, value)
    raise ValueError(f"“{value}” is not a date.")


def _date(year: str | int, month: str | int, day: str | int, original: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError(f"“{original}” is not a date that exists.") from None
