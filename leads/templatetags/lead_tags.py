"""Clock words for templates, from the one wording module (leads.queue.wording)."""

from datetime import timedelta

from django import template

from leads.queue.wording import late_words

register = template.Library()


@register.filter
def late_by(minutes: float | None) -> str:
    """1072 → "late by 17 hours": how late a breach was found, in the same words as the queue."""
    return "" if minutes in (None, "") else late_words(timedelta(minutes=float(minutes)))
