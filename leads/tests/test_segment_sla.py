"""Each lead keeps the SLA of its own segment's agreement in force: its deadlines, warnings, breach actions,
escalation, and business calendar (Enterprise Japan counts in Tokyo's working hours, the default in London's)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from alignment.roles import Role
from leads.exceptions import LeadError
from leads.lifecycle.services import lead_pause
from leads.models import Lead, SlaBreach, SlaWarning, State
from leads.queue import lead_claim, sla_breaches_scan
from leads.scoring import leads_rescore
from leads.signals import sla_breaches_found
from sla.models import Segment, Side
from sla.services import agreement_change, agreement_draft_create, agreement_propose, agreement_sign
from sla.tests.segment_factory import japan_segment_create

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday: 10:00 in London (open), 19:00 in Tokyo (closed)
TOKYO_OPENS = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)  # Wednesday 09:00 in Tokyo

TOKYO = {"time_zone": "Asia/Tokyo", "workdays": [0, 1, 2, 3, 4], "opens": "09:00", "closes": "18:00",
         "country": "JP", "closed_dates": []}  # fmt: skip


def sign(draft: Any, marketing_manager: Any, sales_manager: Any, **terms: Any) -> None:
    def change(content: dict[str, Any]) -> dict[str, Any]:
        for key, value in terms.items():
            if key in ("claim_minutes", "first_contact_minutes"):
                content["terms"]["tiers"]["hot"][key] = value
            else:
                content["terms"][key] = value
        return content

    agreement_change(version_id=draft.pk, user=marketing_manager, change=change, now=START)
    agreement_propose(version_id=draft.pk, user=marketing_manager, now=START)
    agreement_sign(version_id=draft.pk, user=marketing_manager, now=START, side=Side.MARKETING)
    agreement_sign(version_id=draft.pk, user=sales_manager, now=START, side=Side.SALES)


@pytest.fixture
def two_segments(agreement, marketing_manager, sales_manager) -> Segment:
    """The default segment: London calendar, warn 3 min ahead, return to the queue, ladder, managers told.
    Enterprise Japan: Tokyo calendar, claim in 30 and first contact in 60 business minutes, warn 20 min
    ahead, no action on a breach, no ladder, managers not told, no pausing."""
    default = agreement_draft_create(user=marketing_manager, now=START)
    sign(default, marketing_manager, sales_manager, warn_before_minutes=3, on_breach="return_to_queue",
         notify_manager=True, escalation=[{"after_minutes": 0, "action": "notify_owner"}],
         pause_on_customer=True)  # fmt: skip
    japan = japan_segment_create()
    draft = agreement_draft_create(user=marketing_manager, now=START, segment=japan)
    sign(draft, marketing_manager, sales_manager, calendar=TOKYO, claim_minutes=30, first_contact_minutes=60,
         warn_before_minutes=20, on_breach="none", notify_manager=False, escalation=[],
         pause_on_customer=False)  # fmt: skip
    return japan


def hot_lead(make_lead: Any, **fields: Any) -> Lead:
    lead = make_lead(now=START, company="Acme", job_title="Head of Ops",
                     activities=[("demo_request", START, {})], **fields)  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=START)
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.tier == "hot"
    return lead


@pytest.fixture
def leads(two_segments: Segment, make_lead: Any) -> tuple[Lead, Lead]:
    uk = hot_lead(make_lead, country="UK", employees=40)
    japanese = hot_lead(make_lead, country="Japan", employees=900)
    assert japanese.segment == two_segments and uk.segment.is_default
    return uk, japanese


@pytest.fixture
def breaches_heard() -> Iterator[list[dict[str, Any]]]:
    heard: list[dict[str, Any]] = []

    def on_found(sender: Any, **kwargs: Any) -> None:
        heard.append(kwargs)

    sla_breaches_found.connect(on_found)
    yield heard
    sla_breaches_found.disconnect(on_found)


def test_each_lead_gets_its_own_segments_deadlines_in_its_own_calendar(leads):
    uk, japanese = leads
    # London is open: 5 business minutes; Tokyo is closed until 09:00 there, then 30 business minutes
    assert uk.claim_due_at == START + timedelta(minutes=5)
    assert japanese.claim_due_at == TOKYO_OPENS + timedelta(minutes=30)
    assert japanese.first_contact_due_at == TOKYO_OPENS + timedelta(minutes=60)


def test_each_lead_is_warned_by_its_own_segments_warn_before(leads):
    uk, japanese = leads
    # the UK lead is warned 3 minutes ahead, not 20 (Japan's window), not 4
    assert sla_breaches_scan(now=uk.claim_due_at - timedelta(minutes=4)).warnings == []
    warned = sla_breaches_scan(now=uk.claim_due_at - timedelta(minutes=3)).warnings
    assert [w.lead_id for w in _warnings(warned)] == [uk.pk]
    # the Japanese lead: not 25 minutes ahead (London is closed then, so London's 3 business minutes would
    # reach past it), then 15 minutes ahead, inside its own 20 Tokyo business minutes
    assert sla_breaches_scan(now=japanese.claim_due_at - timedelta(minutes=25)).warnings == []
    warned = sla_breaches_scan(now=japanese.claim_due_at - timedelta(minutes=15)).warnings
    assert [(w.lead_id, w.clock) for w in _warnings(warned)] == [(japanese.pk, "claim")]


def test_each_lead_is_breached_and_escalated_by_its_own_segments_terms(leads, rep, breaches_heard):
    uk, japanese = leads
    for lead in (uk, japanese):
        lead_claim(lead_id=lead.pk, rep=rep, now=START + timedelta(minutes=1))
    # when the UK lead's first-contact deadline passes: it is breached and returned to the queue, the owner's
    # ladder starts and the managers are told; the Japanese lead (due in Tokyo's morning) is not breached
    first = sla_breaches_scan(now=START + timedelta(minutes=16))
    uk_breach = SlaBreach.objects.get(pk__in=first.breaches, clock="first_contact")
    assert uk_breach.lead_id == uk.pk and uk_breach.action == SlaBreach.Action.RETURNED
    assert first.steps == [(uk_breach.pk, 1)]
    assert not SlaBreach.objects.filter(lead=japanese, clock="first_contact").exists()
    # when the Japanese lead's deadline passes: breached by its own terms (no action, no ladder, no managers)
    later = TOKYO_OPENS + timedelta(minutes=61)
    second = sla_breaches_scan(now=later)
    jp_breach = SlaBreach.objects.get(pk__in=second.breaches, lead=japanese, clock="first_contact")
    assert jp_breach.action == SlaBreach.Action.NONE and jp_breach.next_step_at is None
    assert jp_breach.pk not in {breach_id for breach_id, _ in second.steps}
    japanese.refresh_from_db()
    assert japanese.owner == rep
    told = {pk: heard["notify_manager"] for heard in breaches_heard for pk in heard["breach_ids"]}
    assert told[uk_breach.pk] is True and told[jp_breach.pk] is False


def test_pausing_follows_the_leads_own_segments_agreement(leads, rep):
    uk, japanese = leads
    for lead in (uk, japanese):
        lead_claim(lead_id=lead.pk, rep=rep, now=START + timedelta(minutes=1))
    assert lead_pause(lead_id=uk.pk, actor=rep, now=START + timedelta(minutes=2)).paused_at is not None
    with pytest.raises(LeadError, match="does not allow pausing"):
        lead_pause(lead_id=japanese.pk, actor=rep, now=START + timedelta(minutes=2))


def _warnings(ids: list[int]) -> list[Any]:
    return list(SlaWarning.objects.filter(pk__in=ids).order_by("pk"))


def test_my_day_shows_only_the_leads_of_the_users_segments(leads, two_segments, make_user, login):
    uk, japanese = leads
    # given a Japan rep who owns the Japanese lead and, from before it changed segment, the UK one
    japan_rep = make_user(Role.REP, username="suzuki")
    two_segments.members.add(japan_rep)
    Lead.objects.filter(pk__in=[uk.pk, japanese.pk]).update(owner=japan_rep, claimed_at=START)
    # when they open My Day, then only the Japanese lead is on it
    page = login(japan_rep).get(reverse("leads:my_day")).content.decode()
    assert japanese.get_absolute_url() in page and uk.get_absolute_url() not in page
