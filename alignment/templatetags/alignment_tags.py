from django import template
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

register = template.Library()


@register.filter
def duration_minutes(value: int | None) -> str:
    """240 → "4 h", 90 → "1 h 30 min", 15 → "15 min": how people say a business-time limit."""
    if value is None or value == "":
        return "—"
    minutes = int(value)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("%(minutes)d min") % {"minutes": rest}
    if not rest:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": rest}


@register.filter
def duration_minutes_f(value: float | None) -> str:
    """Like duration_minutes, for measured (fractional) minutes."""
    return "—" if value is None else duration_minutes(int(round(value)))


@register.filter
def percent(value: float | None, digits: int = 0) -> str:
    """0.4213 → "42%"; None (no denominator) → "—"."""
    if value is None or value == "":
        return "—"
    return f"{100 * float(value):.{int(digits)}f}%"


@register.filter
def split(value: str, sep: str = ",") -> list[str]:
    return [part.strip() for part in value.split(sep)]


@register.filter
def chart_y(percent_value: str | int) -> float:
    """Where a percentage sits on the review chart's 160-pixel-high axis (0% at y=180)."""
    return 180 - 1.6 * float(percent_value)


@register.filter
def band_x(index: int) -> float:
    return 50 + int(index) * 110 + 38


@register.filter
def clock_label(value: str) -> str:
    return {
        "claim": pgettext("clock", "claim"),
        "first_contact": pgettext("clock", "first contact"),
        "accept": pgettext("clock", "accept/reject"),
        "outcome": pgettext("clock", "outcome"),
        "status_update": pgettext("clock", "status update"),
    }.get(value, value)


@register.filter
def money(value: object) -> str:
    """A deal amount in the locale's currency style: ¥1,200,000 in Japanese (yen have no minor unit),
    1,200,000.00 elsewhere. Grouping and decimal marks come from the active locale's formats."""
    from decimal import Decimal, InvalidOperation

    from django.utils.formats import number_format
    from django.utils.translation import get_language

    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if (get_language() or "").startswith("ja"):
        return "¥" + number_format(amount.quantize(Decimal(1)), 0, force_grouping=True)
    return number_format(amount, 2, force_grouping=True)


@register.filter
def person(user: object) -> str:
    """A user as people call them: the full name in the locale's order (山田 太郎 in Japanese), or the username
    when no name is set ("" for nobody).

    The one place names are chosen, so no screen shows "hsato" where another shows "Hanako Sato".
    """
    from alignment.names import person_name

    if user is None or user == "":
        return ""
    return person_name(user)


@register.filter
def field_names(codes: list[str] | None) -> str:
    """Lead field codes as the reader calls them, listed: "email, company" → "メールアドレス、会社名"."""
    return _(", ").join(pgettext("lead field", str(code)) for code in codes or [])


@register.filter
def words(code: str | None) -> str:
    """An event or field code in words: "demo_request" → "Demo request", "pricing-page" → "Pricing page"; a
    known activity type in the reader's language (デモ依頼)."""
    raw = str(code or "")
    translated = pgettext("activity type", raw) if raw else raw
    if translated != raw:
        return translated
    text = raw.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


@register.filter
def stock(value: str | None) -> str:
    """A name the product wrote when it set itself up, stored in English (the default segment "All leads",
    the starter agreement's title and summary), in the reader's language; a name people typed reads as typed."""
    return _(value) if value else (value or "")
