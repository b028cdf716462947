"""What-if preview of a draft agreement, beside the active one.

- **Current open leads**: both versions' MQL criteria evaluated by the database (leads.scoring.criteria_sql) over every
  open lead: how many MQLs (hot, warm) each would make, and which leads would enter or leave the queue.
- **Past leads with a known outcome**: the hand-overs of the last six months, re-weighted with the draft's points
  for the rules that had fired at hand-off (stored per cycle), judged against the draft's threshold: conversion by
  band, AUC and MQL volume per month. A rule the draft adds could not have fired then; the page says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import DatabaseError, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncMonth

from feedback.models import Cycle, CycleRule
from feedback.reports import BANDS, auc, rate
from leads.models import CLOSED_STATES, Lead
from leads.scoring.criteria_sql import NotExpressible, annotate_evaluation, can_express
from sla.agreement import Agreement
from sla.models import AgreementVersion

HISTORY_DAYS = 183
LIST_LIMIT = 25


def _rescored(cycles: Any, agreement: Agreement) -> Any:
    """Each past hand-over's score under `agreement`'s points for the rules that fired then (in the database)."""
    points = agreement.points_by_rule()
    whens = [When(rule_id=rule_id, then=Value(value)) for rule_id, value in points.items()]
    per_rule = Case(*whens, default=Value(0), output_field=IntegerField()) if whens else Value(0)
    total = (
        CycleRule.objects.filter(cycle=OuterRef("pk"))
        .annotate(p=per_rule)
        .order_by()
        .values("cycle")
        .annotate(total=Sum("p"))
        .values("total")
    )
    triggers = sorted(agreement.trigger_ids())
    return cycles.annotate(
        whatif_score=Coalesce(Subquery(total, output_field=IntegerField()), Value(0)),
        whatif_triggered=Exists(
            CycleRule.objects.filter(cycle=OuterRef("pk"), kind="trigger", rule_id__in=triggers)
        ),
    )


def past_leads(agreement: Agreement, *, now: datetime) -> dict[str, Any]:
    threshold = agreement.threshold
    cycles = Cycle.objects.filter(
        handed_over_at__gte=now - timedelta(days=HISTORY_DAYS), closed_at__isnull=False
    )
    rows = np.array(
        list(
            _rescored(cycles, agreement)
            .annotate(month=TruncMonth("handed_over_at"))
            .values_list("whatif_score", "whatif_triggered", "outcome", "accepted_at", "month")
        ),
        dtype=object,
    ).reshape(-1, 5)
    if not rows.size:
        return {
            "hand_overs": 0,
            "mqls": 0,
            "bands": [],
            "auc": auc(np.array([]), np.array([], dtype=bool)),
            "per_month": [],
        }
    scores = rows[:, 0].astype(float)
    triggered = rows[:, 1].astype(bool)
    won = rows[:, 2] == Cycle.Outcome.WON
    accepted = np.array([value is not None for value in rows[:, 3]])
    is_mql = (scores >= threshold) | triggered
    bands = []
    for low, high, label in BANDS:
        mask = np.ones(len(scores), dtype=bool)
        if low is not None:
            mask &= scores >= low
        if high is not None:
            mask &= scores < high
        n = int(mask.sum())
        bands.append({"band": label, "n": n, "accept_rate": rate(int(accepted[mask].sum()), n),
                      "win_rate": rate(int(won[mask].sum()), n)})  # fmt: skip
    months = np.array([month.strftime("%Y-%m") for month in rows[:, 4]])
    per_month = [
        {"month": month, "mqls": int((is_mql & (months == month)).sum()),
         "won": int((is_mql & won & (months == month)).sum())}
        for month in sorted(set(months.tolist()))
    ]  # fmt: skip
    return {
        "hand_overs": int(len(scores)),
        "mqls": int(is_mql.sum()),
        "won_among_mqls": int((won & is_mql).sum()),
        "win_rate_mqls": rate(int((won & is_mql).sum()), int(is_mql.sum())),
        "won_missed": int((won & ~is_mql).sum()),
        "bands": bands,
        "auc": auc(scores, won),
        "per_month": per_month,
    }


def _open_leads() -> Any:
    return Lead.objects.exclude(state__in=CLOSED_STATES)


def current_leads(
    active: AgreementVersion | None, draft: AgreementVersion, *, now: datetime
) -> dict[str, Any]:
    draft_criteria = Agreement.of(draft).criteria
    active_criteria = Agreement.of(active).criteria if active else None
    reason = can_express(draft_criteria) or (can_express(active_criteria) if active_criteria else None)
    if reason:
        return {"expressible": False, "reason": reason}
    draft_rows = annotate_evaluation(_open_leads(), criteria=draft_criteria, now=now).values_list(
        "pk", "sql_is_mql", "sql_tier", "sql_total"
    )
    draft_eval = {pk: (is_mql, tier, total) for pk, is_mql, tier, total in draft_rows}
    if active_criteria:
        active_rows = annotate_evaluation(_open_leads(), criteria=active_criteria, now=now).values_list(
            "pk", "sql_is_mql", "sql_tier", "sql_total"
        )
        active_eval = {pk: (is_mql, tier, total) for pk, is_mql, tier, total in active_rows}
    else:
        active_eval = dict.fromkeys(draft_eval, (False, "", 0))
    ids = np.array(list(draft_eval), dtype=np.int64)
    draft_mql = np.array([draft_eval[pk][0] for pk in ids], dtype=bool)
    active_mql = np.array([active_eval.get(pk, (False,))[0] for pk in ids], dtype=bool)
    enter_ids = ids[draft_mql & ~active_mql].tolist()
    leave_ids = ids[active_mql & ~draft_mql].tolist()
    names = {
        lead.pk: lead for lead in Lead.objects.filter(pk__in=enter_ids[:LIST_LIMIT] + leave_ids[:LIST_LIMIT])
    }

    def listing(selected: list[int]) -> list[dict[str, Any]]:
        return [
            {"lead_id": pk, "name": str(names[pk]), "company": names[pk].company,
             "active_score": active_eval.get(pk, (False, "", 0))[2], "draft_score": draft_eval[pk][2]}
            for pk in selected[:LIST_LIMIT]
        ]  # fmt: skip

    def tally(evaluation: dict[int, tuple[bool, str, int]]) -> dict[str, int]:
        tiers = [tier for is_mql, tier, _ in evaluation.values() if is_mql]
        return {"mqls": len(tiers), "hot": tiers.count("hot"), "warm": tiers.count("warm")}

    return {
        "expressible": True,
        "open_leads": int(len(ids)),
        "active": tally(active_eval),
        "draft": tally(draft_eval),
        "enter": len(enter_ids),
        "leave": len(leave_ids),
        "entering": listing(enter_ids),
        "leaving": listing(leave_ids),
    }


def whatif_for(draft: AgreementVersion, *, now: datetime) -> dict[str, Any]:
    active = AgreementVersion.objects.active()
    draft_agreement = Agreement.of(draft)
    active_agreement = Agreement.of(active) if active else None
    new_rules = sorted(
        set(draft_agreement.points_by_rule())
        - set(active_agreement.points_by_rule() if active_agreement else {})
    )
    try:
        with transaction.atomic():
            current = current_leads(active, draft, now=now)
    except (NotExpressible, DatabaseError) as error:
        current = {"expressible": False, "reason": str(error).splitlines()[0][:200]}
    return {
        "draft": {"id": draft.pk, "number": draft.number, "threshold": draft_agreement.threshold},
        "active": {"id": active.pk, "number": active.number, "threshold": active_agreement.threshold}
        if active_agreement
        else None,
        "current": current,
        "past": {
            "draft": past_leads(draft_agreement, now=now),
            "active": past_leads(active_agreement, now=now) if active_agreement else None,
            "history_days": HISTORY_DAYS,
            "rules_not_in_history": new_rules,
        },
    }
