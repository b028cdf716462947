"""The hand-over record (leads.models.HandOver): written where the lifecycle moves a lead to or from sales, in the
caller's transaction (scoring's for a hand-over, lead_progress's when the lead leaves sales, lead_merge's).

Nothing here knows of feedback: feedback keys its cycles to these rows after commit (feedback/receivers.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Max

from alignment.copywrite import rows_insert
from leads.lifecycle import rules as life
from leads.models import HandOver, Lead


def hand_over_from_lead(lead: Lead, *, number: int, at: datetime) -> HandOver:
    """The record of `lead` handed over now, as scoring left it (unsaved)."""
    return HandOver(
        lead=lead, number=number, at=at, agreement_id=lead.scored_with_id, tier=lead.tier, score=lead.score,
        fit_score=lead.fit_score, engagement_score=lead.engagement_score, breakdown=lead.breakdown,
        reason=lead.handoff_reason, source=lead.source, campaign=lead.campaign, claim_due_at=lead.claim_due_at,
        first_contact_due_at=lead.first_contact_due_at, accept_due_at=lead.accept_due_at,
        outcome_due_at=lead.outcome_due_at,
    )  # fmt: skip


def hand_overs_record(leads: Iterable[Lead], *, at: datetime) -> list[HandOver]:
    """Record a hand-over for each lead scoring just moved to sales (`life.Action.HAND_OVER`), numbered after the
    lead's earlier ones. A hand-over still open (which the lifecycle does not allow) is ended first."""
    leads = list(leads)
    if not leads:
        return []
    ids = [lead.pk for lead in leads]
    last = dict(
        HandOver.objects.filter(lead_id__in=ids)
        .values("lead_id")
        .annotate(n=Max("number"))
        .values_list("lead_id", "n")
    )
    HandOver.objects.filter(lead_id__in=ids, ended_at__isnull=True).update(ended_at=at)
    return rows_insert(
        HandOver,
        [hand_over_from_lead(lead, number=last.get(lead.pk, 0) + 1, at=lead.mql_at or at) for lead in leads],
    )


def hand_over_end(*, lead_id: int, at: datetime) -> int:
    """The lead left sales (rejected, won, lost, disqualified): its open hand-over ends now."""
    return HandOver.objects.filter(lead_id=lead_id, ended_at__isnull=True).update(ended_at=at)


def hand_overs_move(*, keep_id: int, merge_id: int, at: datetime) -> list[tuple[int, int]]:
    """Two leads were one person: the merged lead's hand-overs move to the kept lead, numbered after its own.
    A lead has one open hand-over at most: if both had one, the kept lead's stays open and the merged one's ends
    at the merge. Returns (hand-over id, new number) for each moved hand-over, in order."""
    moving = list(HandOver.objects.select_for_update().filter(lead_id=merge_id).order_by("number"))
    last = HandOver.objects.filter(lead_id=keep_id).aggregate(n=Max("number"))["n"] or 0
    keep_open = HandOver.objects.filter(lead_id=keep_id, ended_at__isnull=True).exists()
    moved = []
    for offset, hand_over in enumerate(moving, start=1):
        ended_at = hand_over.ended_at or (at if keep_open else None)
        HandOver.objects.filter(pk=hand_over.pk).update(
            lead_id=keep_id, number=last + offset, ended_at=ended_at
        )
        moved.append((hand_over.pk, last + offset))
    return moved


def hand_over_ensure(lead: Lead, *, at: datetime) -> HandOver | None:
    """The open hand-over of a lead with sales, recorded from the lead if it has none (a lead handed over before
    hand-overs were recorded, or put with sales by hand). None for a lead not with sales."""
    if lead.state not in life.WITH_SALES:
        return None
    existing = HandOver.objects.filter(lead=lead, ended_at__isnull=True).first()
    if existing:
        return existing
    return hand_overs_record([lead], at=at)[0]
