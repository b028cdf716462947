"""What-if preview of a draft agreement, beside the active one.

- **Current open leads**: both versions' MQL criteria evaluated by the database (leads.scoring.criteria_sql) over every
  open lead: how many MQLs (hot, warm) each would make, and which leads would enter or leave the queue.
- **Past leads with a known outcome** (feedback.backtest): both versions' full criteria evaluated at each past
  lead's own hand-off (or creation) time, from its stored activities and attributes, so rules a draft adds are
  judged too: AUC, conversion by band and the MQL volume each would have sent, side by side.

The page is composed of one include per part (templates/feedback/whatif.html), so another part can be added
without touching these.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import DatabaseError, transaction

from feedback.backtest import backtest, fingerprint
from leads.models import CLOSED_STATES, Lead
from leads.scoring.criteria_sql import NotExpressible, annotate_evaluation, can_express
from sla.agreement import Agreement
from sla.models import AgreementVersion

LIST_LIMIT = 25


def _open_leads(draft: AgreementVersion) -> Any:
    """The open leads the draft would score: its segment's."""
    return Lead.objects.in_segment_of(draft).exclude(state__in=CLOSED_STATES)


def current_leads(
    active: AgreementVersion | None, draft: AgreementVersion, *, now: datetime
) -> dict[str, Any]:
    draft_criteria = Agreement.of(draft).criteria
    active_criteria = Agreement.of(active).criteria if active else None
    reason = can_express(draft_criteria) or (can_express(active_criteria) if active_criteria else None)
    if reason:
        return {"expressible": False, "reason": reason}
    draft_rows = annotate_evaluation(_open_leads(draft), criteria=draft_criteria, now=now).values_list(
        "pk", "sql_is_mql", "sql_tier", "sql_total"
    )
    draft_eval = {pk: (is_mql, tier, total) for pk, is_mql, tier, total in draft_rows}
    if active_criteria:
        active_rows = annotate_evaluation(_open_leads(draft), criteria=active_criteria, now=now).values_list(
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


def _backtest(draft: AgreementVersion, active: AgreementVersion | None, *, now: datetime) -> dict[str, Any]:
    """The backtest, cached until the leads, their activity, the closed hand-overs or either version change
    (judging every past lead in Python takes seconds on a large history)."""
    key = hashlib.sha256(
        json.dumps(
            [
                draft.content_hash,
                active.content_hash if active else None,
                draft.segment_id,
                fingerprint(now=now),
            ]
        ).encode()
    ).hexdigest()
    cached = cache.get(f"whatif-backtest-{key}")
    if cached is None:
        cached = backtest(
            Agreement.of(draft), Agreement.of(active) if active else None, now=now, segment=draft.segment
        )
        cache.set(f"whatif-backtest-{key}", cached, timeout=3600)
    return cached


def whatif_for(draft: AgreementVersion, *, now: datetime) -> dict[str, Any]:
    active = AgreementVersion.objects.active_for(draft.segment)
    draft_agreement = Agreement.of(draft)
    active_agreement = Agreement.of(active) if active else None
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
        "past": _backtest(draft, active, now=now),
    }
