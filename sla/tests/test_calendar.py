from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.calendar import (
    BusinessCalendar,
    CalendarError,
    add_business_days,
    business_minutes_between,
    business_seconds_between,
    due_at,
    is_open,
    next_opening,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
MON_FRI = frozenset({0, 1, 2, 3, 4})


def make_calendar(**overrides: object) -> BusinessCalendar:
    values: dict[str, object] = {
        "time_zone": "Europe/London",
        "workdays": MON_FRI,
        "opens": time(9, 0),
        "closes": time(17, 30),
        "country": "GB",
        "closed_dates": frozenset(),
    }
    values.update(overrides)
    return BusinessCalendar(**values)  # type: ignore[arg-type]


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def new_york(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


# --- due_at: concrete cases -------------------------------------------------------------------------------


def test_friday_afternoon_rolls_over_the_weekend() -> None:
    # given 90 working minutes left on Friday 20 November 2026 (16:00–17:30)
    calendar = make_calendar()

    # when
    two_hours = due_at(start=london(2026, 11, 20, 16, 0), business_minutes=120, calendar=calendar)
    three_hours = due_at(start=london(2026, 11, 20, 16, 0), business_minutes=180, calendar=calendar)

    # then the rest runs on Monday morning
    assert two_hours == london(2026, 11, 23, 9, 30)
    assert three_hours == london(2026, 11, 23, 10, 30)


def test_result_is_in_the_calendar_time_zone() -> None:
    # given a start expressed in UTC
    calendar = make_calendar()

    # when
    result = due_at(start=datetime(2026, 7, 1, 8, 0, tzinfo=UTC), business_minutes=60, calendar=calendar)

    # then it is 10:00 BST, shown in London time
    assert result.tzinfo == LONDON
    assert (result.hour, result.minute) == (10, 0)
    assert result == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def test_christmas_in_great_britain() -> None:
    # given Thursday 24 December 2026, half an hour before closing; 25th and 28th (Boxing Day observed)
    # are public holidays and the 26th–27th a weekend
    calendar = make_calendar()

    # when
    result = due_at(start=london(2026, 12, 24, 17, 0), business_minutes=60, calendar=calendar)

    # then
    assert result == london(2026, 12, 29, 9, 30)


def test_public_holidays_only_count_with_a_country() -> None:
    # given the same calendar without a country
    calendar = make_calendar(country="")

    # when
    result = due_at(start=london(2026, 12, 24, 17, 0), business_minutes=60, calendar=calendar)

    # then Christmas Day is a working day
    assert result == london(2026, 12, 25, 9, 30)


def test_a_closed_date_is_skipped() -> None:
    # given Wednesday 11 March 2026 closed for a company event
    calendar = make_calendar(closed_dates=frozenset({date(2026, 3, 11)}))

    # when
    result = due_at(start=london(2026, 3, 10, 17, 0), business_minutes=60, calendar=calendar)

    # then
    assert result == london(2026, 3, 12, 9, 30)


def test_subdivision_holidays() -> None:
    # given Easter Monday 2026, a bank holiday in England but not in Scotland (nor in "GB" as a whole)
    england = make_calendar(country="GB-ENG")
    whole_kingdom = make_calendar(country="GB")
    easter_monday_morning = london(2026, 4, 6, 10, 0)

    # when / then
    assert not is_open(easter_monday_morning, calendar=england)
    assert is_open(easter_monday_morning, calendar=whole_kingdom)


def test_us_spring_forward_weekend() -> None:
    # given New York office hours; clocks go forward on Sunday 8 March 2026
    calendar = make_calendar(time_zone="America/New_York", country="US")
    friday = new_york(2026, 3, 6, 17, 0)

    # when
    result = due_at(start=friday, business_minutes=60, calendar=calendar)

    # then Monday 09:30 is local (EDT) wall-clock time, and only 60 working minutes passed
    assert result == new_york(2026, 3, 9, 9, 30)
    assert result.astimezone(UTC) == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
    assert business_minutes_between(start=friday, end=result, calendar=calendar) == 60


def test_us_spring_forward_inside_working_hours() -> None:
    # given a night shift 00:30–03:30 every day; on 8 March 2026 02:00 EST jumps to 03:00 EDT
    calendar = make_calendar(
        time_zone="America/New_York", workdays=frozenset(range(7)), opens=time(0, 30), closes=time(3, 30)
    )
    sunday_open = new_york(2026, 3, 8, 0, 30)

    # when
    day_length = business_minutes_between(
        start=sunday_open, end=new_york(2026, 3, 8, 12, 0), calendar=calendar
    )
    result = due_at(start=sunday_open, business_minutes=150, calendar=calendar)

    # then the shift lasts two real hours, and the last 30 minutes run on Monday
    assert day_length == 120
    assert result == new_york(2026, 3, 9, 1, 0)


def test_us_fall_back_inside_working_hours() -> None:
    # given the same night shift; on 1 November 2026 02:00 EDT falls back to 01:00 EST
    calendar = make_calendar(
        time_zone="America/New_York", workdays=frozenset(range(7)), opens=time(0, 30), closes=time(3, 30)
    )
    sunday_open = new_york(2026, 11, 1, 0, 30)

    # when
    day_length = business_minutes_between(
        start=sunday_open, end=new_york(2026, 11, 1, 12, 0), calendar=calendar
    )
    result = due_at(start=sunday_open, business_minutes=200, calendar=calendar)

    # then the shift lasts four real hours
    assert day_length == 240
    assert result.astimezone(UTC) == datetime(2026, 11, 1, 7, 50, tzinfo=UTC)
    assert (result.hour, result.minute, result.utcoffset()) == (2, 50, timedelta(hours=-5))


def test_opening_time_skipped_by_spring_forward() -> None:
    # given an office opening at 02:30, a wall time that does not exist on 8 March 2026 in New York
    calendar = make_calendar(
        time_zone="America/New_York", workdays=frozenset(range(7)), opens=time(2, 30), closes=time(4, 0)
    )

    # when
    opening = next_opening(new_york(2026, 3, 8, 0, 0), calendar=calendar)

    # then it opens when the clocks jump past 02:30, at 03:00 EDT
    assert opening.astimezone(UTC) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_start_on_sunday() -> None:
    # given
    calendar = make_calendar()

    # when
    result = due_at(start=london(2026, 11, 22, 11, 0), business_minutes=30, calendar=calendar)

    # then the clock starts at Monday's opening
    assert result == london(2026, 11, 23, 9, 30)


def test_zero_minutes() -> None:
    # given
    calendar = make_calendar()
    tuesday_morning = london(2026, 11, 24, 10, 15)

    # when
    while_open = due_at(start=tuesday_morning, business_minutes=0, calendar=calendar)
    on_saturday = due_at(start=london(2026, 11, 21, 12, 0), business_minutes=0, calendar=calendar)

    # then
    assert while_open == tuesday_morning
    assert on_saturday == london(2026, 11, 23, 9, 0)


def test_start_exactly_at_closing_time() -> None:
    # given Friday's closing instant, which is not working time
    calendar = make_calendar()
    friday_close = london(2026, 11, 20, 17, 30)

    # when
    zero = due_at(start=friday_close, business_minutes=0, calendar=calendar)
    thirty = due_at(start=friday_close, business_minutes=30, calendar=calendar)

    # then
    assert not is_open(friday_close, calendar=calendar)
    assert zero == london(2026, 11, 23, 9, 0)
    assert thirty == london(2026, 11, 23, 9, 30)


def test_minutes_running_out_at_closing_time_give_the_closing_instant() -> None:
    # given
    calendar = make_calendar()

    # when
    result = due_at(start=london(2026, 11, 20, 17, 0), business_minutes=30, calendar=calendar)

    # then Friday 17:30, not Monday 09:00
    assert result == london(2026, 11, 20, 17, 30)


def test_large_spans_are_exact() -> None:
    # given a plain calendar with no holidays: 510 working minutes a day, 5 days a week
    calendar = make_calendar(country="")
    monday = london(2026, 1, 5, 9, 0)
    weeks = 520

    # when
    result = due_at(start=monday, business_minutes=weeks * 5 * 510, calendar=calendar)

    # then ten years later, on the Friday evening of the last week
    assert result == london(2035, 12, 21, 17, 30)
    assert business_minutes_between(start=monday, end=result, calendar=calendar) == weeks * 5 * 510


def test_rejects_bad_arguments() -> None:
    # given
    calendar = make_calendar()

    # when / then
    with pytest.raises(CalendarError, match="start: must be timezone-aware"):
        due_at(start=datetime(2026, 1, 5, 9, 0), business_minutes=5, calendar=calendar)
    with pytest.raises(CalendarError, match="business_minutes"):
        due_at(start=london(2026, 1, 5, 9, 0), business_minutes=-1, calendar=calendar)


def test_calendar_without_working_time_for_years_raises() -> None:
    # given only Mondays are workdays, and every Monday from 2026 to 2030 is closed
    first_monday = date(2026, 1, 5)
    mondays = frozenset(first_monday + timedelta(weeks=n) for n in range(5 * 53))
    calendar = make_calendar(workdays=frozenset({0}), country="", closed_dates=mondays)

    # when / then
    with pytest.raises(CalendarError, match="no working time"):
        due_at(start=london(2026, 1, 1, 9, 0), business_minutes=1, calendar=calendar)


# --- other functions ------------------------------------------------------------------------------------


def test_is_open_boundaries() -> None:
    # given
    calendar = make_calendar()

    # when / then opening is inclusive, closing exclusive
    assert is_open(london(2026, 11, 23, 9, 0), calendar=calendar)
    assert not is_open(london(2026, 11, 23, 8, 59, 59), calendar=calendar)
    assert is_open(london(2026, 11, 23, 17, 29, 59), calendar=calendar)
    assert not is_open(london(2026, 11, 23, 17, 30), calendar=calendar)
    assert not is_open(london(2026, 11, 22, 12, 0), calendar=calendar)


def test_next_opening() -> None:
    # given
    calendar = make_calendar()
    open_moment = london(2026, 11, 23, 11, 0)

    # when / then
    assert next_opening(open_moment, calendar=calendar) == open_moment
    assert next_opening(london(2026, 11, 20, 18, 0), calendar=calendar) == london(2026, 11, 23, 9, 0)
    assert next_opening(london(2026, 11, 23, 7, 0), calendar=calendar) == london(2026, 11, 23, 9, 0)


def test_business_time_between() -> None:
    # given
    calendar = make_calendar()
    friday = london(2026, 11, 20, 16, 0)
    monday = london(2026, 11, 23, 10, 0)

    # when / then
    assert business_minutes_between(start=friday, end=monday, calendar=calendar) == 150
    assert business_seconds_between(start=friday, end=monday, calendar=calendar) == 9000
    assert business_minutes_between(start=monday, end=friday, calendar=calendar) == 0


def test_add_business_days_keeps_the_time_of_day() -> None:
    # given Tuesday 1 December 2026, 14:15; the 24th is closed, the 25th and 28th are holidays
    calendar = make_calendar(closed_dates=frozenset({date(2026, 12, 24)}))

    # when
    one = add_business_days(start=london(2026, 12, 1, 14, 15), days=1, calendar=calendar)
    seventeen = add_business_days(start=london(2026, 12, 1, 14, 15), days=17, calendar=calendar)

    # then
    assert one == london(2026, 12, 2, 14, 15)
    assert seventeen == london(2026, 12, 29, 14, 15)


def test_add_business_days_outside_working_hours() -> None:
    # given
    calendar = make_calendar()

    # when
    friday_evening = add_business_days(start=london(2026, 11, 20, 20, 0), days=1, calendar=calendar)
    saturday = add_business_days(start=london(2026, 11, 21, 10, 0), days=2, calendar=calendar)
    early_monday = add_business_days(start=london(2026, 11, 23, 7, 0), days=1, calendar=calendar)
    zero = add_business_days(start=london(2026, 11, 21, 10, 0), days=0, calendar=calendar)

    # then the clock starts at the next opening and a full day ends at a closing
    assert friday_evening == london(2026, 11, 23, 17, 30)
    assert saturday == london(2026, 11, 24, 17, 30)
    assert early_monday == london(2026, 11, 23, 17, 30)
    assert zero == london(2026, 11, 23, 9, 0)


def test_add_business_days_across_dst() -> None:
    # given London clocks go back on Sunday 25 October 2026
    calendar = make_calendar()

    # when
    result = add_business_days(start=london(2026, 10, 23, 11, 0), days=1, calendar=calendar)

    # then 11:00 local time (GMT) on Monday
    assert result == london(2026, 10, 26, 11, 0)
    assert result.astimezone(UTC) == datetime(2026, 10, 26, 11, 0, tzinfo=UTC)


# --- the JSON form --------------------------------------------------------------------------------------

DOC_CALENDAR = {
    "time_zone": "Europe/London",
    "workdays": [0, 1, 2, 3, 4],
    "opens": "09:00",
    "closes": "17:30",
    "country": "GB",
    "closed_dates": ["2026-12-24"],
}


def test_from_dict_round_trip() -> None:
    # given the calendar of the agreement-content example
    data = dict(DOC_CALENDAR)

    # when
    calendar = BusinessCalendar.from_dict(data)

    # then
    assert calendar == make_calendar(closed_dates=frozenset({date(2026, 12, 24)}))
    assert calendar.to_dict() == DOC_CALENDAR


def test_from_dict_defaults() -> None:
    # given neither country nor closed dates
    data = {key: DOC_CALENDAR[key] for key in ("time_zone", "workdays", "opens", "closes")}

    # when
    calendar = BusinessCalendar.from_dict(data)

    # then
    assert calendar.country == ""
    assert calendar.closed_dates == frozenset()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"opens": "18:00"}, "terms.calendar.opens: must be HH:MM before closes"),
        ({"opens": "9:00"}, "terms.calendar.opens: must be a time as HH:MM"),
        ({"closes": "24:00"}, "terms.calendar.closes: must be a time as HH:MM"),
        ({"time_zone": "Europe/Londres"}, "terms.calendar.time_zone: unknown time zone 'Europe/Londres'"),
        ({"time_zone": "../etc"}, "terms.calendar.time_zone: unknown time zone"),
        ({"country": "XX"}, "terms.calendar.country: unknown country code 'XX'"),
        ({"country": "GB-XYZ"}, "terms.calendar.country: unknown country code 'GB-XYZ'"),
        ({"workdays": []}, "terms.calendar.workdays: must name at least one weekday"),
        ({"workdays": [0, 7]}, r"terms.calendar.workdays\[1\]: must be a weekday number"),
        ({"workdays": [0, True]}, r"terms.calendar.workdays\[1\]: must be a weekday number"),
        ({"workdays": [1, 1]}, "terms.calendar.workdays: must not repeat a day"),
        ({"closed_dates": ["2026-02-30"]}, r"terms.calendar.closed_dates\[0\]: must be a date"),
        ({"closed_dates": "2026-12-24"}, "terms.calendar.closed_dates: must be a list"),
        ({"close": "17:00"}, "terms.calendar.close: unknown key"),
    ],
)
def test_from_dict_errors(change: dict[str, object], message: str) -> None:
    # given
    data = {**DOC_CALENDAR, **change}

    # when / then
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar.from_dict(data)


