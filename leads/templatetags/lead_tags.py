"""Clock words and lead cells for templates (leads.queue.wording, leads.cells)."""

from datetime import timedelta

from django import template

from leads.cells import CELLS
from leads.queue.wording import late_words

register = template.Library()


@register.filter
def late_by(minutes: float | None) -> str:
    """1072 → "late by 17 hours": how late a breach was found, in the same words as the queue."""
    return "" if minutes in (None, "") else late_words(timedelta(minutes=float(minutes)))


@register.filter
def cell(lead: object, name: str) -> str:
    """{{ lead|cell:"who" }}: the same cell the queue table shows (leads.cells), without a template per cell."""
    return CELLS[name](lead)
