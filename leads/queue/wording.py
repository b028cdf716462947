"""How every screen says an SLA clock: one module, so units are never mixed (and translated in one place).

Time left is business time (the agreement's clock only runs in working hours), so it is said in business minutes or
hours, with the local deadline in brackets so a rep knows when that is; a deadline more than a working day or two
away is said in calendar days to its date (never business minutes shown as 24-hour days). Lateness is real time,
said in calendar units: "late by 2 days".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext, pgettext

from leads.queue.availability import Availability

# Up to this many business hours left, say business hours; beyond, say the calendar date it falls on.
BUSINESS_HOURS_SPOKEN = 16


def due_words(*, business_minutes_left: float, due_local: datetime, now_local: datetime) -> str:
    """'due in 40 business minutes (Tue 10:00)', 'due in 3 business hours (Tue 10:00)', 'due in 6 days (Mon 9 Feb)'."""
    minutes = max(0, int(round(business_minutes_left)))
    when = date_format(due_local, "D H:i")
    if minutes < 60:
        text = ngettext("due in %(n)d business minute", "due in %(n)d business minutes", minutes) % {
            "n": minutes
        }
        return _("%(text)s (%(when)s)") % {"text": text, "when": when}
    if minutes < BUSINESS_HOURS_SPOKEN * 60:
        hours = round(minutes / 60)
        text = ngettext("due in %(n)d business hour", "due in %(n)d business hours", hours) % {"n": hours}
        return _("%(text)s (%(when)s)") % {"text": text, "when": when}
    days = (due_local.date() - now_local.date()).days
    text = ngettext("due in %(n)d day", "due in %(n)d days", days) % {"n": days}
    return _("%(text)s (%(when)s)") % {"text": text, "when": date_format(due_local, "D j M")}


def late_words(late: timedelta) -> str:
    """'late by 5 minutes', 'late by 3 hours', 'late by 2 days': real time since the deadline, calendar units."""
    minutes = int(late.total_seconds() // 60)
    if minutes < 60:
        n = max(minutes, 1)
        return ngettext("late by %(n)d minute", "late by %(n)d minutes", n) % {"n": n}
    if minutes < 48 * 60:
        n = minutes // 60
        return ngettext("late by %(n)d hour", "late by %(n)d hours", n) % {"n": n}
    n = minutes // (24 * 60)
    return ngettext("late by %(n)d day", "late by %(n)d days", n) % {"n": n}


# `availability.availability` says these in English; marked here for the catalogue
_AVAILABILITY_NOTES = (
    gettext_noop("away"),
    gettext_noop("away until %(until)s"),
    gettext_noop("outside working hours (%(from)s–%(until)s)"),
    gettext_noop("over capacity (%(open)s/%(capacity)s)"),
)


def availability_words(availability: Availability) -> str:
    """Why a rep cannot take a lead now, in the reader's language ("" when they can)."""
    parts = []
    for template, values in availability.notes:
        values = dict(values)
        if isinstance(values.get("until"), datetime):
            values["until"] = date_format(values["until"], pgettext("rep away until", "D j M H:i"))
        parts.append(_(template) % values if values else _(template))
    return _(", ").join(parts) if parts else availability.reason
