"""Regression (issue 10): the what-if counted a recycled lead as a hot MQL that scoring would not hand over.

The what-if once judged open leads in the database, by a SQL twin of the evaluator that lacked this rule; it now
asks scoring's own judgement (leads.scoring.judge). A lead sales rejected waits for new activity before it comes
back, and both must say so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from feedback.whatif import whatif_for
from leads.lifecycle.services import lead_progress
from leads.models import State
from leads.queue import lead_claim
from leads.scoring import leads_rescore
from sla.services import agreement_change, agreement_draft_create

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday, in business hours


@pytest.fixture
def draft(agreement, marketer):
    version = agreement_draft_create(user=marketer, now=timezone.now())

    def lower(content):
        content["mql"]["threshold"] = 40
        return content

    return agreement_change(version_id=version.pk, user=marketer, change=lower, now=timezone.now())


def test_a_rejected_lead_is_no_mql_in_the_what_if_until_it_does_something_again(draft, make_lead, rep):
    # given a lead that became a hot MQL on a demo request, and that sales rejected
    lead = make_lead(now=START, seniority="vp", industry="software", employees=500,
                     activities=[("demo_request", START - timedelta(minutes=10), {})])  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=START)
    lead_claim(lead_id=lead.pk, rep=rep, now=START + timedelta(minutes=5))
    lead_progress(
        lead_id=lead.pk, actor=rep, now=START + timedelta(minutes=30), action="reject", reason="too early"
    )
    lead.refresh_from_db()
    assert lead.state == State.RECYCLED

    # when the draft is previewed an hour later (the demo request is still within its trigger's 7 days)
    at = START + timedelta(hours=1)
    current = whatif_for(draft, now=at)["current"]
    # then neither version counts it: scoring would not hand it over
    assert current["active"] == {"mqls": 0, "hot": 0, "warm": 0}
    assert current["draft"] == {"mqls": 0, "hot": 0, "warm": 0}
    leads_rescore(lead_ids=[lead.pk], now=at)
    lead.refresh_from_db()
    assert lead.state == State.RECYCLED and lead.tier == ""

    # and when it requests a demo again, both the what-if and scoring see a hot MQL
    again = at + timedelta(minutes=1)
    lead.activities.create(type="demo_request", occurred_at=again, received_at=again, properties={})
    current = whatif_for(draft, now=again)["current"]
    assert current["active"] == {"mqls": 1, "hot": 1, "warm": 0}
    assert current["draft"] == {"mqls": 1, "hot": 1, "warm": 0}
    leads_rescore(lead_ids=[lead.pk], now=again)
    lead.refresh_from_db()
    assert (lead.state, lead.tier) == (State.MQL, "hot")
