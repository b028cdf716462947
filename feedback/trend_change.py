"""Did the last agreement change help? The trend page's answer, per segment and overall.

The most recent version activated in the trend's window (of the segment; overall, of any segment) splits time at
its activation: the hand-overs of the quarter before it against those since (at most a quarter). Each side: the
MQL→SQL rate, the score's AUC on closed hand-overs, sales' SLA compliance (clocks met / clocks due) and the median
time to first contact; then a verdict in plain words. One query for the versions, one for the hand-overs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db.models import Q
from django.utils.translation import gettext as _

from feedback.models import Cycle, Facts
from feedback.months import rate
from feedback.reports import auc
from sla.models import AgreementVersion, Segment

QUARTER = timedelta(days=91)
MIN_SIDE = 20  # hand-overs on each side below which the page says it is too early to tell
RATE_STEP = 0.02  # a rate must move by two points to count as a change
AUC_STEP = 0.02
_CLOCKS = ((Facts.CLAIM_DUE, Facts.CLAIM_OK), (Facts.CONTACT_DUE, Facts.CONTACT_OK),
           (Facts.DECISION_DUE, Facts.DECISION_OK), (Facts.OUTCOME_DUE, Facts.OUTCOME_OK))  # fmt: skip


@dataclass(frozen=True)
class Side:
    start: datetime
    end: datetime
    handovers: int
    sqls: int
    still_open: int
    clocks_due: int
    clocks_met: int
    auc: float | None
    median_first_contact_minutes: float | None

    @property
    def sql_rate(self) -> float | None:
        return rate(self.sqls, self.handovers)

    @property
    def compliance(self) -> float | None:
        return rate(self.clocks_met, self.clocks_due)


@dataclass(frozen=True)
class ChangeEffect:
    version: int
    previous: int | None
    activated_at: datetime
    before: Side
    after: Side
    verdict: str  # "helped", "hurt", "mixed", "unclear" or "too_early"
    answer: str  # the verdict in plain words, with the figures that decided it


def _side(rows: np.ndarray, start: datetime, end: datetime, stamps: np.ndarray) -> Side:
    inside = (stamps >= start) & (stamps < end)
    facts, scores, minutes = rows["facts"][inside], rows["score"][inside], rows["minutes"][inside]
    closed = (facts & Facts.CLOSED) != 0
    won = (facts & Facts.WON) != 0
    contacted = minutes[~np.isnan(minutes)]
    return Side(
        start=start, end=end, handovers=int(inside.sum()), sqls=int(((facts & Facts.SQL) != 0).sum()),
        still_open=int((~closed).sum()),
        clocks_due=sum(int(((facts & due) != 0).sum()) for due, _ in _CLOCKS),
        clocks_met=sum(int(((facts & ok) != 0).sum()) for _, ok in _CLOCKS),
        auc=auc(scores[closed], won[closed])["auc"],
        median_first_contact_minutes=float(np.median(contacted)) if contacted.size else None,
    )  # fmt: skip


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _moved(before: float | None, after: float | None, step: float) -> int:
    """+1 up, -1 down, 0 no clear move (or not known on a side)."""
    if before is None or after is None or abs(after - before) < step:
        return 0
    return 1 if after > before else -1


def _verdict(before: Side, after: Side, version: int) -> tuple[str, str]:
    if min(before.handovers, after.handovers) < MIN_SIDE:
        return "too_early", _(
            "Too early to tell: %(before)s hand-overs before v%(version)s and %(after)s since (at least %(min)s on "
            "each side are needed)."
        ) % {"before": before.handovers, "after": after.handovers, "version": version, "min": MIN_SIDE}
    sql = _moved(before.sql_rate, after.sql_rate, RATE_STEP)
    ranking = _moved(before.auc, after.auc, AUC_STEP)
    compliance = _moved(before.compliance, after.compliance, RATE_STEP)
    figures = _(
        "MQL→SQL %(sql_before)s → %(sql_after)s, AUC %(auc_before)s → %(auc_after)s, sales clocks met "
        "%(met_before)s → %(met_after)s."
    ) % {
        "sql_before": _pct(before.sql_rate), "sql_after": _pct(after.sql_rate),
        "auc_before": "—" if before.auc is None else f"{before.auc:.2f}",
        "auc_after": "—" if after.auc is None else f"{after.auc:.2f}",
        "met_before": _pct(before.compliance), "met_after": _pct(after.compliance),
    }  # fmt: skip
    moves = {sql, ranking, compliance} - {0}
    if moves == {1}:
        verdict, words = (
            "helped",
            _("Yes, it helped: more MQLs became SQLs or the score ranks them better, and nothing got worse."),
        )
    elif moves == {-1}:
        verdict, words = (
            "hurt",
            _(
                "No, it did not help: fewer MQLs became SQLs or the score ranks them worse, and nothing got better."
            ),
        )
    elif moves:
        verdict, words = "mixed", _("Mixed: some figures got better and some worse.")
    else:
        verdict, words = "unclear", _("No clear change: every figure moved by less than two points.")
    if after.handovers and after.still_open / after.handovers > 0.5:
        words += " " + _(
            "Most hand-overs since the change are still open: the rates after it may still rise."
        )
    return verdict, f"{words} {figures}"


def change_effect(start: datetime, end: datetime, segment: Segment | None = None) -> ChangeEffect | None:
    """The last version activated in [start, end) — the segment's, or any — judged by the quarter before against
    the quarter since (cut at `end`); None when no version changed in the window."""
    versions = AgreementVersion.objects.filter(activated_at__isnull=False, activated_at__lt=end)
    versions = versions.filter(segment.owns()) if segment is not None else versions
    version = versions.select_related("segment").order_by("-activated_at", "-pk").first()
    if version is None or version.activated_at < start:
        return None
    cut = version.activated_at
    # the version it replaced: the one of its own segment activated before it
    own = version.segment.owns() if version.segment is not None else Q(segment__isnull=True)
    earlier = AgreementVersion.objects.filter(own, activated_at__isnull=False, activated_at__lt=cut)
    previous = earlier.order_by("-activated_at", "-pk").values_list("number", flat=True).first()
    before_start, after_end = cut - QUARTER, min(cut + QUARTER, end)
    cycles = Cycle.objects.filter(handed_over_at__gte=before_start, handed_over_at__lt=after_end)
    cycles = cycles.filter(segment.owns("agreement__segment")) if segment is not None else cycles
    raw = list(cycles.values_list("handed_over_at", "facts", "score", "first_contact_minutes"))
    rows = np.array(
        [(f, s, np.nan if m is None else m) for _, f, s, m in raw],
        dtype=[("facts", "i8"), ("score", "f8"), ("minutes", "f8")],
    )
    stamps = np.array([row[0] for row in raw], dtype=object)
    before, after = _side(rows, before_start, cut, stamps), _side(rows, cut, after_end, stamps)
    verdict, answer = _verdict(before, after, version.number)
    return ChangeEffect(version=version.number, previous=previous, activated_at=cut, before=before, after=after,
                        verdict=verdict, answer=answer)  # fmt: skip
