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
