"""The trend page (managers), its CSV export, and the capacity box the agreement draft page loads."""

from __future__ import annotations

import csv
from datetime import date
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from alignment.csvsafe import safe_cell
from alignment.roles import MANAGERS, Role, role_required
from feedback.months import month_bounds
from feedback.reports import BANDS
from feedback.trend import RESPONSE_BANDS, MonthFigures, Trend, capacity_plan, month_range, trend_for
from feedback.trend_change import change_effect
from feedback.trend_charts import Series, chart, nice_top
from sla.agreement import Agreement
from sla.models import AgreementVersion, Segment
from sla.services import in_user_segments, segment_scope

TREND_ROLES = MANAGERS | {Role.ADMIN}
DEFAULT_MONTHS, MAX_MONTHS = 12, 36
CSV_HEADER = ["month", "agreement version", "version changed", "MQLs committed", "MQLs delivered", "delivered share",
              "accepted (SAL)", "SQL", "won", "MQL→SAL", "SAL→SQL", "SQL→won", "sales clocks due", "sales clocks met",
              "sales compliance", "breaches", "median minutes to first contact", "AUC",
              *(f"win rate {label}" for _, _, label in BANDS)]  # fmt: skip


class BadWindow(ValueError):
    pass


def _window(request: HttpRequest) -> tuple[date, int]:
    """`?to=2026-11&months=12`; the current month and twelve months when absent."""
    raw_to, raw_count = request.GET.get("to", ""), request.GET.get("months", "")
    today = timezone.localdate()
    last = date(today.year, today.month, 1)
    if raw_to:
        try:
            year, month = (int(part) for part in raw_to.split("-"))
            last = date(year, month, 1)
        except ValueError:
            raise BadWindow(_("“to” must be a month like 2026-10.")) from None
    count = DEFAULT_MONTHS
    if raw_count:
        if not raw_count.isdigit() or not 1 <= int(raw_count) <= MAX_MONTHS:
            raise BadWindow(_("“months” must be a whole number from 1 to %(max)s.") % {"max": MAX_MONTHS})
        count = int(raw_count)
    return last, count


def _charts(trend: Trend) -> list[Any]:
    months = [m.month for m in trend.months]
    versions = [(m.version_changed, m.version) for m in trend.months]
    delivered = [float(m.delivered) for m in trend.months]
    committed = [None if m.committed is None else float(m.committed) for m in trend.months]
    minutes = [m.median_first_contact_minutes for m in trend.months]
    return [
        chart(_("MQLs delivered vs committed"), months, [Series("delivered", _("delivered"), delivered, "bar"),
              Series("committed", _("committed"), committed)], top=nice_top(delivered + committed, 10), unit="",
              versions=versions),
        chart(_("Funnel rates"), months, [Series("sal_rate", "MQL→SAL", [m.sal_rate for m in trend.months]),
              Series("sql_rate", "SAL→SQL", [m.sql_rate for m in trend.months]),
              Series("won_rate", _("SQL→won"), [m.won_rate for m in trend.months])], top=1, unit="%",
              versions=versions),
        chart(_("SLA compliance"), months, [Series("delivered_share", _("marketing: delivered / committed"),
              [m.delivered_share for m in trend.months]), Series("sales_compliance", _("sales: clocks met"),
              [m.sales_compliance for m in trend.months])], top=1, unit="%", versions=versions),
        chart(_("Median time to first contact (business minutes)"), months,
              [Series("minutes", _("median minutes"), minutes, "bar")], top=nice_top(minutes, 10), unit=_(" min"),
              versions=versions),
        chart(_("AUC of the score at hand-off"), months, [Series("auc", "AUC", [m.auc for m in trend.months])],
              top=1, unit="", versions=versions),
        chart(_("Win rate by score band at hand-off"), months, [Series(f"band{b}", label,
              [m.band_win_rates[b] for m in trend.months]) for b, (_, _, label) in enumerate(BANDS)], top=1,
              unit="%", versions=versions),
    ]  # fmt: skip


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def csv_row(m: MonthFigures) -> list[Any]:
    return [f"{m.month:%Y-%m}", "" if m.version is None else f"v{m.version}", "yes" if m.version_changed else "",
            "" if m.committed is None else m.committed, m.delivered, _share(m.delivered_share), m.accepted, m.sqls,
            m.won, _share(m.sal_rate), _share(m.sql_rate), _share(m.won_rate), m.clocks_due, m.clocks_met,
            _share(m.sales_compliance), m.breaches,
            "" if m.median_first_contact_minutes is None else f"{m.median_first_contact_minutes:.1f}",
            _share(m.auc), *(_share(r) for r in m.band_win_rates)]  # fmt: skip


