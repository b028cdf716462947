"""How every screen says an SLA clock: one module, so units are never mixed. Pure Python, no Django.

Time left is business time (the agreement's clock only runs in working hours), so it is said in business minutes or
hours, with the local deadline in brackets so a rep knows when that is; a deadline more than a working day or two
away is said in calendar days to its date (never business minutes shown as 24-hour days). Lateness is real time,
said in calendar units: "late by 2 days".
"""

from __future__ import annotations

from datetime import datetime, timedelta

# Up to this many business hours left, say business hours; beyond, say the calendar date it falls on.
BUSINESS_HOURS_SPOKEN = 16


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def due_words(*, business_minutes_left: float, due_local: datetime, now_local: datetime) -> str:
    """'due in 40 business minutes (Tue 10:00)', 'due in 3 business hours (Tue 10:00)', 'due in 6 days (Mon 9 Feb)'."""
    minutes = max(0, int(round(business_minutes_left)))
    when = f"{due_local:%a %H:%M}"
    if minutes < 60:
        return f"due in {_plural(minutes, 'business minute')} ({when})"
    if minutes < BUSINESS_HOURS_SPOKEN * 60:
        return f"due in {_plural(round(minutes / 60), 'business hour')} ({when})"
    days = (due_local.date() - now_local.date()).days
    return f"due in {_plural(days, 'day')} ({due_local:%a} {due_local.day} {due_local:%b})"


def late_words(late: timedelta) -> str:
    """'late by 5 minutes', 'late by 3 hours', 'late by 2 days': real time since the deadline, calendar units."""
    minutes = int(late.total_seconds() // 60)
    if minutes < 60:
        return f"late by {_plural(max(minutes, 1), 'minute')}"
    if minutes < 48 * 60:
        return f"late by {_plural(minutes // 60, 'hour')}"
    return f"late by {_plural(minutes // (24 * 60), 'day')}"
