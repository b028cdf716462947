"""Regression tests for bugs found by probes (issue 10): a stale claim clock after an escalation by
reassignment, and an activation that handed rejected leads back to sales with no new activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alignment.roles import Role
from leads.lifecycle.services import lead_progress
from leads.models import Lead, SlaBreach, State
from leads.queue import lead_claim, sla_breaches_scan
from leads.scoring import leads_rescore
from sla.services import agreement_change, agreement_draft_create, agreement_propose, agreement_sign

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday, in business hours


def activate(change, *, marketer, marketing_manager, sales_manager, capture):
    """A new agreement version with `change` applied, signed by both managers and active (activation's
    rescoring runs, as after commit)."""
    draft = agreement_draft_create(user=marketer, now=timezone.now())
    agreement_change(version_id=draft.pk, user=marketer, change=change, now=timezone.now())
    agreement_propose(version_id=draft.pk, user=marketer, now=timezone.now())
    agreement_sign(version_id=draft.pk, user=marketing_manager, now=timezone.now())
    with capture(execute=True):
        agreement_sign(version_id=draft.pk, user=sales_manager, now=timezone.now())
    return draft


def test_a_claim_breach_escalated_by_reassignment_leaves_no_stale_overdue_claim_clock(
    agreement, make_lead, rep, make_user, marketer, marketing_manager, sales_manager,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    # given the terms reassign on a breach, and a hot MQL nobody claims
    def reassign(content):
        content["terms"]["on_breach"] = "reassign"
        return content

    activate(reassign, marketer=marketer, marketing_manager=marketing_manager, sales_manager=sales_manager,
             capture=django_capture_on_commit_callbacks)  # fmt: skip
    make_user(Role.REP, username="sam")
    lead = make_lead(now=START, activities=[("demo_request", START, {})], employees=20)
    leads_rescore(lead_ids=[lead.pk], now=START)
    lead.refresh_from_db()
    assert (lead.state, lead.sla_clock, lead.owner_id) == (State.MQL, "claim", None)
    scan_at = lead.claim_due_at + timedelta(seconds=1)
    assert lead.first_contact_due_at > scan_at
    # when the scan finds the claim deadline missed and reassigns the lead
    sla_breaches_scan(now=scan_at)
    # then the lead has its new owner, the claim clock is stopped, and what it shows is the next clock
    lead.refresh_from_db()
    breach = SlaBreach.objects.get(lead=lead, clock="claim")
    assert breach.action == SlaBreach.Action.REASSIGNED and lead.owner == breach.new_owner
    assert lead.claimed_at == scan_at
    assert lead.sla_clock == "first_contact" and lead.sla_due_at == lead.first_contact_due_at
    assert lead.next_sla_check_at == lead.first_contact_due_at
    assert Lead.objects.in_queue().overdue(now=scan_at + timedelta(seconds=1)).filter(pk=lead.pk).count() == 0


def test_activation_does_not_hand_a_rejected_lead_back_without_new_activity(
    agreement, make_lead, rep, marketer, marketing_manager, sales_manager, django_capture_on_commit_callbacks
):
    # given a lead that fits well (45 fit points) and scored an MQL on a webinar and page views, then was rejected
    lead = make_lead(
        now=START, seniority="vp", industry="software", employees=500,
        activities=[("webinar", START - timedelta(hours=2), {}), ("page", START - timedelta(hours=1), {"path": "/pricing"})],
    )  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=START)
    lead_claim(lead_id=lead.pk, rep=rep, now=START + timedelta(minutes=5))
    lead_progress(
        lead_id=lead.pk, actor=rep, now=START + timedelta(minutes=30), action="reject", reason="too early"
    )
    lead.refresh_from_db()
    assert lead.state == State.RECYCLED and lead.fit_score == 45

    # when a new agreement whose threshold its fit alone meets is activated (every open lead is rescored)
    def lower_threshold(content):
        content["mql"]["threshold"] = 40
        return content

    activate(lower_threshold, marketer=marketer, marketing_manager=marketing_manager,
             sales_manager=sales_manager, capture=django_capture_on_commit_callbacks)  # fmt: skip
    # then it stays with marketing: it did nothing since it was rejected
    lead.refresh_from_db()
    assert lead.state == State.RECYCLED and lead.owner_id is None

    # and when it does something again, it comes back to sales
    later = timezone.now()
    lead.activities.create(type="email_open", occurred_at=later, received_at=later, properties={})
    leads_rescore(lead_ids=[lead.pk], now=later)
    lead.refresh_from_db()
    assert lead.state == State.MQL