def test_from_dict_missing_key_and_custom_path() -> None:
    # given
    data = {key: value for key, value in DOC_CALENDAR.items() if key != "opens"}

    # when / then
    with pytest.raises(CalendarError, match=r"^draft.calendar.opens: is required$"):
        BusinessCalendar.from_dict(data, path="draft.calendar")


def test_constructor_validates_too() -> None:
    # given / when / then
    with pytest.raises(CalendarError, match="terms.calendar.opens: must be HH:MM before closes"):
        make_calendar(opens=time(18, 0))
    with pytest.raises(CalendarError, match="terms.calendar.time_zone: unknown time zone"):
        make_calendar(time_zone="Mars/Olympus_Mons")


# --- properties -----------------------------------------------------------------------------------------

ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Santiago",  # DST changes at midnight
    "America/Havana",  # DST changes at midnight
    "Asia/Kolkata",
    "UTC",
]
COUNTRIES = ["", "GB", "US", "DE", "CL"]


def _dst_changes(zone_names: list[str], first_year: int, last_year: int) -> list[datetime]:
    changes = []
    for name in zone_names:
        zone = ZoneInfo(name)
        moment = datetime(first_year, 1, 1, tzinfo=UTC)
        offset = moment.astimezone(zone).utcoffset()
        while moment.year <= last_year:
            moment += timedelta(hours=1)
            new_offset = moment.astimezone(zone).utcoffset()
            if new_offset != offset:
                changes.append(moment)
                offset = new_offset
    return changes


