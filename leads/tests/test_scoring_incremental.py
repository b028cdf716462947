"""Incremental scoring (leads/scoring/state.py): a lead scored again is judged on what its last scoring kept plus
the activities stored since, and the judgement is the one its whole history gives (the property itself is
sla/tests/test_criteria.py::test_incremental_evaluation_equals_full_evaluation)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Activity, Lead, ScoringState
from leads.scoring import leads_rescore
from leads.services import ActivityData, activities_record, lead_merge

pytestmark = pytest.mark.django_db

PAGES = ["/pricing", "/blog/a", "/docs", "/pricing/enterprise", "/careers"]


def _judged(lead_id: int) -> tuple:
    lead = Lead.objects.get(pk=lead_id)
    return lead.state, lead.tier, lead.score, lead.breakdown, lead.rescore_at


def _visits(lead: Lead, start, days: range, now) -> None:
    activities_record(
        lead=lead,
        activities=[
            ActivityData(
                type="page", occurred_at=start + timedelta(days=day), properties={"path": PAGES[day % 5]}
            )
            for day in days
        ],
        now=now,
    )


def test_a_lead_scored_round_after_round_is_judged_as_on_its_whole_history(agreement, make_lead):
    # given a lead with five months of page views, scored once (its state kept)
    start = timezone.now() - timedelta(days=150)
    lead = make_lead(now=start, employees=250, job_title="Analyst")
    _visits(lead, start, range(0, 120, 3), start + timedelta(days=120))
    leads_rescore(lead_ids=[lead.pk], now=start + timedelta(days=120))
    kept = ScoringState.objects.get(lead=lead)
    assert 0 < len(kept.facts) < Activity.objects.filter(lead=lead).count()  # old activity is left out

    # when more activity arrives in rounds and each round is scored on the kept state
    for round_ in range(3):
        now = start + timedelta(days=125 + 8 * round_)
        _visits(lead, start, range(121 + 8 * round_, 126 + 8 * round_), now)
        leads_rescore(lead_ids=[lead.pk], now=now)
        incremental = _judged(lead.pk)

        # then the judgement is the one a scoring of the whole history gives, evidence and all
        ScoringState.objects.filter(lead=lead).delete()
        leads_rescore(lead_ids=[lead.pk], now=now)
        assert _judged(lead.pk) == incremental


def test_activity_older_than_the_kept_state_is_not_missed(agreement, make_lead):
    # given a lead scored on recent page views
    now = timezone.now()
    lead = make_lead(now=now - timedelta(days=10), employees=250, job_title="Analyst")
    _visits(lead, now - timedelta(days=10), range(0, 10, 2), now)
    leads_rescore(lead_ids=[lead.pk], now=now)

    # when a late event, dated before the latest activity, arrives (a device that was offline) and it is scored
    activities_record(
        lead=lead,
        activities=[ActivityData(type="demo_request", occurred_at=now - timedelta(days=3), properties={})],
        now=now,
    )
    leads_rescore(lead_ids=[lead.pk], now=now + timedelta(minutes=1))

    # then it counts: the demo request makes the lead a hot MQL
    assert Lead.objects.get(pk=lead.pk).tier == "hot"


def test_a_merge_brings_the_merged_leads_older_activity_into_the_next_scoring(agreement, make_lead):
    # given two records of one person: one with a demo request an hour ago, the other scored on a few page views
    now = timezone.now()
    merged = make_lead(now=now - timedelta(days=3), employees=250, job_title="Analyst")
    activities_record(
        lead=merged,
        activities=[ActivityData(type="demo_request", occurred_at=now - timedelta(hours=1), properties={})],
        now=now,
    )
    keep = make_lead(now=now - timedelta(days=5), employees=250, job_title="Analyst")
    _visits(keep, now - timedelta(days=5), range(0, 5, 2), now)
    leads_rescore(lead_ids=[keep.pk], now=now)

    # when they are merged and the kept lead is scored again
    lead_merge(keep=keep, merge=merged, now=now, reason="same person")
    leads_rescore(lead_ids=[keep.pk], now=now + timedelta(minutes=1))

    # then the demo request it brought counts
    assert Lead.objects.get(pk=keep.pk).tier == "hot"
