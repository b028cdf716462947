"""One way to say a clock: business time left (with the local deadline), calendar time late. No database."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from leads.queue.wording import due_words, late_words

TOKYO = ZoneInfo("Asia/Tokyo")
MON_9 = datetime(2026, 2, 2, 9, 0, tzinfo=TOKYO)  # a Monday


def test_time_left_is_said_in_business_units_with_the_local_deadline():
    tue_10 = datetime(2026, 2, 3, 10, 0, tzinfo=TOKYO)
    assert due_words(business_minutes_left=180, due_local=tue_10, now_local=MON_9) == (
        "due in 3 business hours (Tue 10:00)"
    )
    assert due_words(business_minutes_left=1, due_local=tue_10, now_local=MON_9) == (
        "due in 1 business minute (Tue 10:00)"
    )


def test_a_far_deadline_is_said_in_calendar_days_to_its_date_never_business_minutes_as_days():
    # 47 calendar days away: 10 × 24 business hours would once have been shown as "10 d 6 h left"
    far = MON_9 + timedelta(days=47)
    assert (
        due_words(business_minutes_left=14_760, due_local=far, now_local=MON_9)
        == "due in 47 days (Sat 21 Mar)"
    )


def test_lateness_is_real_time_in_calendar_units():
    assert late_words(timedelta(seconds=20)) == "late by 1 minute"
    assert late_words(timedelta(minutes=5)) == "late by 5 minutes"
    assert late_words(timedelta(hours=3, minutes=59)) == "late by 3 hours"
    assert late_words(timedelta(days=2, hours=1)) == "late by 2 days"
    assert late_words(timedelta(days=156)) == "late by 156 days"
