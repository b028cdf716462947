"""Demo cycles and outcomes for the demo leads (what sales did with each hand-over), so the review has data."""

from __future__ import annotations

import random
from decimal import Decimal

from feedback.models import ContactAttempt, Cycle, CycleRule, Reason
from feedback.services import cycle_from_hand_over, fired_rules
from leads.lifecycle.hand_overs import hand_over_from_lead
from leads.models import HandOver, Lead, LeadEvent, State
from sla.agreement import Agreement
from sla.calendar import business_minutes_between
from sla.models import AgreementVersion


def demo_cycles_generate(*, seed: int = 2026) -> int:
    rng = random.Random(seed)
    version = AgreementVersion.objects.active()
    calendar = Agreement.of(version).terms.calendar if version else None
    reasons = {
        kind: list(Reason.objects.filter(kind=kind, needs_comment=False)) for kind in Reason.Kind.values
    }
    leads = list(Lead.objects.filter(mql_at__isnull=False).select_related("owner"))
    transitions: dict[int, dict[str, LeadEvent]] = {}
    for event in LeadEvent.objects.filter(lead__in=leads, kind=LeadEvent.Kind.STATE).select_related("actor"):
        transitions.setdefault(event.lead_id, {})[event.to_value] = event
    cycles, contacts, hand_overs = [], [], []
    for lead in leads:
        moves = transitions.get(lead.pk, {})
        rejected = moves.get(State.RECYCLED)
        owner = lead.owner or (rejected.actor if rejected else None)
        hand_over = hand_over_from_lead(lead, number=1, at=lead.mql_at)
        handoff = moves[State.MQL].data if State.MQL in moves else {}
        if handoff.get("breakdown"):  # the score as sales received it, not as it has aged since
            hand_over.score, hand_over.fit_score = handoff["score"], handoff["fit"]
            hand_over.engagement_score, hand_over.breakdown = handoff["engagement"], handoff["breakdown"]
        hand_over.tier = lead.tier or (
            "hot" if "demo" in lead.handoff_reason or "pricing" in lead.handoff_reason else "warm"
        )
        ended = next(
            (moves[s] for s in (State.RECYCLED, State.WON, State.LOST, State.DISQUALIFIED) if s in moves),
            None,
        )
        hand_over.ended_at = ended.at if ended else None
        hand_overs.append(hand_over)
        cycle = cycle_from_hand_over(hand_over)
        cycle.claimed_at = lead.claimed_at
        cycle.owner, cycle.first_contact_at = owner, lead.first_contact_at
        if lead.first_contact_at and calendar:
            cycle.first_contact_minutes = business_minutes_between(start=lead.mql_at, end=lead.first_contact_at,
                                                                   calendar=calendar)  # fmt: skip
        if rejected:
            cycle.rejected_at = cycle.closed_at = rejected.at
            cycle.outcome, cycle.rejection_reason = Cycle.Outcome.REJECTED, rng.choice(reasons["rejection"])
        if State.SAL in moves:
            cycle.accepted_at = moves[State.SAL].at
        if State.SQL in moves:
            cycle.sql_at = moves[State.SQL].at
            cycle.opportunity_amount = Decimal(rng.randrange(2_000, 60_000, 500))
            cycle.qualification = {"need": {"met": True, "note": ""}, "authority": {"met": True, "note": ""},
                                   "budget": {"met": True, "note": ""}}  # fmt: skip
        if State.WON in moves:
            cycle.outcome, cycle.closed_at = Cycle.Outcome.WON, moves[State.WON].at
            cycle.won_amount = cycle.opportunity_amount
        elif State.LOST in moves:
            cycle.outcome, cycle.closed_at = Cycle.Outcome.LOST, moves[State.LOST].at
            cycle.outcome_reason = rng.choice(reasons["loss"])
        cycles.append(cycle)
    HandOver.objects.bulk_create(hand_overs, batch_size=500)
    Cycle.objects.bulk_create(cycles, batch_size=500)
    CycleRule.objects.bulk_create([rule for cycle in cycles for rule in fired_rules(cycle)], batch_size=1000)
    for cycle in cycles:
        if cycle.first_contact_at and cycle.owner:
            contacts.append(ContactAttempt(cycle=cycle, lead=cycle.lead, rep=cycle.owner, channel="call",
                                           connected=rng.random() < 0.6, at=cycle.first_contact_at))  # fmt: skip
    ContactAttempt.objects.bulk_create(contacts, batch_size=500)
    return len(cycles)
