"""Clock words and lead cells for templates (leads.queue.wording, leads.cells)."""

from datetime import timedelta

from django import template
from django.utils.translation import gettext_lazy as _

from leads import history_words
from leads.cells import CELLS
from leads.intake import problem_words as wording
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


@register.filter
def problem_words(problem: str) -> str:
    """A data problem, stored in English, in the reader's language (leads.intake.problem_words)."""
    return wording.problem_words(problem)


@register.filter
def failure_words(failure: str) -> str:
    """Why a job stopped, or a row could not be saved, in the reader's language."""
    return wording.failure_words(failure)


@register.filter
def reason_words(reason: str) -> str:
    """A hand-off or trigger reason the product wrote in English ("score 60", "requested a demo") in the
    reader's language (leads.history_words); one people typed reads as typed."""
    return history_words.reason_words(reason)


@register.filter
def problem_source(source: str) -> str:
    """Where a data problem came in: the events API, a Mautic or generic webhook."""
    return str(SOURCE_WORDS.get(source, source))


SOURCE_WORDS = {"api": "API", "mautic": "Mautic", "webhook": _("Webhook")}
