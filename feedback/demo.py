"""Demo cycles and outcomes for the demo leads (what sales did with each hand-over), so the review has data."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q

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


# --- a change last quarter in each demo segment, so the trend has one to judge -------------------------------

CHANGE_DAYS_AGO = 45
SEGMENT_MANAGERS = {"Enterprise Japan": ("jp-marketingmanager", "jp-salesmanager")}
DEFAULT_MANAGERS = ("marketingmanager", "salesmanager")


def demo_changes_ensure(*, segments: list[Any], now: datetime) -> list[AgreementVersion]:
    """For each segment whose agreement never changed: a new version, the bar five points lower ("send sales a
    few more leads"), signed by its two managers `CHANGE_DAYS_AGO` days ago. Idempotent."""
    from django.contrib.auth import get_user_model

    from sla.content import threshold_set
    from sla.models import Side
    from sla.services import agreement_change, agreement_draft_create, agreement_propose, agreement_sign

    User = get_user_model()
    at = now - timedelta(days=CHANGE_DAYS_AGO)
    made = []
    for segment in segments:
        active = AgreementVersion.objects.active_for(segment)
        if (
            active is None
            or AgreementVersion.objects.filter(segment.owns(), activated_at__isnull=False).count() > 1
        ):
            continue
        marketing, sales = (
            User.objects.get(username=name) for name in SEGMENT_MANAGERS.get(segment.name, DEFAULT_MANAGERS)
        )
        lower = max(Agreement.of(active).threshold - 5, 1)
        draft = agreement_draft_create(user=marketing, now=at, segment=segment, title="A lower bar",
                                       summary="Send sales a few more leads: they have room.")  # fmt: skip
        agreement_change(
            version_id=draft.pk, user=marketing, now=at, change=lambda c, t=lower: threshold_set(c, t)
        )
        agreement_propose(version_id=draft.pk, user=marketing, now=at)
        agreement_sign(version_id=draft.pk, user=marketing, now=at, side=Side.MARKETING)
        agreement_sign(version_id=draft.pk, user=sales, now=at, side=Side.SALES)
        made.append(AgreementVersion.objects.get(pk=draft.pk))
    return made


def demo_cycles_attribute() -> int:
    """Each demo hand-over made before its segment's latest version came into force is put under the version in
    force then (demo leads are scored by the version in force now). Returns how many moved."""
    moved = 0
    for version in AgreementVersion.objects.filter(status="active", superseded_at__isnull=True):
        segment = version.segment
        own = (
            segment.owns("agreement__segment") if segment is not None else Q(agreement__segment__isnull=True)
        )
        earlier = AgreementVersion.objects.filter(superseded_at=version.activated_at)
        earlier = earlier.filter(segment.owns()) if segment is not None else earlier
        previous = earlier.first()
        if previous is None:
            continue
        before = Cycle.objects.filter(own, handed_over_at__lt=version.activated_at)
        HandOver.objects.filter(cycle__in=before).update(agreement=previous)
        moved += before.update(agreement=previous)
    return moved