DST_CHANGES = _dst_changes(ZONES, 2025, 2027)
# Hours around midnight and 02:00–03:00 are where DST changes happen.
minutes_of_day = st.one_of(
    st.integers(0, 24 * 60 - 1),
    st.sampled_from([0, 30, 60, 90, 120, 150, 180, 210, 240, 23 * 60, 23 * 60 + 30, 24 * 60 - 1]),
)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    opens_minute, closes_minute = sorted(draw(st.lists(minutes_of_day, min_size=2, max_size=2, unique=True)))
    return BusinessCalendar(
        time_zone=draw(st.sampled_from(ZONES)),
        workdays=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        opens=time(*divmod(opens_minute, 60)),
        closes=time(*divmod(closes_minute, 60)),
        country=draw(st.sampled_from(COUNTRIES)),
        closed_dates=draw(
            st.frozensets(st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31)), max_size=20)
        ),
    )


near_dst_changes = st.builds(
    lambda change, shift: change + shift,
    st.sampled_from(DST_CHANGES),
    st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)),
)
instants = st.one_of(
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    near_dst_changes,
)
minutes = st.integers(min_value=0, max_value=3000)


def in_working_time(moment: datetime, calendar: BusinessCalendar) -> bool:
    just_before = moment - timedelta(microseconds=1)
    is_closing = is_open(just_before, calendar=calendar) and not is_open(moment, calendar=calendar)
    return is_open(moment, calendar=calendar) or is_closing


