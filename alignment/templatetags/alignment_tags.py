from django import template

register = template.Library()


@register.filter
def duration_minutes(value: int | None) -> str:
    """240 → "4 h", 90 → "1 h 30 min", 15 → "15 min": how people say a business-time limit."""
    if value is None or value == "":
        return "—"
    minutes = int(value)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


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
        "claim": "claim",
        "first_contact": "first contact",
        "accept": "accept/reject",
        "outcome": "outcome",
        "status_update": "status update",
    }.get(value, value)


@register.filter
def person(user: object) -> str:
    """A user as people call them: the full name, or the username when no name is set ("" for nobody).

    The one place names are chosen, so no screen shows "hsato" where another shows "Hanako Sato".
    """
    if user is None or user == "":
        return ""
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full_name or (user.get_username() if hasattr(user, "get_username") else str(user))


@register.filter
def words(code: str | None) -> str:
    """An event or field code in words: "demo_request" → "Demo request", "pricing-page" → "Pricing page"."""
    text = str(code or "").replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]
