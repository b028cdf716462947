"""Geometry for the trend page's charts: inline SVG drawn by the template, no script and no style attributes
(the CSP allows neither), so the charts print and work without JavaScript. Colours come from classes in app.css.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.formats import date_format
from django.utils.translation import pgettext

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 50, 630, 12, 190


@dataclass(frozen=True)
class Series:
    key: str  # CSS class (colour) and legend swatch
    label: str
    values: Sequence[float | None]
    kind: str = "line"  # "line" or "bar"


@dataclass(frozen=True)
class Chart:
    title: str
    ticks: tuple[tuple[float, str], ...]  # (y, label)
    labels: tuple[tuple[float, str], ...]  # (x, month label)
    bars: tuple[dict, ...]
    lines: tuple[dict, ...]
    points: tuple[dict, ...]
    markers: tuple[tuple[float, str], ...]  # (x, "v3"): where the agreement version changed
    series: tuple[Series, ...]


def chart(
    title: str,
    months: Sequence[date],
    series: Sequence[Series],
    *,
    top: float,
    unit: str,
    versions: Sequence[tuple[bool, int | None]],
) -> Chart:
    """`top` is the value at the top of the plot (values above it are drawn at the top; titles keep the truth)."""
    step = (RIGHT - LEFT) / max(len(months), 1)
    height = BOTTOM - TOP

    def x(index: int) -> float:
        return round(LEFT + (index + 0.5) * step, 1)

    def y(value: float) -> float:
        return round(BOTTOM - height * min(max(value, 0.0), top) / top, 1) if top else BOTTOM

    def shown(value: float) -> str:
        return f"{100 * value:.0f}%" if unit == "%" else f"{value:g}{unit}"

    bars, lines, points = [], [], []
    bar_series = [s for s in series if s.kind == "bar"]
    width = step * 0.7 / max(len(bar_series), 1)
    for number, item in enumerate(bar_series):
        for index, value in enumerate(item.values):
            if value is None:
                continue
            left = LEFT + index * step + step * 0.15 + number * width
            bars.append({"x": round(left, 1), "y": y(value), "width": round(width, 1),
                         "height": round(BOTTOM - y(value), 1), "key": item.key,
                         "title": f"{_month(months[index])} · {item.label}: {shown(value)}"})  # fmt: skip
    for item in series:
        if item.kind != "line":
            continue
        coords = [(x(i), y(v)) for i, v in enumerate(item.values) if v is not None]
        lines.append({"key": item.key, "points": " ".join(f"{a},{b}" for a, b in coords)})
        points += [{"x": x(i), "y": y(v), "key": item.key, "title": f"{_month(months[i])} · {item.label}: {shown(v)}"}
                   for i, v in enumerate(item.values) if v is not None]  # fmt: skip
    ticks = tuple(  # the unit is in the title: axis labels stay short enough for the margin
        (y(top * share), shown(top * share) if unit == "%" else f"{top * share:g}")
        for share in (0, 0.25, 0.5, 0.75, 1)
    )
    markers = tuple(
        (round(LEFT + index * step, 1), f"v{number}" if number else "none")
        for index, (changed, number) in enumerate(versions)
        if changed
    )
    return Chart(title=title, ticks=ticks, labels=tuple((x(i), date_format(m, pgettext("short month on a chart axis", "M y")))
                                           for i, m in enumerate(months)),
                 bars=tuple(bars), lines=tuple(lines), points=tuple(points), markers=markers,
                 series=tuple(series))  # fmt: skip


def nice_top(values: Sequence[float | None], floor: float = 1.0) -> float:
    """A round top for the axis, at least `floor`: 1, 2 or 5 times a power of ten."""
    highest = max([v for v in values if v is not None] + [floor])
    scale = 1.0
    while True:
        for factor in (1, 2, 5):
            if factor * scale >= highest:
                return factor * scale
        scale *= 10


def _month(month: date) -> str:
    return date_format(month, "YEAR_MONTH_FORMAT")
