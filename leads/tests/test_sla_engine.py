"""The SLA engine's terms, each as a rep or manager would notice it: a warning before a breach, the escalation
ladder, the status-update clock, the minimum contact attempts before a reject, and pausing while the lead waits
on the customer. The engine announces through leads.signals; these tests listen there (delivery is not its job)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from alignment.roles import Role
from feedback import services as outcomes
from feedback.exceptions import OutcomeRefused
from feedback.models import Reason
from feedback.reasons import ensure_default_reasons
from leads.exceptions import LeadError
from leads.lifecycle.services import lead_pause, lead_resume
from leads.models import Lead, SlaBreach, SlaWarning, State
from leads.queue import lead_claim, sla_breaches_scan
from leads.scoring import leads_rescore
from leads.services import ActivityData, LeadData, activities_record, lead_upsert
from leads.signals import lead_owner_set, sla_escalated, sla_warnings_found
from sla.services import agreement_change, agreement_draft_create, agreement_propose, agreement_sign

pytestmark = pytest.mark.django_db

# A Tuesday, 10:00 in London (GMT in March): inside the starter calendar's working hours.
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
_emails = itertools.count(1)


@pytest.fixture
def terms(agreement, marketer, marketing_manager, sales_manager) -> Callable[..., None]:
    """Put a new version in force whose terms differ from the starter's by `changes` (signed by both sides)."""

    def sign(**changes: Any) -> None:
        draft = agreement_draft_create(user=marketer, now=timezone.now())

        def change(content: dict[str, Any]) -> dict[str, Any]:
            content["terms"].update(changes)
            return content

        agreement_change(version_id=draft.pk, user=marketer, change=change, now=timezone.now())
        agreement_propose(version_id=draft.pk, user=marketer, now=timezone.now())
        agreement_sign(version_id=draft.pk, user=marketing_manager, now=timezone.now())
        agreement_sign(version_id=draft.pk, user=sales_manager, now=timezone.now())

    return sign


@pytest.fixture
def heard() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """What the engine announced, per signal, in order."""
    calls: dict[str, list[dict[str, Any]]] = {"warnings": [], "escalated": [], "owner": []}

    def on_warnings(sender: Any, **kwargs: Any) -> None:
        calls["warnings"].append(kwargs)

    def on_escalated(sender: Any, **kwargs: Any) -> None:
        calls["escalated"] += kwargs["steps"]

    def on_owner(sender: Any, **kwargs: Any) -> None:
        calls["owner"].append(kwargs)

    sla_warnings_found.connect(on_warnings)
    sla_escalated.connect(on_escalated)
    lead_owner_set.connect(on_owner)
    yield calls
    sla_warnings_found.disconnect(on_warnings)
    sla_escalated.disconnect(on_escalated)
    lead_owner_set.disconnect(on_owner)


def hot_mql(*, now: datetime = START, owner: Any = None) -> Lead:
    """A lead that requested a demo: a hot MQL at `now` (claim in 5 business minutes), claimed by `owner`."""
    fields = {"employees": 20, "company": "Acme", "job_title": "Head of Ops"}
    lead, _ = lead_upsert(data=LeadData(email=f"engine{next(_emails)}@acme.example", fields=fields), now=now)
    activities_record(
        lead=lead, activities=[ActivityData(type="demo_request", occurred_at=now, properties={})], now=now
    )
    leads_rescore(lead_ids=[lead.pk], now=now)
    if owner is not None:
        lead_claim(lead_id=lead.pk, rep=owner, now=now + timedelta(minutes=1))
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.tier == "hot"
    return lead


# --- warning before a breach -------------------------------------------------------------------------------------


def test_a_warning_fires_once_before_the_deadline_and_the_breach_follows(terms, heard):
    # given terms that warn 3 business minutes ahead, and a hot MQL whose claim is due in 5
    terms(warn_before_minutes=3, escalation=[])
    lead = hot_mql()
    due = lead.claim_due_at
    assert due == START + timedelta(minutes=5)
    # when the scan runs before the warning window, twice inside it, and after the deadline
    early = sla_breaches_scan(now=due - timedelta(minutes=4))
    first = sla_breaches_scan(now=due - timedelta(minutes=2))
    second = sla_breaches_scan(now=due - timedelta(minutes=1))
    late = sla_breaches_scan(now=due + timedelta(minutes=1))
    # then nothing early, exactly one warning (announced with the lead, clock and deadline), then the breach
    assert early.warnings == [] and early.breaches == []
    assert len(first.warnings) == 1 and first.breaches == []
    assert second.warnings == [] and second.breaches == []
    assert late.warnings == [] and len(late.breaches) == 1
    assert heard["warnings"] == [{"warnings": [(lead.pk, "claim", due)], "signal": sla_warnings_found}]
    assert list(SlaWarning.objects.values_list("lead_id", "clock", "deadline")) == [(lead.pk, "claim", due)]