def _bounds(last: date, count: int) -> tuple[Any, Any]:
    """The window's start, and its end or now, whichever is earlier (the after side ends today at the latest)."""
    months = month_range(last, count)
    return month_bounds(months[0])[0], min(month_bounds(months[-1])[1], timezone.now())


def segment_choice(
    request: HttpRequest, in_force: list[AgreementVersion]
) -> tuple[list[Segment], Segment | None]:
    """The user's segments (those with an agreement in force, for someone who works across all) and the one asked
    for (`segment`; none: all of them). A manager of some segments never sees all: their first is the default."""
    scope = segment_scope(request.user)
    segments = scope or sorted({v.segment for v in in_force if v.segment}, key=lambda s: (s.position, s.pk))
    wanted = request.GET.get("segment", "") or request.POST.get("segment", "")
    segment = next((s for s in segments if str(s.pk) == wanted), None)
    if wanted and segment is None:
        raise Http404("No segment of yours has this id.")
    if segment is None and scope is not None:
        segment = scope[0]
    return segments, segment


def versions_in_force() -> list[AgreementVersion]:
    return list(AgreementVersion.objects.filter(status="active").select_related("segment"))


def _active_of(in_force: list[AgreementVersion], segment: Segment | None) -> AgreementVersion | None:
    if segment is not None:
        return next((v for v in in_force if v.segment_id == segment.pk), None)
    return next((v for v in in_force if v.segment is None or v.segment.is_default), None)


@role_required(TREND_ROLES)
@require_GET
def trend(request: HttpRequest) -> HttpResponse:
    try:
        last, count = _window(request)
    except BadWindow as error:
        return HttpResponseBadRequest(str(error))
    in_force = versions_in_force()
    segments, segment = segment_choice(request, in_force)
    figures = trend_for(last, count, segment)
    active = _active_of(in_force, segment)
    context = {
        "all_allowed": segment_scope(request.user) is None,
        "segments": segments,
        "segment": segment,
        "trend": figures,
        "charts": _charts(figures),
        "last": last,
        "count": count,
        "plan": capacity_plan(now=timezone.now(), version=active, segment=segment),
        "effect": change_effect(*_bounds(last, count), segment),
        "response_limits": [label for _, label in RESPONSE_BANDS],
    }
    return render(request, "feedback/trend.html", context)


@role_required(TREND_ROLES)
@require_GET
def trend_csv(request: HttpRequest) -> HttpResponse:
    try:
        last, count = _window(request)
    except BadWindow as error:
        return HttpResponseBadRequest(str(error))
    everything = not request.GET.get("segment") and segment_scope(request.user) is None
    _segments, segment = segment_choice(request, [] if everything else versions_in_force())
    figures = trend_for(last, count, segment)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    part = f"-segment-{segment.pk}" if segment else ""
    response["Content-Disposition"] = f'attachment; filename="trend{part}-{last:%Y-%m}-{count}-months.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    writer.writerows([safe_cell(cell) for cell in csv_row(m)] for m in figures.months)
    return response


@role_required(TREND_ROLES)
@require_GET
def capacity(request: HttpRequest, pk: int) -> HttpResponse:
    """The capacity box on a draft: expected MQLs a week against sales' capacity, before a threshold is signed."""
    version = AgreementVersion.objects.select_related("segment").filter(pk=pk).first()
    if version is None or not in_user_segments(request.user, version.segment_id):
        raise Http404(_("No such agreement version."))
    active = AgreementVersion.objects.active_for(version.segment)
    context = {
        "plan": capacity_plan(now=timezone.now(), version=active, segment=version.segment),
        "version": version,
        "threshold": Agreement.of(version).threshold,
        "active_threshold": Agreement.of(active).threshold if active else None,
    }
    return render(request, "feedback/_capacity.html", context)