def utc(moment: datetime) -> datetime:
    # Compare in UTC: Python compares two datetimes sharing a tzinfo by wall time, fold ignored.
    return moment.astimezone(UTC)


@settings(deadline=None)
@given(calendar=calendars(), start=instants, n=minutes)
def test_due_at_lands_in_working_time(calendar: BusinessCalendar, start: datetime, n: int) -> None:
    # given / when
    result = due_at(start=start, business_minutes=n, calendar=calendar)

    # then
    assert in_working_time(result, calendar)
    assert utc(result) >= start
    assert result.tzinfo == ZoneInfo(calendar.time_zone)


@settings(deadline=None)
@given(calendar=calendars(), start=instants, n=minutes, extra=minutes)
def test_due_at_is_monotonic_in_minutes(
    calendar: BusinessCalendar, start: datetime, n: int, extra: int
) -> None:
    # given / when
    sooner = due_at(start=start, business_minutes=n, calendar=calendar)
    later = due_at(start=start, business_minutes=n + extra, calendar=calendar)

    # then
    assert utc(sooner) <= utc(later)


@settings(deadline=None)
@given(calendar=calendars(), first=instants, second=instants, n=minutes)
def test_due_at_is_monotonic_in_start(
    calendar: BusinessCalendar, first: datetime, second: datetime, n: int
) -> None:
    # given
    early, late = sorted([first, second])

    # when / then
    assert utc(due_at(start=early, business_minutes=n, calendar=calendar)) <= utc(
        due_at(start=late, business_minutes=n, calendar=calendar)
    )