def test_no_warning_when_the_terms_ask_for_none(terms, heard):
    # given terms without warnings
    terms(warn_before_minutes=0, escalation=[])
    lead = hot_mql()
    # when the scan runs a minute before the deadline
    result = sla_breaches_scan(now=lead.claim_due_at - timedelta(minutes=1))
    # then nobody is warned
    assert result.warnings == [] and heard["warnings"] == [] and not SlaWarning.objects.exists()


# --- the escalation ladder -----------------------------------------------------------------------------------------


def test_ladder_steps_fire_in_order_once_each(terms, heard, rep, make_user, admin_user_role):
    # given a ladder (tell the owner at once, reassign after 30 min, the manager's manager after 60) with no
    # on-breach action, and a claimed lead whose first contact (15 business minutes) is missed
    terms(
        on_breach="none",
        escalation=[
            {"after_minutes": 0, "action": "notify_owner"},
            {"after_minutes": 30, "action": "reassign"},
            {"after_minutes": 60, "action": "notify_managers_manager"},
        ],
    )
    other = make_user(Role.REP, username="other-rep")
    lead = hot_mql(owner=rep)
    found_at = lead.first_contact_due_at + timedelta(minutes=1)
    heard["owner"].clear()
    # when the scan runs at the breach and then every 10 minutes for two hours
    steps = []
    for minutes in range(0, 121, 10):
        steps += sla_breaches_scan(now=found_at + timedelta(minutes=minutes)).steps
    # then each step fired once, in order, at its time
    breach = SlaBreach.objects.get(lead=lead, clock="first_contact")
    assert steps == [(breach.pk, 1), (breach.pk, 2), (breach.pk, 3)]
    assert [(call["step"], call["clock_name"], call["at"]) for call in heard["escalated"]] == [
        (1, "first_contact", found_at),
        (2, "first_contact", found_at + timedelta(minutes=30)),
        (3, "first_contact", found_at + timedelta(minutes=60)),
    ]
    # step 1 told the owner, step 2 gave the lead to the other rep (who is told), step 3 the head above managers
    assert [call["recipient_ids"] for call in heard["escalated"]] == [
        [rep.pk],
        [other.pk],
        [admin_user_role.pk],
    ]
    lead.refresh_from_db()
    assert lead.owner == other
    assert [(call["lead_id"], call["owner_id"]) for call in heard["owner"]] == [(lead.pk, other.pk)]
    breach.refresh_from_db()
    assert (breach.steps_fired, breach.next_step_at, breach.action, breach.new_owner) == (
        3,
        None,
        "reassign",
        other,
    )


def test_the_ladder_stops_once_the_work_is_done(terms, heard, rep):
    # given the same kind of ladder and a missed first contact
    terms(
        on_breach="none",
        escalation=[
            {"after_minutes": 0, "action": "notify_owner"},
            {"after_minutes": 30, "action": "notify_managers_manager"},
        ],
    )
    lead = hot_mql(owner=rep)
    found_at = lead.first_contact_due_at + timedelta(minutes=1)
    sla_breaches_scan(now=found_at)
    # when the rep calls before the second step
    outcomes.contact_log(
        lead_id=lead.pk,
        user=rep,
        channel="call",
        connected=False,
        note="",
        now=found_at + timedelta(minutes=5),
    )
    later = sla_breaches_scan(now=found_at + timedelta(minutes=45))
    # then only the first step fired and the ladder is closed
    assert [call["step"] for call in heard["escalated"]] == [1] and later.steps == []
    assert SlaBreach.objects.get(lead=lead).next_step_at is None


