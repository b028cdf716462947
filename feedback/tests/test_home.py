"""Home pages say where to start, per role: signatures waiting, breaches and long-late work, my due leads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead, State
from leads.queue import lead_claim
from leads.scoring import leads_rescore
from sla.services import agreement_draft_create, agreement_propose, agreement_sign

pytestmark = pytest.mark.django_db


def hot(make_lead, now, **fields):
    lead = make_lead(now=now, employees=20, activities=[("demo_request", now, {})], **fields)
    leads_rescore(lead_ids=[lead.pk], now=now)
    lead.refresh_from_db()
    assert lead.state == State.MQL
    return lead


def test_a_rep_is_told_what_of_theirs_is_late_and_what_waits_to_be_claimed(
    agreement, make_lead, rep, login, django_assert_max_num_queries
):
    now = timezone.now()
    mine = hot(make_lead, now, last_name="Mine")
    lead_claim(lead_id=mine.pk, rep=rep, now=now)
    Lead.objects.filter(pk=mine.pk).update(sla_due_at=now - timedelta(minutes=5))
    hot(make_lead, now, last_name="Free")
    client = login(rep)
    with django_assert_max_num_queries(8):
        html = client.get(reverse("home")).content.decode()
    assert "1 of your leads is past a deadline" in html
    assert "1 hot lead waiting to be claimed" in html
    assert "Your open leads" in html


def test_a_manager_is_told_a_draft_awaits_their_signature_and_which_work_is_long_late(
    agreement, make_lead, marketer, marketing_manager, sales_manager, login
):
    now = timezone.now()
    old = hot(make_lead, now, last_name="Old")
    Lead.objects.filter(pk=old.pk).update(sla_due_at=now - timedelta(days=3))
    draft = agreement_draft_create(user=marketer, now=now)
    agreement_propose(version_id=draft.pk, user=marketer, now=now)
    agreement_sign(version_id=draft.pk, user=marketing_manager, now=now)
    html = login(sales_manager).get(reverse("home")).content.decode()
    assert f"Version {draft.number} of the agreement awaits your signature" in html
    assert "1 lead late by more than a day: reassign or close" in html
    # the manager who signed already has nothing waiting on that version
    signed = login(marketing_manager).get(reverse("home")).content.decode()
    assert "awaits your signature" not in signed


def test_nothing_waiting_is_said_plainly(marketer, login):
    assert "Nothing waits for you right now." in login(marketer).get(reverse("home")).content.decode()