@settings(deadline=None)
@given(calendar=calendars(), start=instants, n=minutes)
def test_add_then_measure_round_trips(calendar: BusinessCalendar, start: datetime, n: int) -> None:
    # given
    result = due_at(start=start, business_minutes=n, calendar=calendar)

    # when
    measured = business_minutes_between(start=start, end=result, calendar=calendar)

    # then
    assert measured == pytest.approx(n, abs=1e-6)


@settings(deadline=None)
@given(calendar=calendars(), a=instants, b=instants, c=instants)
def test_measure_is_additive(calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    # given
    start, middle, end = sorted([a, b, c])

    # when
    whole = business_seconds_between(start=start, end=end, calendar=calendar)
    parts = business_seconds_between(start=start, end=middle, calendar=calendar) + business_seconds_between(
        start=middle, end=end, calendar=calendar
    )

    # then
    assert whole == pytest.approx(parts, abs=1e-6)


@settings(deadline=None)
@given(calendar=calendars(), at=instants)
def test_next_opening_agrees_with_is_open(calendar: BusinessCalendar, at: datetime) -> None:
    # given / when
    opening = next_opening(at, calendar=calendar)

    # then
    assert is_open(opening, calendar=calendar)
    assert (utc(opening) == at) == is_open(at, calendar=calendar)
    assert business_seconds_between(start=at, end=opening, calendar=calendar) == 0


@settings(deadline=None)
@given(
    calendar=calendars(), first=instants, second=instants, days=st.integers(0, 40), extra=st.integers(0, 5)
)
def test_add_business_days_properties(
    calendar: BusinessCalendar, first: datetime, second: datetime, days: int, extra: int
) -> None:
    # given
    early, late = sorted([first, second])

    # when
    result = add_business_days(start=early, days=days, calendar=calendar)
    more_days = add_business_days(start=early, days=days + extra, calendar=calendar)
    later_start = add_business_days(start=late, days=days, calendar=calendar)

    # then
    assert in_working_time(result, calendar)
    assert utc(early) <= utc(result) <= utc(more_days)
    assert utc(result) <= utc(later_start)


@given(calendar=calendars())
def test_dict_round_trip(calendar: BusinessCalendar) -> None:
    # given / when
    data = calendar.to_dict()

    # then
    assert BusinessCalendar.from_dict(data) == calendar
    assert BusinessCalendar.from_dict(data).to_dict() == data