def test_a_scan_takes_as_many_queries_for_many_breaches_as_for_two_and_writes_each_once(
    terms, sales_manager, admin_user_role, monkeypatch
):
    # given a ladder whose first step tells the head above the managers at once, the managers told of each
    # breach, and
    # breaches written through COPY on PostgreSQL however few (the bulk insert on SQLite)
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from alignment import copywrite
    from alignment.models import OutboxMessage

    monkeypatch.setattr(copywrite, "COPY_FROM_ROWS", 1)
    terms(on_breach="none", escalation=[{"after_minutes": 0, "action": "notify_managers_manager"}])
    leads = [hot_mql() for _ in range(2)]
    found_at = leads[0].claim_due_at + timedelta(minutes=1)

    class Undone(Exception):
        pass

    def queries() -> int:
        """The queries of one scan at `found_at`, undone afterwards."""
        with CaptureQueriesContext(connection) as captured:
            try:
                with transaction.atomic():
                    sla_breaches_scan(now=found_at)
                    raise Undone
            except Undone:
                pass
        return len(captured)

    # when the scan runs over two late leads, and over twelve
    few = queries()
    leads += [hot_mql() for _ in range(10)]
    assert queries() == few
    # then, for real, each missed claim is one breach, told once to the managers in words naming the lead,
    # its first ladder step fired once (the head told)
    result = sla_breaches_scan(now=found_at)
    again = sla_breaches_scan(now=found_at)
    breaches = {b.lead_id: b for b in SlaBreach.objects.filter(clock="claim")}
    assert set(breaches) == {lead.pk for lead in leads} and sorted(result.breaches) == sorted(
        b.pk for b in breaches.values()
    )
    assert sorted(result.steps) == sorted((b.pk, 1) for b in breaches.values())
    assert again.breaches == [] and again.steps == []
    told = OutboxMessage.objects.filter(event="sla.breached", channel="inapp")
    for lead in leads:
        breach = breaches[lead.pk]
        messages = told.filter(key__startswith=f"sla.breached:{breach.pk}:")
        assert str(sales_manager.pk) in {m.recipient for m in messages}
        assert {m.payload["text"] for m in messages} == {
            f"SLA breach: the claim deadline was missed by 1 min on {lead.email}."
        }
    heads = OutboxMessage.objects.filter(event="sla.escalated", channel="inapp")
    assert sorted(heads.values_list("recipient", flat=True)) == [str(admin_user_role.pk)] * 12


# --- the status-update clock ---------------------------------------------------------------------------------------


def accepted(lead: Lead, rep: Any) -> Lead:
    at = lead.mql_at + timedelta(minutes=10)
    outcomes.contact_log(lead_id=lead.pk, user=rep, channel="call", connected=True, note="", now=at)
    outcomes.lead_accept(lead_id=lead.pk, user=rep, now=at + timedelta(minutes=1))
    lead.refresh_from_db()
    return lead


def test_no_status_update_within_the_agreed_days_is_a_breach(agreement, rep):
    # given an accepted hot lead (status update every 7 business days by the starter terms)
    lead = accepted(hot_mql(owner=rep), rep)
    due = lead.status_update_due_at
    assert due is not None and due > lead.decided_at + timedelta(days=7)  # 7 business days span a weekend
    # when nobody reports on it and the scan runs after that deadline
    result = sla_breaches_scan(now=due + timedelta(minutes=1))
    # then the status-update term is breached, for its owner
    breach = SlaBreach.objects.get(clock="status_update")
    assert result.breaches == [breach.pk] and (breach.lead_id, breach.deadline, breach.owner) == (
        lead.pk,
        due,
        rep,
    )


def test_a_contact_logged_is_a_status_update_and_restarts_the_clock(agreement, rep):
    # given an accepted lead and its status-update deadline
    lead = accepted(hot_mql(owner=rep), rep)
    first_due = lead.status_update_due_at
    # when the rep logs a call the day before that deadline
    outcomes.contact_log(
        lead_id=lead.pk,
        user=rep,
        channel="email",
        connected=False,
        note="",
        now=first_due - timedelta(days=1),
    )
    lead.refresh_from_db()
    # then the deadline moved on, and the scan at the old deadline finds nothing
    assert lead.status_update_due_at > first_due
    assert sla_breaches_scan(now=first_due + timedelta(minutes=1)).breaches == []


# --- minimum contact attempts before a reject -------------------------------------------------------------------


