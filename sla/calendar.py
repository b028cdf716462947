"""Business-hours arithmetic for the SLA clocks: pure Python, kept free of the web framework and the ORM.

All arithmetic runs on UTC instants. Python compares and subtracts two aware datetimes that share a tzinfo
by their wall-clock fields, which is wrong across a DST change, so local times only exist at the edges:
a working day is the interval between the local opening and closing wall-clock times, converted to UTC.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "BusinessCalendar",
    "CalendarError",
    "add_business_days",
    "business_minutes_between",
    "business_seconds_between",
    "due_at",
    "is_open",
    "next_opening",
]

DEFAULT_PATH = "terms.calendar"
# How many consecutive days without working time we accept before declaring the calendar broken.
MAX_CLOSED_DAYS = 3 * 366
_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_KEYS = frozenset({"time_zone", "workdays", "opens", "closes", "country", "closed_dates"})
_REQUIRED_KEYS = ("time_zone", "workdays", "opens", "closes")


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str
    workdays: frozenset[int]
    opens: time
    closes: time
    country: str = ""
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Accept any iterable for the set fields so callers can pass lists; the dataclass must stay hashable.
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))
        _check(
            path=DEFAULT_PATH,
            time_zone=self.time_zone,
            workdays=self.workdays,
            opens=self.opens,
            closes=self.closes,
            country=self.country,
            closed_dates=self.closed_dates,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str = DEFAULT_PATH) -> BusinessCalendar:
        if not isinstance(data, Mapping):
            raise CalendarError(f"{path}: must be an object")
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise CalendarError(f"{path}.{unknown[0]}: unknown key")
        for key in _REQUIRED_KEYS:
            if key not in data:
                raise CalendarError(f"{path}.{key}: is required")
        country = data.get("country", "")
        values: dict[str, Any] = {
            "time_zone": data["time_zone"],
            "workdays": _parse_workdays(data["workdays"], f"{path}.workdays"),
            "opens": _parse_hh_mm(data["opens"], f"{path}.opens"),
            "closes": _parse_hh_mm(data["closes"], f"{path}.closes"),
            "country": "" if country is None else country,
            "closed_dates": _parse_dates(data.get("closed_dates", []), f"{path}.closed_dates"),
        }
        _check(path=path, **values)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_zone": self.time_zone,
            "workdays": sorted(self.workdays),
            "opens": self.opens.strftime("%H:%M"),
            "closes": self.closes.strftime("%H:%M"),
            "country": self.country,
            "closed_dates": [d.isoformat() for d in sorted(self.closed_dates)],
        }

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_open_day(self, day: date) -> bool:
        """A workday that is neither a public holiday nor a closed date (it may still have no working time
        if a DST change swallows the opening hours)."""
        if day.weekday() not in self.workdays or day in self.closed_dates:
            return False
        return not (self.country and day in _public_holidays(self.country, day.year))

    def working_interval(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC instants of the local opening and closing on ``day``, or None on a closed day.

        The length is the real elapsed time between them, so a DST change inside working hours makes the
        day an hour shorter or longer.
        """
        if not self.is_open_day(day):
            return None
        zone = self.zone
        opens = _wall_to_utc(datetime.combine(day, self.opens), zone)
        closes = _wall_to_utc(datetime.combine(day, self.closes), zone)
        if closes <= opens:
            return None
        return opens, closes


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant at which the local clock shows ``wall`` (naive) or later.

    A wall time repeated by a fall-back change is its first occurrence (zoneinfo's ``fold=0``). A wall
    time skipped by a spring-forward change is the instant the clocks jump past it: an office that opens
    at 02:30 is open from 03:00 on that night, not from 03:30 as ``fold=0`` would say.
    """
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a gap: fold=1 reads the wall time with the offset after the change, which lands before it.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = instant
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=(high - low) // timedelta(seconds=2))
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def _parse_hh_mm(value: Any, path: str) -> time:
    if not isinstance(value, str) or not _HH_MM.match(value):
        raise CalendarError(f"{path}: must be a time as HH:MM")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _parse_workdays(value: Any, path: str) -> frozenset[int]:
    if not isinstance(value, list | tuple):
        raise CalendarError(f"{path}: must be a list of weekday numbers (0=Monday … 6=Sunday)")
    for index, day in enumerate(value):
        if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
            raise CalendarError(f"{path}[{index}]: must be a weekday number from 0 (Monday) to 6 (Sunday)")
    if len(set(value)) != len(value):
        raise CalendarError(f"{path}: must not repeat a day")
    return frozenset(value)


def _parse_dates(value: Any, path: str) -> frozenset[date]:
    if value is None:
        return frozenset()
    if not isinstance(value, list | tuple):
        raise CalendarError(f"{path}: must be a list of dates as YYYY-MM-DD")
    dates = []
    for index, item in enumerate(value):
        try:
            if not isinstance(item, str) or len(item) != 10:
                raise ValueError
            dates.append(date.fromisoformat(item))
        except ValueError:
            raise CalendarError(f"{path}[{index}]: must be a date as YYYY-MM-DD") from None
    if len(set(dates)) != len(dates):
        raise CalendarError(f"{path}: must not repeat a date")
    return frozenset(dates)


def _check(
    *,
    path: str,
    time_zone: Any,
    workdays: frozenset[Any],
    opens: Any,
    closes: Any,
    country: Any,
    closed_dates: frozenset[Any],
) -> None:
    if not isinstance(time_zone, str) or not time_zone:
        raise CalendarError(f"{path}.time_zone: must be an IANA time zone name such as Europe/London")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{path}.time_zone: unknown time zone {time_zone!r}") from None
    if not workdays:
        raise CalendarError(f"{path}.workdays: must name at least one weekday")
    for day in workdays:
        if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
            raise CalendarError(
                f"{path}.workdays: {day!r} is not a weekday number from 0 (Monday) to 6 (Sunday)"
            )
    for name, value in (("opens", opens), ("closes", closes)):
        if not isinstance(value, time) or value.tzinfo is not None or value.second or value.microsecond:
            raise CalendarError(f"{path}.{name}: must be a time as HH:MM")
    if opens >= closes:
        raise CalendarError(f"{path}.opens: must be HH:MM before closes")
    if not isinstance(country, str):
        raise CalendarError(f"{path}.country: must be a string")
    if country and not _known_country(country):
        raise CalendarError(
            f"{path}.country: unknown country code {country!r} "
            "(a code such as GB, optionally with a subdivision such as GB-ENG)"
        )
    for day in closed_dates:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise CalendarError(f"{path}.closed_dates: {day!r} is not a date")


def _split_country(country: str) -> tuple[str, str | None]:
    code, _, subdivision = country.partition("-")
    return code, subdivision or None


def _known_country(country: str) -> bool:
    supported = holidays.list_supported_countries()
    code, subdivision = _split_country(country)
    if code not in supported:
        return False
    return subdivision is None or subdivision in supported[code]


@functools.lru_cache(maxsize=512)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    code, subdivision = _split_country(country)
    return frozenset(holidays.country_holidays(code, subdiv=subdivision, years=year).keys())


def _aware_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise CalendarError(f"{name}: must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError(f"{name}: must be timezone-aware")
    return value.astimezone(UTC)


def _intervals(
    calendar: BusinessCalendar, *, after: datetime, until: datetime | None = None
) -> Iterator[tuple[date, datetime, datetime]]:
    """Working days with their UTC intervals (half-open) that end after ``after``, in order.

    Walks day by day; stops once past ``until``, or raises when no working time shows up for
    ``MAX_CLOSED_DAYS`` days in a row (a calendar that would otherwise loop for ever).
    """
    zone = calendar.zone
    day = after.astimezone(zone).date() - timedelta(days=2)
    last_day = until.astimezone(zone).date() + timedelta(days=1) if until is not None else None
    previous_close: datetime | None = None
    closed_run = 0
    while last_day is None or day <= last_day:
        interval = calendar.working_interval(day)
        if interval is not None and previous_close is not None and interval[0] < previous_close:
            # Only in zones that skipped a whole date (Pacific/Apia 2011): never count time twice.
            interval = (previous_close, interval[1]) if interval[1] > previous_close else None
        if interval is None:
            closed_run += 1
            if closed_run > MAX_CLOSED_DAYS:
                first_closed = day - timedelta(days=closed_run - 1)
                raise CalendarError(
                    f"{DEFAULT_PATH}: no working time in the {MAX_CLOSED_DAYS} days from {first_closed}"
                )
        else:
            closed_run = 0
            previous_close = interval[1]
            if interval[1] > after:
                yield day, interval[0], interval[1]
        day += timedelta(days=1)


def is_open(at: datetime, *, calendar: BusinessCalendar) -> bool:
    moment = _aware_utc(at, "at")
    for _day, opens, _closes in _intervals(calendar, after=moment, until=moment):
        return opens <= moment
    return False


def next_opening(at: datetime, *, calendar: BusinessCalendar) -> datetime:
    """The earliest instant at or after ``at`` when the calendar is open (``at`` itself if it is open)."""
    moment = _aware_utc(at, "at")
    _day, opens, _closes = next(_intervals(calendar, after=moment))
    return max(opens, moment).astimezone(calendar.zone)


def due_at(*, start: datetime, business_minutes: int, calendar: BusinessCalendar) -> datetime:
    """The instant when ``business_minutes`` of working time have elapsed after ``start``.

    Running out exactly at a closing time gives that closing instant, not the next opening: both are the
    same working moment, and the evening deadline is the one a rep expects to see.
    """
    if isinstance(business_minutes, bool) or not isinstance(business_minutes, int) or business_minutes < 0:
        raise CalendarError("business_minutes: must be a whole number of 0 or more")
    moment = _aware_utc(start, "start")
    remaining = timedelta(minutes=business_minutes)
    for _day, opens, closes in _intervals(calendar, after=moment):
        segment_start = max(opens, moment)
        available = closes - segment_start
        if remaining <= available:
            return (segment_start + remaining).astimezone(calendar.zone)
        remaining -= available
    raise AssertionError("unreachable: _intervals is endless without `until`")


def business_seconds_between(*, start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    begin = _aware_utc(start, "start")
    finish = _aware_utc(end, "end")
    if finish <= begin:
        return 0.0
    total = timedelta(0)
    for _day, opens, closes in _intervals(calendar, after=begin, until=finish):
        if opens >= finish:
            break
        total += min(closes, finish) - max(opens, begin)
    return total.total_seconds()


def business_minutes_between(*, start: datetime, end: datetime, calendar: BusinessCalendar) -> float:
    return business_seconds_between(start=start, end=end, calendar=calendar) / 60


def add_business_days(*, start: datetime, days: int, calendar: BusinessCalendar) -> datetime:
    """The same time of day on the ``days``-th open day after ``start``, clamped into working hours.

    This is what "an outcome within 30 business days" means to a sales team; it is not 30 × a day's
    working minutes. "Same time of day" is measured as working time elapsed since that day's opening,
    which equals the local clock time except on a day whose working hours contain a DST change, and
    keeps the result monotonic in ``start``. As in ``due_at``, the clock starts at the next opening when
    ``start`` is outside working time, and a clock started at an opening ends at the closing of the last
    day it covers (Friday evening + 1 day is Monday 17:30, not Tuesday 09:00: the same working moment).
    0 days is the next opening.
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise CalendarError("days: must be a whole number of 0 or more")
    moment = _aware_utc(start, "start")
    zone = calendar.zone
    intervals = _intervals(calendar, after=moment)
    _first_day, first_opens, first_closes = next(intervals)
    clock_start = max(first_opens, moment)
    if days == 0:
        return clock_start.astimezone(zone)
    into_day = clock_start - first_opens
    if not into_day and days == 1:
        return first_closes.astimezone(zone)
    for counted, (_day, opens, closes) in enumerate(intervals, start=1):
        if not into_day and counted == days - 1:
            return closes.astimezone(zone)
        if into_day and counted == days:
            return min(opens + into_day, closes).astimezone(zone)
    raise AssertionError("unreachable: _intervals is endless")
