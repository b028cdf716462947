"""Apply the active agreement to leads: the ORM feeds sla.criteria.evaluate and stores what it says."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from leads.exceptions import NoRepAvailable
from leads.lifecycle import rules as life
from leads.models import Activity, Lead, LeadEvent, Tier
from leads.normalise import LEAD_FIELDS, lead_attributes
from leads.queue.assignment import lead_assign_round_robin
from leads.queue.clocks import stamp_clocks
from leads.rules import Rules
from leads.segmenting import lead_place, segment_book
from leads.signals import lead_became_hot, leads_handed_over
from sla.criteria import Activity as Fact
from sla.criteria import Evaluation, MqlCriteria, evaluate

SCORE_FIELDS = [
    "state", "tier", "score", "fit_score", "engagement_score", "breakdown", "scored_with", "scored_at",
    "rescore_at", "last_activity_at", "mql_at", "handoff_reason", "claim_due_at", "first_contact_due_at", "accept_due_at",
    "outcome_due_at", "sla_clock", "sla_due_at", "next_sla_check_at", "updated_at", "owner", "claimed_at", "first_contact_at", "decided_at",
    "outcome_at", "status_update_due_at", "paused_at", "segment",
]  # fmt: skip
DEADLINE_FIELDS = {
    "claim": "claim_due_at",
    "first_contact": "first_contact_due_at",
    "accept": "accept_due_at",
    "outcome": "outcome_due_at",
}


@dataclass
class RescoreResult:
    scored: int = 0
    became_mql: list[int] = field(default_factory=list)
    became_hot: list[int] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.became_mql) + len(self.became_hot)


def facts_for(lead_ids: Iterable[int]) -> dict[int, list[Fact]]:
    facts: dict[int, list[Fact]] = defaultdict(list)
    rows = Activity.objects.filter(lead_id__in=list(lead_ids)).values_list(
        "lead_id", "id", "type", "occurred_at", "properties"
    )
    for lead_id, activity_id, type_, occurred_at, properties in rows.iterator(chunk_size=5000):
        facts[lead_id].append(
            Fact(id=activity_id, type=type_, occurred_at=occurred_at, properties=properties or {})
        )
    return facts


def attributes_of(lead: Lead) -> dict[str, Any]:
    return lead_attributes({name: getattr(lead, name) for name in LEAD_FIELDS}, lead.attributes or {})


def leads_rescore(
    *, lead_ids: Iterable[int], now: datetime, rules: Rules | None = None, reason: str = "activity"
) -> RescoreResult:
    """Re-evaluate these leads against the active agreement, move states (→ MQL with tier) and set SLA clocks.

    Rows are locked in primary-key order, so two ingest batches touching the same leads never interleave.
    Hot leads are announced after commit.
    """
    given = rules
    ids = sorted(set(lead_ids))
    result = RescoreResult()
    if not ids:
        return result
    book = segment_book()  # each lead's segment decides its agreement (leads.segmenting)
    with transaction.atomic():
        leads = list(Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        facts = facts_for(ids)
        events: list[LeadEvent] = []
        auto_assign: list[int] = []
        for lead in leads:
            rules = lead_place(lead, book, given=given, now=now, events=events)
            lead_facts = facts.get(lead.pk, [])
            lead.last_activity_at = max((f.occurred_at for f in lead_facts), default=lead.last_activity_at)
            if rules is None:
                lead.updated_at = now
                continue
            evaluation, waits = judge(lead, lead_facts, rules.criteria, now)
            may_hand_over = life.allowed(life.Action.HAND_OVER, lead.state) and not waits
            events += _store_judgement(
                lead, evaluation, rules, now, reason, result, may_hand_over=may_hand_over
            )
            result.scored += 1
            if rules.terms.auto_assign and result.became_mql and result.became_mql[-1] == lead.pk:
                auto_assign.append(lead.pk)
        # INSERT … ON CONFLICT (id) DO UPDATE writes the locked rows back ~10× faster than bulk_update's CASE WHEN
        Lead.objects.bulk_create(
            leads, update_conflicts=True, unique_fields=["id"], update_fields=SCORE_FIELDS
        )
        LeadEvent.objects.bulk_create(events, batch_size=1000)
        if result.became_mql:
            leads_handed_over.send(sender=Lead, lead_ids=result.became_mql, at=now)
        if auto_assign:
            _auto_assign(auto_assign, now)
        if result.became_hot:
            lead_became_hot.send(sender=Lead, lead_ids=result.became_hot, at=now)
    return result


def judge(lead: Lead, facts: list[Fact], criteria: MqlCriteria, now: datetime) -> tuple[Evaluation, bool]:
    """The lead's evaluation on the activity that counts, and whether it waits for new activity before it may
    be handed over again (life.may_hand_over). leads.scoring.criteria_sql computes the same for many leads at
    once; leads/tests/test_criteria_sql.py holds the two equal."""
    since = life.counts_since(lead.state, decided_at=lead.decided_at, outcome_at=lead.outcome_at)
    counting = _counting(facts, since)
    waits = life.waits_for_activity(since=since, new_activity=len(counting))
    return evaluate(criteria, attributes_of(lead), counting, now), waits


def _counting(facts: list[Fact], since: datetime | None) -> list[Fact]:
    """The activity that counts: all of it, except for a lead handed back (recycled) or lost, whose earlier
    activity already led to a hand-over sales turned down (life.counts_since). It qualifies again only on
    what it did since."""
    if since is None:
        return facts
    return [fact for fact in facts if fact.occurred_at > since]


def _store_judgement(
    lead: Lead,
    evaluation: Evaluation,
    rules: Rules,
    now: datetime,
    reason: str,
    result: RescoreResult,
    *,
    may_hand_over: bool,
) -> list[LeadEvent]:
    lead.score, lead.fit_score, lead.engagement_score = (
        evaluation.total,
        evaluation.fit,
        evaluation.engagement,
    )
    lead.breakdown = evaluation.to_dict()
    lead.scored_with = rules.version
    lead.scored_at = lead.updated_at = now
    lead.rescore_at = evaluation.next_change_at
    events = []
    why = _why(evaluation)
    if life.allowed(life.Action.HAND_OVER, lead.state):
        lead.tier = Tier.NONE
        if evaluation.is_mql and may_hand_over:
            to = life.next_state(life.Action.HAND_OVER, lead.state).value
            events.append(_event(lead, LeadEvent.Kind.STATE, lead.state, to, now, why, reason, evaluation))
            lead.state, lead.mql_at, lead.tier = to, now, str(evaluation.tier)
            lead.handoff_reason = why
            # a new cycle (life.MOVES[HAND_OVER].new_cycle): fresh clocks and no owner, even for a recycled lead
            lead.owner = lead.claimed_at = lead.first_contact_at = lead.decided_at = lead.outcome_at = None
            lead.status_update_due_at = lead.paused_at = None
            _set_deadlines(lead, rules, now)
            result.became_mql.append(lead.pk)
            if lead.tier == Tier.HOT:
                result.became_hot.append(lead.pk)
    elif (
        life.allowed(life.Action.HEAT, lead.state)
        and lead.owner_id is None
        and lead.tier == Tier.WARM
        and evaluation.tier == "hot"
    ):
        # A trigger fired on a warm lead nobody has claimed yet: it jumps the queue with the hot clock.
        events.append(_event(lead, LeadEvent.Kind.TIER, Tier.WARM, Tier.HOT, now, why, reason, evaluation))
        lead.tier = Tier.HOT
        _set_deadlines(lead, rules, now, only_sooner=True)
        result.became_hot.append(lead.pk)
    return events


def _set_deadlines(lead: Lead, rules: Rules, now: datetime, *, only_sooner: bool = False) -> None:
    for key, due in rules.terms.deadlines(tier=lead.tier, start=now).items():
        name = DEADLINE_FIELDS.get(key)
        if name and not (only_sooner and getattr(lead, name) and getattr(lead, name) <= due):
            setattr(lead, name, due)
    stamp_clocks(lead)


def _why(evaluation: Evaluation) -> str:
    if evaluation.triggers:
        return "; ".join(hit.reason for hit in evaluation.triggers)[:500]
    return f"score {evaluation.total}"


def _event(
    lead: Lead,
    kind: str,
    before: str,
    after: str,
    now: datetime,
    why: str,
    reason: str,
    evaluation: Evaluation,
) -> LeadEvent:
    return LeadEvent(
        lead=lead,
        at=now,
        kind=kind,
        from_value=str(before),
        to_value=str(after),
        actor_label="scoring",
        reason=why,
        data={"trigger": reason, "score": evaluation.total, "tier": str(evaluation.tier)},
    )


def _auto_assign(lead_ids: list[int], now: datetime) -> None:
    """The terms say new MQLs are assigned round-robin; with nobody available they wait in the shared queue."""
    for lead_id in lead_ids:
        try:
            lead_assign_round_robin(lead_id=lead_id, now=now, reason="new MQL, assigned round-robin")
        except NoRepAvailable:
            return
