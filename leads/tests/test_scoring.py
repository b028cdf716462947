"""Scoring leads against the active agreement: states, tiers, SLA clocks, notifications, ageing, activation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from leads.models import Lead, LeadEvent, RescoreJob, State, Tier
from leads.scoring import leads_rescore
from leads.services import ActivityData, activities_record, leads_rescore_aged
from sla.models import Status
from sla.services import agreement_change, agreement_draft_create, agreement_propose, agreement_sign

pytestmark = pytest.mark.django_db

# A Tuesday at 10:00 in London (the starter calendar: Mon–Fri 09:00–17:30 Europe/London).
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def pricing(at):
    return ("page", at, {"path": "/pricing"})


def test_a_busy_lead_in_target_becomes_a_warm_mql_with_business_time_deadlines(agreement, make_lead):
    # given a director at a 40-person software company who read pricing, two case studies and a webinar
    lead = make_lead(
        now=NOW, seniority="director", industry="software", employees=40,
        activities=[
            ("page", NOW - timedelta(days=3), {"path": "/pricing"}),
            ("download", NOW - timedelta(days=5), {"asset": "Case study: Acme"}),
            ("download", NOW - timedelta(days=6), {"asset": "Case study: Globex"}),
            ("webinar", NOW - timedelta(days=8), {"name": "Q1 launch"}),
        ],
    )  # fmt: skip
    # when scored
    result = leads_rescore(lead_ids=[lead.pk], now=NOW)
    # then 20 (director) + 15 (software) + 15 + 20 + 10 = 80 ≥ 50: a warm MQL, claim due 240 business minutes later
    lead.refresh_from_db()
    assert (lead.score, lead.fit_score, lead.engagement_score) == (80, 35, 45)
    assert lead.state == State.MQL and lead.tier == Tier.WARM
    assert lead.mql_at == NOW and result.became_mql == [lead.pk]
    assert lead.claim_due_at == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    assert lead.scored_with == agreement
    assert {hit["name"] for hit in lead.breakdown["breakdown"]} >= {"Decision maker", "Pricing page view"}
    event = LeadEvent.objects.get(lead=lead)
    assert (event.from_value, event.to_value, event.reason) == ("new", "mql", "score 80")


def test_a_demo_request_makes_a_lead_hot_at_once_and_notifies_sales(
    agreement, make_lead, rep, webhook, django_capture_on_commit_callbacks
):
    # given a small-score lead that passes the gates
    lead = make_lead(now=NOW, employees=20, activities=[("demo_request", NOW - timedelta(minutes=3), {})])
    # when scored (notifications leave after commit)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        leads_rescore(lead_ids=[lead.pk], now=NOW)
    # after commit: feedback opens the cycle, the hot notice is written (outside the scoring transaction) and its
    # 5 messages (2 people x 2 channels, chat) are queued as one delivery job
    assert len(callbacks) == 3
    # then it is a hot MQL whose claim clock is 5 business minutes
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.tier == Tier.HOT
    assert lead.score < 50
    assert lead.claim_due_at == NOW + timedelta(minutes=5)
    # and the rep and the sales manager were each e-mailed once and the webhook told, with the reason
    assert sorted(message.to[0] for message in mail.outbox) == sorted([rep.email, "salesmanager@example.com"])
    assert "requested a demo" in mail.outbox[0].body
    assert len(webhook) == 1 and "requested a demo" in webhook[0]["text"]


def test_a_lead_outside_the_gates_never_floods_the_queue(agreement, make_lead):
    # given a 3-person company whose visitor requested a demo and read everything
    lead = make_lead(
        now=NOW, employees=3, seniority="c-level",
        activities=[("demo_request", NOW, {})] + [pricing(NOW - timedelta(hours=h)) for h in range(1, 5)],
    )  # fmt: skip
    # when scored
    leads_rescore(lead_ids=[lead.pk], now=NOW)
    # then it stays new, and the page can say which gate it failed
    lead.refresh_from_db()
    assert lead.state == State.NEW and lead.tier == ""
    assert [gate["text"] for gate in lead.breakdown["failed_gates"]] == ["employees ≥ 10 (is 3)"]


def test_a_warm_unclaimed_mql_that_fires_a_trigger_becomes_hot_with_a_sooner_clock(agreement, make_lead):
    # given a warm MQL nobody has claimed
    lead = make_lead(
        now=NOW, seniority="vp", industry="software", employees=500,
        activities=[("webinar", NOW - timedelta(days=1), {})],
    )  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=NOW)
    lead.refresh_from_db()
    assert lead.tier == Tier.WARM
    # when they request a demo an hour later
    later = NOW + timedelta(hours=1)
    activities_record(lead=lead, activities=[ActivityData("demo_request", later, {})], now=later)
    leads_rescore(lead_ids=[lead.pk], now=later)
    # then the lead is hot and must be claimed within 5 business minutes of the trigger
    lead.refresh_from_db()
    assert lead.tier == Tier.HOT
    assert lead.claim_due_at == later + timedelta(minutes=5)
    assert list(lead.events.values_list("kind", "to_value")) == [("state", "mql"), ("tier", "hot")]


def test_an_mql_already_claimed_is_not_moved_by_rescoring(agreement, make_lead, rep):
    # given an MQL a rep owns
    lead = make_lead(now=NOW, employees=20, activities=[("demo_request", NOW, {})])
    leads_rescore(lead_ids=[lead.pk], now=NOW)
    Lead.objects.filter(pk=lead.pk).update(owner=rep, state=State.SAL)
    # when it is rescored much later, after everything aged out
    leads_rescore(lead_ids=[lead.pk], now=NOW + timedelta(days=200))
    # then its state and owner stay; only the score changes
    lead.refresh_from_db()
    assert (lead.state, lead.owner) == (State.SAL, rep)
    assert lead.score == 0 - 20  # the inactivity penalty


def test_without_an_agreement_nothing_is_scored(make_lead):
    lead = make_lead(now=NOW, employees=500, activities=[("demo_request", NOW, {})])
    result = leads_rescore(lead_ids=[lead.pk], now=NOW)
    lead.refresh_from_db()
    assert result.scored == 0 and lead.state == State.NEW and lead.scored_with is None
    assert lead.last_activity_at == NOW


def test_ageing_rescores_only_the_leads_whose_score_changes_with_time(agreement, make_lead):
    # given a lead whose pricing view counts for 30 days, and a lead with no activity at all
    ageing = make_lead(now=NOW, employees=20, activities=[pricing(NOW - timedelta(days=29))])
    quiet = make_lead(now=NOW, employees=20)
    leads_rescore(lead_ids=[ageing.pk, quiet.pk], now=NOW)
    ageing.refresh_from_db()
    quiet.refresh_from_db()
    assert ageing.score == 15 + 3 * 0 and ageing.rescore_at == NOW + timedelta(days=1)
    assert quiet.rescore_at is None
    # when the periodic task runs two days later
    done = leads_rescore_aged(now=NOW + timedelta(days=2))
    # then only the ageing lead was rescored, and its pricing view no longer counts
    ageing.refresh_from_db()
    assert done == 1
    assert ageing.score == 0
    assert "Pricing page view" in [hit["name"] for hit in ageing.breakdown["aged_out"]]


def test_activation_rescores_every_open_lead_in_a_job_with_progress(
    agreement, make_lead, marketer, marketing_manager, sales_manager, django_capture_on_commit_callbacks
):
    # given leads scored under v1, one of them at 45 points (below the threshold of 50)
    now = timezone.now()  # the job rescores at the real current time
    near = make_lead(now=now, seniority="director", industry="software", employees=40,
                     activities=[("download", now - timedelta(days=1), {"asset": "case study"})])  # fmt: skip
    others = [make_lead(now=now, employees=20) for _ in range(3)]
    leads_rescore(lead_ids=[near.pk] + [lead.pk for lead in others], now=now)
    near.refresh_from_db()
    assert near.score == 45 and near.state == State.NEW
    # when v2 lowers the threshold to 40 and both managers sign it
    draft = agreement_draft_create(user=marketer, now=timezone.now())

    def lower(content):
        content["mql"]["threshold"] = 40
        return content

    agreement_change(version_id=draft.pk, user=marketer, change=lower, now=timezone.now())
    agreement_propose(version_id=draft.pk, user=marketer, now=timezone.now())
    agreement_sign(version_id=draft.pk, user=marketing_manager, now=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        agreement_sign(version_id=draft.pk, user=sales_manager, now=timezone.now())
    # then a rescoring job ran over all four open leads and the near one is now an MQL under v2
    draft.refresh_from_db()
    assert draft.status == Status.ACTIVE
    job = RescoreJob.objects.get(agreement=draft)
    assert (job.status, job.total, job.done, job.percent) == ("done", 4, 4, 100)
    assert job.changed == 1
    near.refresh_from_db()
    assert near.state == State.MQL and near.scored_with == draft


def test_the_agreement_page_shows_the_rescoring_progress(agreement, make_lead, rep, login):
    # given a rescoring run half way through
    job = RescoreJob.objects.create(agreement=agreement, reason="test", total=10, done=5, status="running",
                                    created_at=timezone.now())  # fmt: skip
    client = login(rep)
    # when the agreement page loads its status panel
    page = client.get("/agreement/").content.decode()
    panel = client.get(f"/leads/rescoring/?version={agreement.pk}", headers={"HX-Request": "true"})
    # then the panel says how far it got and keeps polling
    assert f"/leads/rescoring/?version={agreement.pk}" in page
    assert "5 of 10" in panel.content.decode() and 'hx-trigger="every 1s"' in panel.content.decode()
    # when it is done, then it says so and stops polling
    RescoreJob.objects.filter(pk=job.pk).update(status="done", done=10, changed=3)
    done = client.get(f"/leads/rescoring/?version={agreement.pk}").content.decode()
    assert "All 10 open leads were rescored" in done and "every 1s" not in done


def test_a_recycled_lead_qualifies_again_only_on_what_it_did_since(agreement, make_lead, rep):
    # given a hot lead sales handed back an hour after its demo request
    lead = make_lead(now=NOW, employees=20, activities=[("demo_request", NOW, {})])
    leads_rescore(lead_ids=[lead.pk], now=NOW)
    handed_back = NOW + timedelta(hours=1)
    Lead.objects.filter(pk=lead.pk).update(state=State.RECYCLED, decided_at=handed_back, owner=None)
    # when it merely opens an e-mail the next day (the old demo request still within its 7 days)
    next_day = NOW + timedelta(days=1)
    activities_record(lead=lead, activities=[ActivityData("email_open", next_day, {})], now=next_day)
    leads_rescore(lead_ids=[lead.pk], now=next_day)
    # then it stays with marketing
    lead.refresh_from_db()
    assert lead.state == State.RECYCLED
    # when it requests a demo again
    later = NOW + timedelta(days=2)
    activities_record(lead=lead, activities=[ActivityData("demo_request", later, {})], now=later)
    leads_rescore(lead_ids=[lead.pk], now=later)
    # then it is handed to sales again, as a new hot MQL
    lead.refresh_from_db()
    assert (lead.state, lead.tier, lead.mql_at) == (State.MQL, Tier.HOT, later)
