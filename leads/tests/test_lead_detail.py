"""The lead page's "Why this lead" reads the stored breakdown typed (Lead.evaluation): triggers, rules with their
points and evidence, aged-out rules and failed gates; the queue row says the same."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.presenters import why_view
from leads.scoring import leads_rescore

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_lead_page_explains_the_score_from_the_stored_breakdown(agreement, make_lead, rep, login):
    # given a VP at a software company who requested a demo and viewed pricing (a hot MQL)
    now = timezone.now()
    lead = make_lead(now=now, seniority="vp", industry="software", employees=500,
                     activities=[("demo_request", now - timedelta(minutes=10), {}),
                                 ("page", now - timedelta(minutes=5), {"path": "/pricing/teams"})])  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=now)
    lead.refresh_from_db()
    # when a rep opens the lead
    page = text(login(rep).get(lead.get_absolute_url()))
    # then the trigger, the rules with their points and the evidence are shown
    assert "trigger Demo request: requested a demo" in page
    assert "Decision maker +20" in page and "Target industry +15" in page
    assert "Pricing page view" in page and "/pricing/teams" in page
    # and the queue row's "why" reads the same stored evaluation
    why = why_view(lead)
    assert why.reasons == ["requested a demo", "viewed pricing"]
    assert why.latest == "viewed pricing" and why.latest_at == now - timedelta(minutes=5)


def test_a_lead_failing_a_gate_says_which(agreement, make_lead, rep, login):
    # given a lead at a company of 5 (the starter agreement's gate wants 10+)
    now = timezone.now()
    lead = make_lead(now=now, seniority="vp", employees=5)
    leads_rescore(lead_ids=[lead.pk], now=now)
    # when opened / then the failed gate is named with the lead's value
    page = text(login(rep).get(lead.get_absolute_url()))
    assert "Fails the gates:" in page and "(is 5)" in page
