"""Merging two leads keeps every hand-over: the merged lead's cycles, their rules and contacts move to the
kept lead (regression: they were deleted by cascade with the merged lead)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedback import services
from feedback.models import ContactAttempt, Cycle, CycleRule
from leads.models import Lead, SlaBreach
from leads.queue import lead_claim, sla_breaches_scan
from leads.scoring import leads_rescore
from leads.services import lead_merge

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def hot(make_lead, email, at):
    lead = make_lead(now=at, email=email, employees=20, activities=[("demo_request", at, {})])
    leads_rescore(lead_ids=[lead.pk], now=at)
    lead.refresh_from_db()
    return lead


def test_merging_moves_the_merged_leads_hand_overs_and_contacts_to_the_kept_lead(agreement, make_lead, rep):
    # given two records of one person, each handed over; the merged one was contacted, then went overdue
    keep = hot(make_lead, "ada@acme.example", START)
    merge = hot(make_lead, "ada.lovelace@acme.example", START + timedelta(hours=1))
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
    # then nothing the merged lead went through is lost: its cycle (closed: the kept lead's stays the open
    # one), its fired rules, its contact and its breaches are the kept lead's now
    assert not Lead.objects.filter(pk=merge.pk).exists()
    cycles = list(Cycle.objects.filter(lead=keep).order_by("number"))
    assert [(c.number, c.closed_at is None) for c in cycles] == [(1, True), (2, False)]
    assert cycles[1].pk == merged_cycle.pk and cycles[1].closed_at == START + timedelta(days=31)
    assert set(CycleRule.objects.filter(cycle=cycles[1]).values_list("rule_id", flat=True)) == rules
    assert ContactAttempt.objects.get().lead_id == keep.pk
    assert SlaBreach.objects.filter(lead=keep).count() >= breaches


def test_a_merged_hand_over_becomes_the_kept_leads_open_cycle_when_it_has_none(agreement, make_lead, rep):
    # given a lead never handed over and the record of the same person that was
    keep = make_lead(now=START, email="bo@acme.example")
    merge = hot(make_lead, "bo.b@acme.example", START)
    # when they are merged
    lead_merge(keep=keep, merge=merge, now=START + timedelta(hours=1), reason="same person")
    # then the hand-over is still open, on the kept lead
    cycle = Cycle.objects.get()
    assert (cycle.lead_id, cycle.number, cycle.closed_at) == (keep.pk, 1, None)
