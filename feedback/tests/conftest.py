"""Fixtures shared by the per-segment review and trend tests: Enterprise Japan with its own signed agreement, and
this month's three hand-overs (two Japanese enterprise leads, one SMB lead)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.models import Cycle
from leads.scoring import leads_rescore
from sla.content import threshold_set
from sla.models import Segment, Side
from sla.services import agreement_change, agreement_draft_create, agreement_propose, agreement_sign
from sla.tests.segment_factory import japan_segment_create


@pytest.fixture
def japan(db, agreement, marketing_manager, sales_manager):
    """Enterprise Japan (country Japan, 500+ employees) with its own agreement (threshold 5), signed 40 days ago."""
    Segment.objects.ensure_default()
    segment = japan_segment_create()
    now = timezone.now() - timedelta(days=40)
    draft = agreement_draft_create(user=marketing_manager, now=now, segment=segment, title="Japan")
    agreement_change(
        version_id=draft.pk, user=marketing_manager, now=now, change=lambda c: threshold_set(c, 5)
    )
    agreement_propose(version_id=draft.pk, user=marketing_manager, now=now)
    agreement_sign(version_id=draft.pk, user=marketing_manager, now=now, side=Side.MARKETING)
    agreement_sign(version_id=draft.pk, user=sales_manager, now=now, side=Side.SALES)
    return segment


@pytest.fixture
def handed_over(japan, make_lead, django_capture_on_commit_callbacks):
    """This month: two Japanese enterprise hand-overs, one SMB hand-over. Returns now."""
    now = timezone.now()
    demo = [("demo_request", now - timedelta(minutes=5), {})]
    leads = [
        make_lead(now=now, country="Japan", employees=900, seniority="director", activities=demo),
        make_lead(now=now, country="Japan", employees=5000, seniority="director", activities=demo),
        make_lead(now=now, country="UK", employees=40, seniority="director", activities=demo),
    ]
    with django_capture_on_commit_callbacks(execute=True):  # cycles open after the hand-over commits
        leads_rescore(lead_ids=[lead.pk for lead in leads], now=now)
    assert Cycle.objects.count() == 3
    return now
