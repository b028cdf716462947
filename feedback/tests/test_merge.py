"""Merging two leads keeps every hand-over: the merged lead's hand-overs (leads.HandOver), their cycles, rules,
contacts and outcomes move to the kept lead (regression: they were deleted by cascade with the merged lead)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedback import services
from feedback.models import ContactAttempt, Cycle, CycleRule, Reason
from feedback.reasons import ensure_default_reasons
from leads.exceptions import LeadError
from leads.models import HandOver, Lead, LeadEvent, SlaBreach, State
from leads.queue import lead_claim, sla_breaches_scan
from leads.scoring import leads_rescore
from leads.services import ActivityData, activities_record, lead_merge, rows_about
from leads.signals import lead_merging

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    """Run what waits for the commit (feedback opens its cycles then), as a real request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def hot(make_lead, email, at, capture):
    lead = make_lead(now=at, email=email, employees=20, activities=[("demo_request", at, {})])
    with capture():
        leads_rescore(lead_ids=[lead.pk], now=at)
    lead.refresh_from_db()
    return lead


def again(lead, at, capture):
    """New activity after the lead was handed back: scoring hands it over again."""
    activities_record(lead=lead, activities=[ActivityData("demo_request", at, {})], now=at)
    with capture():
        leads_rescore(lead_ids=[lead.pk], now=at)
    lead.refresh_from_db()
    return lead


def rejected(lead, rep, at):
    ensure_default_reasons()
    reason = Reason.objects.filter(kind=Reason.Kind.REJECTION, needs_comment=False).first()
    if lead.owner_id is None:
        lead_claim(lead_id=lead.pk, rep=rep, now=at)
    services.lead_reject(lead_id=lead.pk, user=rep, reason=reason, comment="", now=at + timedelta(minutes=1))
    lead.refresh_from_db()
    return lead


def history(lead_id):
    """(number, open?, outcome) of each hand-over of the lead with its cycle's, side by side."""
    return [
        (h.number, h.ended_at is None, h.cycle.number, h.cycle.closed_at is None, h.cycle.outcome)
        for h in HandOver.objects.filter(lead_id=lead_id).select_related("cycle").order_by("number")
    ]


def test_merging_moves_the_merged_leads_hand_overs_and_contacts_to_the_kept_lead(
    agreement, make_lead, rep, capture
):
    # given two records of one person, each handed over; the merged one was contacted, then went overdue
    keep = hot(make_lead, "ada@acme.example", START, capture)
    merge = hot(make_lead, "ada.lovelace@acme.example", START + timedelta(hours=1), capture)
    lead_claim(lead_id=merge.pk, rep=rep, now=START + timedelta(hours=1, minutes=1))
    services.contact_log(lead_id=merge.pk, user=rep, channel="call", connected=False, note="",
                         now=START + timedelta(hours=1, minutes=2))  # fmt: skip
    sla_breaches_scan(now=START + timedelta(days=30))
    merged_cycle = Cycle.objects.get(lead=merge)
    rules = set(CycleRule.objects.filter(cycle=merged_cycle).values_list("rule_id", flat=True))
    breaches = SlaBreach.objects.filter(lead=merge).count()
    assert rules and breaches
    # when they are merged
    lead_merge(keep=keep, merge=merge, now=START + timedelta(days=31), reason="same person")
    # then nothing the merged lead went through is lost: its hand-over and cycle (ended: the kept lead's stays
    # the open one), its fired rules, its contact and its breaches are the kept lead's now
    assert not Lead.objects.filter(pk=merge.pk).exists()
    assert history(keep.pk) == [(1, True, 1, True, ""), (2, False, 2, False, "")]
    cycles = list(Cycle.objects.filter(lead=keep).order_by("number"))
    assert cycles[1].pk == merged_cycle.pk and cycles[1].closed_at == START + timedelta(days=31)
    assert cycles[1].hand_over.ended_at == START + timedelta(days=31)
    assert set(CycleRule.objects.filter(cycle=cycles[1]).values_list("rule_id", flat=True)) == rules
    assert ContactAttempt.objects.get().lead_id == keep.pk
    assert SlaBreach.objects.filter(lead=keep).count() >= breaches


