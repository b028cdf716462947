"""Calendar months of the review and the small arithmetic its figures share (reports and suggestions)."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

from django.conf import settings

MIN_EVIDENCE = 20  # below this many leads a rate is shown but never used for a suggestion


def month_start(value: date) -> date:
    return value.replace(day=1)


def previous_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def next_month(month: date) -> date:
    return date(month.year + 1, 1, 1) if month.month == 12 else date(month.year, month.month + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end_month = next_month(month)
    return start, datetime(end_month.year, end_month.month, 1, tzinfo=zone)


def rate(part: int | float, whole: int | float) -> float | None:
    return None if not whole else part / whole