def test_reject_is_refused_below_the_agreed_contact_attempts(terms, rep):
    # given terms asking for 2 contact attempts before a reject, and a lead called once
    terms(min_contact_attempts=2)
    ensure_default_reasons()
    reason = Reason.objects.get(kind="rejection", code="too_early")
    lead = hot_mql(owner=rep)
    outcomes.contact_log(
        lead_id=lead.pk, user=rep, channel="call", connected=False, note="", now=START + timedelta(minutes=5)
    )
    # when the rep tries to reject it
    with pytest.raises(OutcomeRefused) as refused:
        outcomes.lead_reject(
            lead_id=lead.pk, user=rep, reason=reason, comment="", now=START + timedelta(minutes=6)
        )
    # then they are told why, and the lead is still theirs
    assert str(refused.value) == (
        "The agreement asks for at least 2 contact attempts before a lead is rejected; 1 logged so far. "
        "Log 1 more before rejecting."
    )
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.owner == rep
    # and after a second attempt the reject goes through
    outcomes.contact_log(
        lead_id=lead.pk, user=rep, channel="email", connected=False, note="", now=START + timedelta(minutes=7)
    )
    outcomes.lead_reject(
        lead_id=lead.pk, user=rep, reason=reason, comment="", now=START + timedelta(minutes=8)
    )
    lead.refresh_from_db()
    assert lead.state == State.RECYCLED


# --- waiting on the customer -------------------------------------------------------------------------------------


def test_pausing_stops_the_clocks_and_resuming_shifts_every_deadline(terms, rep):
    # given terms that allow pausing, and a claimed lead with its deadlines
    terms(pause_on_customer=True, escalation=[])
    lead = hot_mql(owner=rep)
    before = (lead.first_contact_due_at, lead.accept_due_at, lead.outcome_due_at)
    # when the rep says it waits on the customer for three hours, across the first-contact deadline
    lead_pause(lead_id=lead.pk, actor=rep, now=START + timedelta(minutes=2))
    paused_scan = sla_breaches_scan(now=START + timedelta(hours=2))
    lead_resume(lead_id=lead.pk, actor=rep, now=START + timedelta(hours=3, minutes=2))
    # then nothing was breached while paused, and every deadline moved by exactly the wait
    assert paused_scan.breaches == []
    lead.refresh_from_db()
    assert (lead.first_contact_due_at, lead.accept_due_at, lead.outcome_due_at) == tuple(
        due + timedelta(hours=3) for due in before
    )
    assert lead.paused_at is None and lead.sla_due_at == before[0] + timedelta(hours=3)
    # and the history says so
    assert lead.events.filter(reason__startswith="customer answered").exists()


def test_pausing_is_refused_when_the_agreement_does_not_allow_it(terms, rep):
    # given terms that do not allow pausing
    terms(pause_on_customer=False)
    lead = hot_mql(owner=rep)
    # when the rep tries to pause
    with pytest.raises(LeadError, match="does not allow pausing"):
        lead_pause(lead_id=lead.pk, actor=rep, now=START + timedelta(minutes=2))
    # then the clocks still run
    lead.refresh_from_db()
    assert lead.paused_at is None and lead.sla_clock == "first_contact"


# --- the lead page's waiting-on-customer action -------------------------------------------------------------------


def test_the_owner_pauses_and_resumes_from_the_lead_page(terms, rep, make_user, login):
    # given terms that allow pausing and a lead the rep owns
    terms(pause_on_customer=True, escalation=[])
    lead = hot_mql(now=timezone.now() - timedelta(minutes=1), owner=rep)
    page = login(rep).get(lead.get_absolute_url()).content.decode()
    assert "Waiting on customer (pause clocks)" in page
    # when the rep marks it waiting on the customer
    client = login(rep)
    response = client.post(reverse("leads:pause", args=[lead.pk]), follow=True)
    # then the page says the clocks are paused and offers to resume
    body = response.content.decode()
    assert "Waiting on the customer: clocks paused." in body and "Customer answered: resume clocks" in body
    lead.refresh_from_db()
    assert lead.paused_at is not None and lead.sla_clock == ""
    # and another rep may not resume it
    other = make_user(Role.REP, username="not-owner")
    refused = login(other).post(reverse("leads:resume", args=[lead.pk]), follow=True).content.decode()
    assert "owner or a sales manager can do this" in refused
    lead.refresh_from_db()
    assert lead.paused_at is not None
    # and the owner resumes it
    client.post(reverse("leads:resume", args=[lead.pk]))
    lead.refresh_from_db()
    assert lead.paused_at is None and lead.sla_clock == "first_contact"
