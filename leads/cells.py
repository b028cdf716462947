"""What one lead shows in a table cell (queue, all leads, my day): plain Python, no template per cell.

A page of 25 rows used to render seven templates per row (175 renders); these build the same markup directly.
The queue rows need `lead.clock` and `lead.why` set first (views._decorate).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma, naturaltime
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.formats import date_format as localized_date
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from alignment.names import person_name
from alignment.reversing import reverse_pk
from leads.models import Lead, State, Tier


@lru_cache(maxsize=512)
def _words(message: str, language: str | None) -> str:
    """A fixed string in the active language, looked up once per language (a page says "Claim" 25 times)."""
    return _(message)


def _t(message: str) -> str:
    return _words(message, get_language())


def format_html(template: str, *args: Any) -> SafeString:
    """django.utils.html.format_html for positional arguments, without its keyword handling (a page calls it
    hundreds of times)."""
    return mark_safe(template.format(*map(conditional_escape, args)))


def _number(value: int) -> str:
    """localize() of an integer: under a thousand no locale groups digits, so it is the plain digits."""
    return str(value) if type(value) is int and -1000 < value < 1000 else localize(value)


def _day_time(at: Any) -> str:
    """date_format(at, "j M Y H:i"), written out (the format string is fixed: no need to parse it per cell)."""
    return f"{at.day} {MONTHS_3[at.month].title()} {at.year} {at.hour:02d}:{at.minute:02d}"


@lru_cache(maxsize=128)
def _label(choices: type[State] | type[Tier], value: str, language: str | None) -> str:
    return str(choices(value).label)


def tier(lead: Lead) -> SafeString:
    if not lead.tier:
        return mark_safe("")
    return format_html('<span class="badge {}">{}</span>', lead.tier, _label(Tier, lead.tier, get_language()))


def state(lead: Lead) -> str:
    return _label(State, lead.state, get_language())


def who(lead: Lead) -> SafeString:
    name = lead.name or lead.email or str(lead)
    detail = lead.job_title + (" · " if lead.job_title and lead.company else "") + lead.company
    employees = f" ({intcomma(lead.employees)})" if lead.employees else ""
    return format_html(
        '<a href="{}" class="who-name">{}</a>\n<div class="muted small">{}{}</div>',
        reverse_pk("leads:detail", lead.pk),
        name,
        detail,
        employees,
    )


def why(lead: Lead) -> SafeString:
    view = lead.why
    reasons = format_html("<div>{}</div>", "; ".join(map(str, view.reasons)) or "—")
    if not view.latest:
        return reasons
    at = timezone.localtime(view.latest_at) if view.latest_at else None
    return format_html(
        '{}\n<div class="muted small">{} · <time datetime="{}" title="{}">{}</time></div>',
        reasons,
        view.latest,
        at.isoformat() if at else "",
        _day_time(at) if at else "",
        naturaltime(view.latest_at) if view.latest_at else "",
    )


def score(lead: Lead) -> SafeString:
    return format_html(
        '<strong>{}</strong><div class="muted small" title="{}">{} · {}</div>',
        _number(lead.score),
        _t("fit · engagement"),
        _number(lead.fit_score),
        _number(lead.engagement_score),
    )


def clock(lead: Lead) -> SafeString:
    view = lead.clock
    if not view.due_at:
        return mark_safe('<span class="muted">—</span>')
    due = localized_date(timezone.localtime(view.due_at), "SHORT_DATETIME_FORMAT")
    return format_html(
        '<span class="clock {}" title="{}">{}</span>\n<div class="muted small">{}</div>',
        view.urgency,
        _t("%(label)s due %(due)s") % {"label": view.label, "due": due},
        view.text,
        view.label,
    )


def owner(lead: Lead) -> SafeString:
    if lead.owner_id is None:
        return format_html('<span class="muted">{}</span>', _t("unassigned"))
    return format_html("{}", person_name(lead.owner))


def actions(lead: Lead, context: dict[str, Any]) -> SafeString:
    """Claim / release / (re)assign, as the viewer may; each posts to the queue and swaps the table back."""
    query = context.get("query", "")
    user = context.get("user")
    can_manage = context.get("can_manage", False)
    buttons: list[SafeString] = []
    if context.get("can_claim") and not lead.owner_id and lead.state == "mql":
        buttons.append(
            format_html(
                '<button type="button" class="primary" hx-post="{}?{}" hx-target="#queue-table" '
                'hx-swap="outerHTML" hx-push-url="false">{}</button>',
                reverse_pk("leads:claim", lead.pk),
                query,
                _t("Claim"),
            )
        )
    if lead.owner_id and (getattr(user, "pk", None) == lead.owner_id or can_manage):
        buttons.append(
            format_html(
                '<button type="button" hx-post="{}?{}" hx-target="#queue-table" hx-swap="outerHTML" '
                'hx-push-url="false" hx-confirm="{}">{}</button>',
                reverse_pk("leads:release", lead.pk),
                query,
                _t("Give %(lead)s back to the shared queue?") % {"lead": lead},
                _t("Release"),
            )
        )
    if can_manage:
        buttons.append(
            format_html(
                '<button type="button" hx-get="{}?{}" hx-target="#assign-{}" hx-swap="innerHTML" '
                'hx-push-url="false">{}</button>',
                reverse_pk("leads:assign", lead.pk),
                query,
                lead.pk,
                _t("Reassign") if lead.owner_id else _t("Assign"),
            )
        )
    return format_html(
        '<div class="row nowrap">\n{}\n</div>\n<div id="assign-{}"></div>',
        mark_safe("\n".join(buttons)),  # each built by format_html above
        lead.pk,
    )


CELLS = {"tier": tier, "who": who, "why": why, "score": score, "clock": clock, "owner": owner}