def test_merging_two_leads_loses_no_hand_over_cycle_or_outcome(agreement, make_lead, rep, capture):
    # given two records of one person, each rejected once and handed over again; the merged one was contacted
    keep = hot(make_lead, "cy@acme.example", START, capture)
    keep = again(rejected(keep, rep, START + timedelta(minutes=5)), START + timedelta(hours=2), capture)
    merge = hot(make_lead, "cy.c@acme.example", START + timedelta(minutes=1), capture)
    merge = rejected(merge, rep, START + timedelta(minutes=10))
    merge = again(merge, START + timedelta(hours=3), capture)
    lead_claim(lead_id=merge.pk, rep=rep, now=START + timedelta(hours=3, minutes=1))
    services.contact_log(lead_id=merge.pk, user=rep, channel="email", connected=True, note="replied",
                         now=START + timedelta(hours=3, minutes=2))  # fmt: skip
    outcomes = sorted(Cycle.objects.values_list("outcome", "rejection_reason_id"), key=str)
    assert (HandOver.objects.count(), Cycle.objects.count(), len(outcomes)) == (4, 4, 4)
    at = START + timedelta(days=1)
    # when they are merged
    lead_merge(keep=keep, merge=merge, now=at, reason="same person")
    # then all four hand-overs and their cycles are the kept lead's, numbered in turn after its own, each cycle
    # keyed to its hand-over with the same number and the outcomes unchanged; one stays open, the kept lead's
    assert history(keep.pk) == [
        (1, False, 1, False, "rejected"),
        (2, True, 2, True, ""),
        (3, False, 3, False, "rejected"),
        (4, False, 4, False, ""),
    ]
    assert sorted(Cycle.objects.values_list("outcome", "rejection_reason_id"), key=str) == outcomes
    assert ContactAttempt.objects.get().cycle.number == 4
    assert rows_about(merge) == []
    keep.refresh_from_db()
    assert keep.state == State.MQL and keep.hand_overs.open().count() == 1


def test_a_merged_hand_over_becomes_the_kept_leads_open_one_and_the_lead_joins_sales(
    agreement, make_lead, rep, capture
):
    # given a lead never handed over and the record of the same person that was, and was claimed
    keep = make_lead(now=START, email="bo@acme.example")
    merge = hot(make_lead, "bo.b@acme.example", START, capture)
    lead_claim(lead_id=merge.pk, rep=rep, now=START + timedelta(minutes=2))
    merge.refresh_from_db()
    # when they are merged
    lead_merge(keep=keep, merge=merge, now=START + timedelta(hours=1), reason="same person")
    # then the hand-over is still open, on the kept lead, which is with sales as the merged one was: same
    # state, owner and clocks (a merge never takes a lead out of the queue)
    cycle = Cycle.objects.get()
    assert (cycle.lead_id, cycle.number, cycle.closed_at, cycle.hand_over.ended_at) == (
        keep.pk,
        1,
        None,
        None,
    )
    keep.refresh_from_db()
    assert (keep.state, keep.owner_id, keep.claimed_at, keep.first_contact_due_at) == (
        State.MQL, rep.pk, merge.claimed_at, merge.first_contact_due_at,
    )  # fmt: skip
    assert Lead.objects.in_queue().filter(pk=keep.pk).exists()
    assert LeadEvent.objects.filter(lead=keep, kind=LeadEvent.Kind.STATE, to_value=State.MQL).exists()


def test_a_merge_that_would_delete_rows_nobody_moved_is_refused(agreement, make_lead, capture):
    # given feedback's merge hook is not connected (an app that forgot to register one)
    keep = hot(make_lead, "di@acme.example", START, capture)
    merge = hot(make_lead, "di.d@acme.example", START, capture)
    assert lead_merging.disconnect(sender=Lead, dispatch_uid="feedback.move_cycles")
    try:
        # when the leads are merged
        with pytest.raises(LeadError, match="would be deleted"):
            lead_merge(keep=keep, merge=merge, now=START + timedelta(hours=1), reason="same person")
    finally:
        from feedback.receivers import move_cycles

        lead_merging.connect(move_cycles, sender=Lead, dispatch_uid="feedback.move_cycles")
    # then nothing was lost: the merged lead is still there with its hand-over and its cycle
    assert Lead.objects.filter(pk=merge.pk).exists()
    assert Cycle.objects.filter(lead=merge).count() == 1 and HandOver.objects.filter(lead=merge).count() == 1
