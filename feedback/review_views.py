"""The monthly review screen, its CSV exports, decisions, the next draft, and freezing a month."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from alignment import csvsafe
from alignment.roles import ALL_ROLES, MANAGERS, Role, role_required, user_roles
from feedback import services
from feedback.exceptions import OutcomeRefused
from feedback.figures import ReviewFigures, ScoreBand
from feedback.models import Snapshot
from feedback.months import previous_month
from feedback.reports import months_with_data, review_for
from feedback.trend_views import segment_choice, versions_in_force
from sla.models import Segment
from sla.services import segment_scope

DECIDERS = MANAGERS | {Role.MARKETER}
CSV_TABLES = {
    "funnel": "Funnel",
    "sources": "MQLs by source",
    "campaigns": "MQLs by campaign",
    "reps": "Sales SLA per rep",
    "score_bands": "Conversion by score band",
    "rule_lifts": "Rule and trigger lifts",
    "high_score_not_converted": "High score, rejected or lost",
    "low_score_won": "Low score, won",
    "rejection_reasons": "Rejection reasons by source",
    "loss_reasons": "Loss reasons by source",
    "suggestions": "Suggestions",
}


FIRST_YEAR, LAST_YEAR = 1970, 9000


def _month(request: HttpRequest) -> date:
    raw = request.GET.get("month") or request.POST.get("month") or ""
    if raw:
        try:
            year, month = (int(part) for part in raw.split("-"))
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise ValueError(year)  # month arithmetic (the next month, a year back) must stay in range
            return date(year, month, 1)
        except ValueError:
            raise Http404(
                _("Month must look like 2026-10, in the years %(first)s–%(last)s.")
                % {"first": FIRST_YEAR, "last": LAST_YEAR}
            ) from None
    # Open on the last complete month: the current one has barely started and its rates mean nothing yet
    today = timezone.localdate()
    return previous_month(date(today.year, today.month, 1))


# A month whose hand-overs are more than this share still open is not ready to judge (outcomes take weeks)
IMMATURE_SHARE = 0.5


def _maturity(month: date, figures: ReviewFigures) -> str:
    """ "" when the month can be judged; else why not, said on the page above the figures."""
    today = timezone.localdate()
    if month >= date(today.year, today.month, 1):
        return _("This month is not over yet: its hand-overs have had little time to reach an outcome.")
    funnel = figures.funnel
    if funnel.mqls and funnel.immature / funnel.mqls > IMMATURE_SHARE:
        return _(
            "%(open)s of %(mqls)s hand-overs are still open: conversion rates will rise as they close."
        ) % {"open": funnel.immature, "mqls": funnel.mqls}
    return ""


def figures(month: date, segment: Segment | None = None) -> tuple[dict[str, Any], Snapshot | None]:
    """The frozen figures if this review (the segment's month; none: the month of all leads, as every snapshot
    frozen before segments is) was frozen, else computed now (JSON round-trip: same types either way)."""
    snapshot = Snapshot.objects.filter(month=month, segment=segment).select_related("frozen_by").first()
    if snapshot:
        return snapshot.data, snapshot
    return json.loads(json.dumps(review_for(month, segment), cls=DjangoJSONEncoder)), None


def _segment(request: HttpRequest) -> tuple[list[Segment], Segment | None, bool]:
    """The segments this user may choose, the one shown (none: all), and whether "all" is theirs to see. A
    manager of some segments sees only theirs (another's id is a 404), their first by default."""
    segments, segment = segment_choice(request, versions_in_force())
    return segments, segment, segment_scope(request.user) is None


def _chart(bands: tuple[ScoreBand, ...]) -> list[dict[str, Any]]:
    """Bar geometry for the score-band chart (inline SVG, no script: CSP-safe and printable)."""
    bars = []
    for index, band in enumerate(bands):
        for offset, key in enumerate(("accept_rate", "sql_rate", "win_rate")):
            value = getattr(band, key) or 0.0
            height = round(160 * value, 1)
            bars.append({"x": 50 + index * 110 + offset * 28, "y": 180 - height, "height": height, "key": key,
                         "label": f"{band.band}: {100 * value:.0f}%"})  # fmt: skip
    return bars


@role_required(ALL_ROLES)
@require_GET
def review(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    segments, segment, all_allowed = _segment(request)
    stored, snapshot = figures(month, segment)
    data = ReviewFigures.from_dict(stored)
    roles = user_roles(request.user)
    decisions = services.month_decisions(month, segment)
    accepted_keys = set(decisions.exclude(suggestion_key="").values_list("suggestion_key", flat=True))
    User = get_user_model()
    context = {
        "month": month,
        "segments": segments,
        "segment": segment,
        "all_allowed": all_allowed,
        "segment_query": f"&segment={segment.pk}" if segment is not None else "",
        "data": data,
        "snapshot": snapshot,
        "months": months_with_data(),
        "chart": _chart(data.score_bands),
        "decisions": decisions.select_related("owner", "applied_to", "created_by"),
        "pending_changes": decisions.filter(change__isnull=False, applied_to__isnull=True).count(),
        "draft_segment": segment or Segment.objects.default(),
        "accepted_keys": accepted_keys,
        "can_decide": bool(roles & DECIDERS),
        "can_freeze": bool(roles & MANAGERS),
        "people": User.objects.filter(is_active=True, groups__isnull=False).distinct().order_by("first_name"),
        "csv_tables": CSV_TABLES,
        "funnel_rows": _funnel_rows(data),
        "immature": _maturity(month, data),
    }
    return render(request, "feedback/review.html", context)


def _funnel_rows(data: ReviewFigures) -> list[dict[str, Any]]:
    now, before = data.funnel, data.previous_funnel
    names = [("leads", _("Leads")), ("mqls", _("MQLs")), ("accepted", _("Accepted (SAL)")), ("sqls", _("SQL")),
             ("won", _("Won")), ("rejected", _("Rejected / recycled")), ("lost", _("Lost")),
             ("immature", _("Still open"))]  # fmt: skip
    rows = []
    for key, label in names:
        this, last = getattr(now, key), getattr(before, key)
        rows.append({"name": label, "now": this, "before": last, "change": this - last})
    return rows


def _rows(data: ReviewFigures, table: str) -> tuple[list[str], list[list[Any]]]:
    if table == "funnel":
        rows = _funnel_rows(data)
        return ["stage", "this month", "previous month", "change"], [
            [r["name"], r["now"], r["before"], r["change"]] for r in rows
        ]
    marketing, sales, lists, reasons = data.marketing, data.sales, data.lists, data.reasons
    sources: dict[str, Any] = {
        "sources": marketing.by_source if marketing else (),
        "campaigns": marketing.by_campaign if marketing else (),
        "reps": sales.reps if sales else (),
        "score_bands": data.score_bands,
        "rule_lifts": data.rule_lifts,
        "high_score_not_converted": lists.high_score_not_converted if lists else (),
        "low_score_won": lists.low_score_won if lists else (),
        "rejection_reasons": reasons.rejection_by_source if reasons else (),
        "loss_reasons": reasons.loss_by_source if reasons else (),
        "suggestions": [
            {k: v for k, v in s.items() if k in ("kind", "title", "evidence")} for s in data.suggestions
        ],
    }
    rows = [row if isinstance(row, dict) else {f.name: getattr(row, f.name) for f in fields(row)}
            for row in sources[table]]  # fmt: skip
    if not rows:
        return ["(no rows)"], []
    header = [key for key in rows[0] if not isinstance(rows[0][key], dict | list | tuple)]
    return header, [[row.get(key) for key in header] for row in rows]


@role_required(ALL_ROLES)
@require_GET
def review_csv(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    table = request.GET.get("table", "")
    if table not in CSV_TABLES:
        raise Http404(_("No such table."))
    _segments, segment, _all = _segment(request)
    header, rows = _rows(ReviewFigures.from_dict(figures(month, segment)[0]), table)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    part = f"-segment-{segment.pk}" if segment is not None else ""
    response["Content-Disposition"] = f'attachment; filename="review-{month:%Y-%m}{part}-{table}.csv"'
    writer = csvsafe.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def _back(month: date, segment: Segment | None = None) -> HttpResponse:
    part = f"&segment={segment.pk}" if segment is not None else ""
    return redirect(f"{reverse('feedback:review')}?month={month:%Y-%m}{part}")


def _posted_review(request: HttpRequest) -> tuple[date, Segment | None]:
    """The month and segment a review action is about (`segment` posted; another segment's is a 404)."""
    return _month(request), _segment(request)[1]


@role_required(DECIDERS)
@require_POST
def decide(request: HttpRequest) -> HttpResponse:
    """Record a decision of a segment's review, or accept one of its suggestions (its change goes into that
    segment's next draft)."""
    month, segment = _posted_review(request)
    change, evidence, text = None, "", request.POST.get("text", "")
    key = request.POST.get("suggestion", "")
    if key:
        data = ReviewFigures.from_dict(figures(month, segment)[0])
        suggestion = next((s for s in data.suggestions if s["key"] == key), None)
        if suggestion is None:
            messages.error(request, _("That suggestion is no longer in this month's figures."))
            return _back(month, segment)
        change, evidence, text = suggestion["change"], suggestion["evidence"], suggestion["title"]
    User = get_user_model()
    raw_owner = request.POST.get("owner", "").strip()
    if raw_owner and not (raw_owner.isdigit() and len(raw_owner) <= 18):  # a bigint, never an overflow
        messages.error(request, _("Choose the decision's owner from the list."))
        return _back(month, segment)
    owner = User.objects.filter(pk=int(raw_owner)).first() if raw_owner else None
    due = None
    if request.POST.get("due"):
        try:
            due = date.fromisoformat(request.POST["due"])
        except ValueError:
            messages.error(request, _("The due date must look like 2026-12-31."))
            return _back(month, segment)
    try:
        services.decision_record(month=month, user=request.user, text=text, owner=owner, due=due, change=change,
                                 evidence=evidence, suggestion_key=key, now=timezone.now(), segment=segment)  # fmt: skip
    except OutcomeRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Suggestion accepted for the next draft.") if key else _("Decision recorded.")
        )
    return _back(month, segment)


@role_required(DECIDERS)
@require_POST
def start_draft(request: HttpRequest) -> HttpResponse:
    month, segment = _posted_review(request)
    try:
        draft = services.review_start_draft(
            month=month, user=request.user, now=timezone.now(), segment=segment
        )
    except OutcomeRefused as error:
        messages.error(request, str(error))
        return _back(month, segment)
    except Exception as error:  # an agreement refusal (e.g. a change that no longer validates)
        from sla.exceptions import AgreementError

        if not isinstance(error, AgreementError):
            raise
        messages.error(request, str(error))
        return _back(month, segment)
    messages.success(
        request,
        _("Draft v%(number)s started with the accepted suggestions. Review it and propose it for sign-off.")
        % {"number": draft.number},
    )
    return redirect(draft)


@role_required(MANAGERS)
@require_POST
def freeze(request: HttpRequest) -> HttpResponse:
    month, segment = _posted_review(request)
    try:
        services.review_freeze(
            month=month,
            user=request.user,
            data=figures(month, segment)[0],
            now=timezone.now(),
            segment=segment,
        )
    except OutcomeRefused as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(month)s is frozen: these figures will not change.")
            % {"month": date_format(month, "YEAR_MONTH_FORMAT")},
        )
    return _back(month, segment)


WHATIF_ROLES = MANAGERS | {Role.MARKETER, Role.ADMIN}


@role_required(WHATIF_ROLES)
@require_GET
def whatif(request: HttpRequest, pk: int) -> HttpResponse:
    """The draft scored against current open leads and past leads with known outcomes, beside the active one."""
    from feedback.whatif import whatif_for
    from sla.models import AgreementVersion
    from sla.services import in_user_segments

    version = AgreementVersion.objects.filter(pk=pk).first()
    if version is None or not in_user_segments(request.user, version.segment_id):
        raise Http404(_("No such agreement version."))
    data = whatif_for(version, now=timezone.now())
    return render(request, "feedback/whatif.html", {"version": version, "data": data})
