"""What-if preview of a draft agreement, beside the one in force for its segment.

One evaluator judges both parts: `sla.criteria.evaluate`, through `Agreement.of(version)` and scoring's own rule
for a lead handed back (`leads.scoring.judge`: a recycled or lost lead counts only what it did since, and is no MQL
until it did something), exactly as scoring, the activation's rescore and the backtest do.

- **Current open leads**: the draft and the version in force judged at `now` on every open lead of the draft's
  segment: how many MQLs (hot, warm) each would make, which leads would enter or leave the queue and which would
  change tier. Leads and their activities are read in chunks of CHUNK leads, two queries a chunk (the same
  set-based reads as the bulk rescore, `leads.scoring.facts_for`).
- **Past leads with a known outcome** (feedback.backtest): both versions' full criteria judged at each past
  lead's own hand-off (or creation) time, from its stored activities and attributes: AUC, conversion by band and
  the MQL volume each would have sent, side by side.

The page is composed of one include per part (templates/feedback/whatif.html), so another part can be added
without touching these.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache

from feedback.backtest import backtest, fingerprint
from leads.models import CLOSED_STATES, Lead
from leads.normalise import LEAD_FIELDS
from leads.scoring import facts_for, judge
from sla.agreement import Agreement
from sla.criteria import MqlCriteria
from sla.models import AgreementVersion

LIST_LIMIT = 25
CHUNK = 5000  # open leads judged at a time: two queries, and at most this many leads' activities in memory
_READ = (*LEAD_FIELDS, "attributes", "state", "decided_at", "outcome_at")  # what judging and the lists read


def _open_leads(draft: AgreementVersion) -> Any:
    """The open leads the draft would score: its segment's."""
    return Lead.objects.in_segment_of(draft).exclude(state__in=CLOSED_STATES)


@dataclass(frozen=True)
class _Verdict:
    is_mql: bool
    tier: str  # "hot", "warm", or "" when no MQL
    total: int


_NONE = _Verdict(False, "", 0)


def _verdict(lead: Lead, facts: list[Any], criteria: MqlCriteria, now: datetime) -> _Verdict:
    """What scoring would say of this lead at `now` under `criteria`: MQL (and tier) or not, and its score."""
    evaluation, waits = judge(lead, facts, criteria, now, evidence=False)
    is_mql = evaluation.is_mql and not waits
    return _Verdict(is_mql, str(evaluation.tier) if is_mql else "", evaluation.total)


def _chunks(leads: Any) -> Any:
    """The leads in primary-key order, CHUNK at a time (keyset: each chunk one indexed range read)."""
    leads = leads.only(*_READ).order_by("pk")
    after = 0
    while chunk := list(leads.filter(pk__gt=after)[:CHUNK]):
        yield chunk
        after = chunk[-1].pk


def current_leads(
    active: AgreementVersion | None, draft: AgreementVersion, *, now: datetime
) -> dict[str, Any]:
    """Both versions judged at `now` on the draft's segment's open leads."""
    draft_criteria = Agreement.of(draft).criteria
    active_criteria = Agreement.of(active).criteria if active else None
    tally = {"active": {"mqls": 0, "hot": 0, "warm": 0}, "draft": {"mqls": 0, "hot": 0, "warm": 0}}
    lists: dict[str, list[dict[str, Any]]] = {"entering": [], "leaving": [], "retiering": []}
    moved = {"entering": 0, "leaving": 0, "retiering": 0}
    open_leads = 0
    for leads in _chunks(_open_leads(draft)):
        facts = facts_for([lead.pk for lead in leads])
        for lead in leads:
            open_leads += 1
            lead_facts = facts.get(lead.pk, [])
            drafted = _verdict(lead, lead_facts, draft_criteria, now)
            current = _verdict(lead, lead_facts, active_criteria, now) if active_criteria else _NONE
            for name, verdict in (("draft", drafted), ("active", current)):
                if verdict.is_mql:
                    tally[name]["mqls"] += 1
                    tally[name][verdict.tier] += 1
            if drafted.is_mql and not current.is_mql:
                change = "entering"
            elif current.is_mql and not drafted.is_mql:
                change = "leaving"
            elif drafted.is_mql and drafted.tier != current.tier:
                change = "retiering"
            else:
                continue
            moved[change] += 1
            if len(lists[change]) < LIST_LIMIT:
                lists[change].append(
                    {"lead_id": lead.pk, "name": str(lead), "company": lead.company,
                     "active_score": current.total, "draft_score": drafted.total,
                     "active_tier": current.tier, "draft_tier": drafted.tier}
                )  # fmt: skip
    return {
        "open_leads": open_leads,
        **tally,
        "enter": moved["entering"],
        "leave": moved["leaving"],
        "retier": moved["retiering"],
        **lists,
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
    current = current_leads(active, draft, now=now)
    return {
        "draft": {"id": draft.pk, "number": draft.number, "threshold": draft_agreement.threshold},
        "active": {"id": active.pk, "number": active.number, "threshold": active_agreement.threshold}
        if active_agreement
        else None,
        "current": current,
        "past": _backtest(draft, active, now=now),
    }
