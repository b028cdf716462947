"""What reps record on a lead (feedback/services.py): every step, every refusal, the clocks, the audit trail,
the frozen hand-off, reopening in a new cycle, the outcome deadline and the concurrency guard."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from alignment.audit import audit_for
from alignment.roles import Role
from feedback import services
from feedback.exceptions import OutcomeRefused
from feedback.models import ContactAttempt, Cycle, Reason
from feedback.reasons import ensure_default_reasons
from leads.exceptions import LeadError
from leads.lifecycle.rules import Action
from leads.lifecycle.services import lead_progress
from leads.models import Lead, LeadEvent, SlaBreach, State
from leads.queue import lead_claim, sla_breaches_scan
from leads.scoring import leads_rescore
from leads.services import ActivityData, LeadData, activities_record, lead_upsert
from sla.services import (
    agreement_change,
    agreement_draft_create,
    agreement_ensure_starter,
    agreement_propose,
    agreement_sign,
)

pytestmark = pytest.mark.django_db

# A Tuesday, 10:00 in London (GMT in March): inside the starter calendar's working hours.
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
BANT_OK = {
    "need": {"met": True, "note": "Spreadsheets break at month end"},
    "authority": {"met": True, "note": "Head of sales ops signs"},
    "timeframe": {"met": True, "note": "Q2"},
}
_emails = itertools.count(1)


@pytest.fixture
def agreement(marketing_manager, sales_manager):
    """The starter agreement in force: demo request makes a hot MQL; BANT with Need and Authority required, 3 met."""
    return agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=timezone.now()
    )


@pytest.fixture
def reasons(db) -> Callable[[str, str], Reason]:
    ensure_default_reasons()
    return lambda kind, code: Reason.objects.get(kind=kind, code=code)


@pytest.fixture
def other_rep(make_user):
    return make_user(Role.REP, username="sam")


def add_activity(lead: Lead, type_: str, at: datetime, **properties: Any) -> None:
    activities_record(
        lead=lead, activities=[ActivityData(type=type_, occurred_at=at, properties=properties)], now=at
    )


def handed_over(*, now: datetime = START, owner: Any = None, **fields: Any) -> Lead:
    """A lead that requested a demo (employees ≥ 10): a hot MQL at `now`, claimed by `owner` if given."""
    fields = {"employees": 20, "company": "Acme", "job_title": "Head of Ops", **fields}
    lead, _ = lead_upsert(data=LeadData(email=f"person{next(_emails)}@acme.example", fields=fields), now=now)
    add_activity(lead, "demo_request", now)
    with TestCase.captureOnCommitCallbacks(execute=True):  # committed: feedback opens the hand-over's cycle
        leads_rescore(lead_ids=[lead.pk], now=now)
    if owner is not None:
        lead_claim(lead_id=lead.pk, rep=owner, now=now + timedelta(minutes=1))
    lead.refresh_from_db()
    assert lead.state == State.MQL
    return lead


def accepted(lead: Lead, user: Any, *, at: datetime | None = None) -> Lead:
    """Called, then accepted: a sales-accepted lead (SAL)."""
    at = at or lead.mql_at + timedelta(minutes=10)
    services.contact_log(lead_id=lead.pk, user=user, channel="call", connected=True, note="", now=at)
    services.lead_accept(lead_id=lead.pk, user=user, now=at + timedelta(minutes=1))
    lead.refresh_from_db()
    return lead


def qualified(lead: Lead, user: Any, *, at: datetime | None = None) -> Lead:
    """Called, accepted, and its BANT checklist met (Need, Authority, Timeframe): an SQL."""
    at = at or lead.mql_at + timedelta(hours=1)
    accepted(lead, user)
    services.lead_qualify(lead_id=lead.pk, user=user, answers=BANT_OK, now=at)
    lead.refresh_from_db()
    return lead


def actions(lead: Lead) -> list[str]:
    return list(audit_for(lead).order_by("at", "pk").values_list("action", flat=True))


def open_cycle(lead: Lead) -> Cycle:
    return Cycle.objects.get(lead=lead, closed_at__isnull=True)


# --- hand-off ---------------------------------------------------------------------------------------------


def test_hand_off_opens_cycle_one_with_what_sales_received(agreement, rep):
    # given / when a lead becomes an MQL
    lead = handed_over(owner=rep)
    # then one open cycle holds its score, breakdown, agreement version and why it was handed over
    cycle = open_cycle(lead)
    assert cycle.number == 1 and cycle.handed_over_at == START
    assert (cycle.score, cycle.tier, cycle.breakdown) == (lead.score, "hot", lead.breakdown)
    assert cycle.agreement == agreement and cycle.reason == "requested a demo"


# --- contact attempts -------------------------------------------------------------------------------------


def test_first_contact_stops_the_first_contact_clock_and_later_attempts_do_not_move_it(agreement, rep):
    # given a hot lead the rep claimed: its running clock is now first contact (15 business minutes)
    lead = handed_over(owner=rep)
    assert lead.sla_clock == "first_contact"
    first, second = START + timedelta(minutes=6), START + timedelta(minutes=40)
    # when the rep logs a call that did not connect, then an e-mail that did
    services.contact_log(
        lead_id=lead.pk, user=rep, channel="call", connected=False, note=" voicemail ", now=first
    )
    attempt = services.contact_log(
        lead_id=lead.pk, user=rep, channel="email", connected=True, note="", now=second
    )
    # then the first attempt is when the lead was first contacted: 6 minutes after hand-off
    lead.refresh_from_db()
    cycle = open_cycle(lead)
    assert lead.first_contact_at == cycle.first_contact_at == first
    assert lead.first_contact_at - lead.mql_at == timedelta(minutes=6)
    # and the queue now watches the next clock: accept or reject
    assert lead.sla_clock == "accept" and lead.sla_due_at == lead.accept_due_at
    # and both attempts are kept on the cycle, newest first, with channel, outcome and note
    contacts = list(ContactAttempt.objects.filter(lead=lead))
    assert contacts[0] == attempt
    assert [(c.channel, c.connected, c.note, c.rep, c.cycle) for c in contacts] == [
        ("email", True, "", rep, cycle),
        ("call", False, "voicemail", rep, cycle),
    ]
    # and each one went to the audit trail
    entries = list(audit_for(lead).filter(action="lead.contacted").order_by("at"))
    assert [(e.actor, e.reason, e.at) for e in entries] == [
        (rep, "call", first),
        (rep, "email (connected)", second),
    ]


@pytest.mark.parametrize("channel", ["fax", ""])
def test_a_contact_needs_a_known_channel(agreement, rep, channel):
    # given a claimed lead
    lead = handed_over(owner=rep)
    # when the rep logs a contact by an unknown channel
    with pytest.raises(OutcomeRefused, match="Choose how you made contact: call, e-mail, meeting or social."):
        services.contact_log(lead_id=lead.pk, user=rep, channel=channel, connected=True, note="", now=START)
    # then nothing is stored and the clock still runs
    lead.refresh_from_db()
    assert not ContactAttempt.objects.exists() and lead.first_contact_at is None
    assert actions(lead) == []


def test_nothing_is_recorded_on_a_lead_that_was_never_handed_over(agreement, sales_manager):
    # given a lead that is not an MQL (no demo request, no score)
    lead, _ = lead_upsert(data=LeadData(email="quiet@acme.example", fields={"employees": 20}), now=START)
    # when a sales manager tries to log a contact or accept it
    for attempt in (
        lambda: services.contact_log(
            lead_id=lead.pk, user=sales_manager, channel="call", connected=False, note="", now=START
        ),
        lambda: services.lead_accept(lead_id=lead.pk, user=sales_manager, now=START),
    ):
        with pytest.raises(
            OutcomeRefused, match="This lead has no open hand-over: it is not with sales right now."
        ):
            attempt()
    # then nothing happened to it
    lead.refresh_from_db()
    assert lead.state == State.NEW and not ContactAttempt.objects.exists()


# --- accept / reject ------------------------------------------------------------------------------------------


def test_accept_makes_a_sales_accepted_lead_and_stops_the_decision_clock(agreement, rep):
    # given a claimed lead the rep has called
    lead = handed_over(owner=rep)
    at = START + timedelta(minutes=30)
    services.contact_log(lead_id=lead.pk, user=rep, channel="call", connected=True, note="", now=at)
    # when the rep accepts it
    cycle = services.lead_accept(lead_id=lead.pk, user=rep, now=at + timedelta(minutes=1))
    # then it is an SAL, the decision clock stopped; the outcome clock runs, and the status-update clock starts
    # (the agreement's status_update_days, due before the outcome)
    lead.refresh_from_db()
    assert lead.state == State.SAL and lead.decided_at == at + timedelta(minutes=1)
    assert lead.outcome_at is None
    assert lead.status_update_due_at and lead.status_update_due_at < lead.outcome_due_at
    assert (lead.sla_clock, lead.sla_due_at) == ("status_update", lead.status_update_due_at)
    assert cycle.accepted_at == at + timedelta(minutes=1) and cycle.owner == rep and cycle.closed_at is None
    # and the move is an event and an audit entry
    event = LeadEvent.objects.filter(lead=lead, kind="state").last()
    assert (event.from_value, event.to_value, event.actor, event.reason) == ("mql", "sal", rep, "accepted")
    entry = audit_for(lead).get(action="lead.accepted")
    assert entry.actor == rep and entry.changes == {"state": ["mql", "sal"]}


def test_a_lead_is_accepted_once(agreement, rep):
    # given an accepted lead
    lead = accepted(handed_over(owner=rep), rep)
    # when the rep accepts it again
    with pytest.raises(OutcomeRefused, match=r"Only an MQL can be accepted; this lead is Accepted \(SAL\)."):
        services.lead_accept(lead_id=lead.pk, user=rep, now=START + timedelta(hours=2))
    # then there is still one acceptance on record
    assert actions(lead).count("lead.accepted") == 1


def test_reject_recycles_the_lead_to_marketing_with_the_reason_and_keeps_its_history(agreement, rep, reasons):
    # given a claimed lead the rep has called
    lead = handed_over(owner=rep)
    services.contact_log(
        lead_id=lead.pk,
        user=rep,
        channel="call",
        connected=True,
        note="next year",
        now=START + timedelta(minutes=5),
    )
    at = START + timedelta(minutes=20)
    # when the rep rejects it as too early
    cycle = services.lead_reject(
        lead_id=lead.pk,
        user=rep,
        reason=reasons("rejection", "too_early"),
        comment=" budget in 2027 ",
        now=at,
    )
    # then the cycle is closed as rejected with the reason and comment
    cycle.refresh_from_db()
    assert (cycle.outcome, cycle.rejected_at, cycle.closed_at) == ("rejected", at, at)
    assert cycle.rejection_reason.code == "too_early" and cycle.rejection_comment == "budget in 2027"
    # and the lead is back with marketing: recycled, nobody owns it, no clock runs
    lead.refresh_from_db()
    assert lead.state == State.RECYCLED and lead.owner is None
    assert lead.decided_at == lead.outcome_at == at
    assert (lead.sla_clock, lead.sla_due_at, lead.next_sla_check_at) == ("", None, None)
    # and its history is kept: the contact, the events saying why, the audit entry
    assert ContactAttempt.objects.filter(lead=lead).count() == 1
    state_event = LeadEvent.objects.get(lead=lead, kind="state", to_value="recycled")
    assert state_event.reason == "rejected: Too early / not ready (budget in 2027)"
    assert LeadEvent.objects.filter(lead=lead, kind="owner", from_value=rep.username, to_value="").exists()
    entry = audit_for(lead).get(action="lead.rejected")
    assert (entry.actor, entry.reason, entry.changes) == (
        rep,
        "Too early / not ready",
        {"state": ["mql", "recycled"]},
    )


def test_other_as_a_reason_is_accepted_with_a_comment(agreement, rep, reasons):
    # given a claimed lead
    lead = handed_over(owner=rep)
    # when the rep rejects it with "other" and says why, passing the reason by id as the form does
    cycle = services.lead_reject(
        lead_id=lead.pk,
        user=rep,
        reason=reasons("rejection", "other").pk,
        comment="Reseller, not a buyer",
        now=START,
    )
    # then the reason and comment are kept
    assert (cycle.rejection_reason.code, cycle.rejection_comment) == ("other", "Reseller, not a buyer")


@pytest.mark.parametrize(
    ("reason", "retired", "comment", "message"),
    [
        pytest.param(None, False, "", "Choose a reason.", id="none"),
        pytest.param(("rejection", "duplicate"), True, "", "Choose a reason from the list.", id="retired"),
        pytest.param(("loss", "price"), False, "", "Choose a reason from the list.", id="loss-reason"),
        pytest.param(
            ("disqualification", "no_need"), False, "", "Choose a reason from the list.", id="dq-reason"
        ),
        pytest.param(
            ("rejection", "other"), False, "", "Say more: “Other” needs a comment.", id="other-blank"
        ),
        pytest.param(
            ("rejection", "other"), False, "  ", "Say more: “Other” needs a comment.", id="other-spaces"
        ),
        pytest.param(999_999, False, "", "Choose a reason from the list.", id="unknown-id"),
    ],
)
def test_reject_needs_an_active_rejection_reason_and_a_comment_for_other(
    agreement, rep, reasons, reason, retired, comment, message
):
    # given a claimed lead, and the reason the rep picks (a reason of the lists, maybe one managers retired)
    lead = handed_over(owner=rep)
    if isinstance(reason, tuple):
        reason = reasons(*reason)
        if retired:
            reason.is_active = False
            reason.save(update_fields=["is_active"])
    # when the rep rejects it
    with pytest.raises(OutcomeRefused) as refused:
        services.lead_reject(lead_id=lead.pk, user=rep, reason=reason, comment=comment, now=START)
    # then the message says what to fix and the lead is untouched
    assert str(refused.value) == message
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.owner == rep and lead.decided_at is None
    assert open_cycle(lead).rejected_at is None and actions(lead) == []


def test_only_an_mql_is_rejected(agreement, rep, reasons):
    # given an accepted lead
    lead = accepted(handed_over(owner=rep), rep)
    # when the rep tries to reject it
    with pytest.raises(OutcomeRefused, match=r"Only an MQL can be rejected; this lead is Accepted \(SAL\)."):
        services.lead_reject(
            lead_id=lead.pk,
            user=rep,
            reason=reasons("rejection", "not_a_fit"),
            comment="",
            now=START + timedelta(hours=1),
        )
    # then it stays accepted
    lead.refresh_from_db()
    assert lead.state == State.SAL


# --- qualification -----------------------------------------------------------------------------------------


def test_qualifying_is_refused_before_the_lead_is_accepted(agreement, rep):
    # given an MQL the rep has not accepted
    lead = handed_over(owner=rep)
    # when the rep fills in the checklist
    with pytest.raises(OutcomeRefused, match="Accept the lead before qualifying it."):
        services.lead_qualify(lead_id=lead.pk, user=rep, answers=BANT_OK, now=START)
    # then it is still an MQL and no answer was kept
    lead.refresh_from_db()
    assert lead.state == State.MQL and open_cycle(lead).qualification == {}


@pytest.mark.parametrize(
    ("met", "message"),
    [
        (
            {"need", "budget", "timeframe"},
            "Missing required: Authority. 3 met; 3 needed, every required one among them.",
        ),
        ({"budget"}, "Missing required: Authority, Need. 1 met; 3 needed, every required one among them."),
        (set(), "Missing required: Authority, Need. 0 met; 3 needed, every required one among them."),
        ({"need", "authority"}, "2 met; 3 needed, every required one among them."),
    ],
    ids=["no-authority", "no-need-no-authority", "nothing", "too-few"],
)
def test_the_checklist_says_precisely_what_is_missing_and_nothing_moves(agreement, rep, met, message):
    # given an accepted lead
    lead = accepted(handed_over(owner=rep), rep)
    answers = {key: {"met": key in met, "note": ""} for key in ("budget", "authority", "need", "timeframe")}
    # when the rep submits a checklist that does not meet the agreement
    with pytest.raises(OutcomeRefused) as refused:
        services.lead_qualify(lead_id=lead.pk, user=rep, answers=answers, now=START + timedelta(hours=1))
    # then the message names the missing required items and the count
    assert str(refused.value) == message
    # and the lead is still accepted, with nothing saved
    lead.refresh_from_db()
    cycle = open_cycle(lead)
    assert lead.state == State.SAL and cycle.sql_at is None and cycle.qualification == {}
    assert "lead.qualified" not in actions(lead)


def test_a_met_checklist_makes_an_sql_and_keeps_the_answers(agreement, rep):
    # given an accepted lead
    lead = accepted(handed_over(owner=rep), rep)
    at = START + timedelta(hours=1)
    # when the rep meets Need, Authority and Timeframe (and sends a key the checklist does not have)
    cycle = services.lead_qualify(
        lead_id=lead.pk,
        user=rep,
        answers={**BANT_OK, "budget": {"met": False}, "vibes": {"met": True}},
        now=at,
    )
    # then the lead is an SQL, and the answers (only the checklist's items) are on the cycle
    lead.refresh_from_db()
    assert lead.state == State.SQL and cycle.sql_at == at
    assert cycle.qualification == {
        "need": {"met": True, "note": "Spreadsheets break at month end"},
        "authority": {"met": True, "note": "Head of sales ops signs"},
        "timeframe": {"met": True, "note": "Q2"},
        "budget": {"met": False, "note": ""},
    }
    assert LeadEvent.objects.filter(
        lead=lead, kind="state", from_value="sal", to_value="sql", actor=rep
    ).exists()
    assert audit_for(lead).get(action="lead.qualified").changes == {"state": ["sal", "sql"]}


def test_updating_the_checklist_of_an_sql_is_audited_and_cannot_break_it(agreement, rep):
    # given an SQL
    lead = qualified(handed_over(owner=rep), rep)
    later = START + timedelta(days=1)
    # when the rep adds the budget
    services.lead_qualify(
        lead_id=lead.pk, user=rep, answers={**BANT_OK, "budget": {"met": True, "note": "€20k"}}, now=later
    )
    # then the answer is kept, the SQL date stays, and the change is on the audit trail
    cycle = open_cycle(lead)
    assert cycle.qualification["budget"] == {
        "met": True,
        "note": "€20k",
    } and cycle.sql_at == START + timedelta(hours=1)
    entry = audit_for(lead).get(action="lead.checklist_updated")
    assert entry.actor == rep and entry.changes["qualification"][1]["budget"] == {"met": True, "note": "€20k"}
    # and when the rep then unticks Authority, it is refused and the answers stay as they were
    with pytest.raises(OutcomeRefused, match="Missing required: Authority."):
        services.lead_qualify(
            lead_id=lead.pk, user=rep, answers={**BANT_OK, "authority": {"met": False}}, now=later
        )
    assert open_cycle(lead).qualification["authority"]["met"] is True


# --- opportunity and result -------------------------------------------------------------------------------------


def test_an_opportunity_needs_an_sql_and_a_positive_amount(agreement, rep):
    # given an accepted lead that is not qualified yet
    lead = accepted(handed_over(owner=rep), rep)
    # when the rep opens an opportunity, then it is refused
    with pytest.raises(OutcomeRefused, match=r"Qualify the lead \(SQL\) before opening an opportunity."):
        services.opportunity_set(
            lead_id=lead.pk, user=rep, amount=Decimal("100"), expected_close=None, now=START
        )
    # given it qualified, when the amount is zero, then it is refused too
    services.lead_qualify(lead_id=lead.pk, user=rep, answers=BANT_OK, now=START + timedelta(hours=1))
    with pytest.raises(OutcomeRefused, match="The opportunity amount must be more than zero."):
        services.opportunity_set(
            lead_id=lead.pk, user=rep, amount=Decimal("0"), expected_close=None, now=START
        )
    assert open_cycle(lead).opportunity_amount is None and "lead.opportunity" not in actions(lead)


def test_opportunity_amount_and_expected_close_are_kept_and_audited(agreement, rep):
    # given an SQL
    lead = qualified(handed_over(owner=rep), rep)
    # when the rep sets the opportunity, then revises it
    services.opportunity_set(
        lead_id=lead.pk,
        user=rep,
        amount=Decimal("12000"),
        expected_close=date(2026, 6, 30),
        now=START + timedelta(days=1),
    )
    cycle = services.opportunity_set(
        lead_id=lead.pk,
        user=rep,
        amount=Decimal("15000.50"),
        expected_close=None,
        now=START + timedelta(days=2),
    )
    # then the latest figures are on the cycle
    cycle.refresh_from_db()
    assert (cycle.opportunity_amount, cycle.expected_close) == (Decimal("15000.50"), None)
    # and each change is on the audit trail, before and after, in readable values
    changes = [e.changes for e in audit_for(lead).filter(action="lead.opportunity").order_by("at")]
    assert changes == [
        {"opportunity_amount": [None, "12000"], "expected_close": [None, "2026-06-30"]},
        {"opportunity_amount": ["12000.00", "15000.50"], "expected_close": ["2026-06-30", None]},
    ]
    # and the lead is still an open SQL: an opportunity is not an outcome
    lead.refresh_from_db()
    assert lead.state == State.SQL and lead.outcome_at is None


@pytest.mark.parametrize("stage", ["mql", "sal"])
def test_no_deal_is_won_from_a_lead_never_accepted_or_qualified(agreement, rep, stage):
    # given a lead that is only an MQL, or accepted but not qualified
    lead = handed_over(owner=rep)
    if stage == "sal":
        lead = accepted(lead, rep)
    # when the rep records it as won
    with pytest.raises(OutcomeRefused) as refused:
        services.lead_win(lead_id=lead.pk, user=rep, amount=Decimal("5000"), now=START + timedelta(days=1))
    # then the message says which steps are missing, and nothing is closed
    label = {"mql": "MQL", "sal": "Accepted (SAL)"}[stage]
    assert str(refused.value) == (
        f"A deal is won from a qualified lead (SQL); this lead is {label}. Accept it and complete the checklist first."
    )
    lead.refresh_from_db()
    assert lead.state == stage and lead.outcome_at is None and open_cycle(lead).outcome == ""


def test_won_needs_an_amount(agreement, rep):
    # given an SQL
    lead = qualified(handed_over(owner=rep), rep)
    # when the rep records a win of nothing
    with pytest.raises(OutcomeRefused, match="Enter the amount won."):
        services.lead_win(lead_id=lead.pk, user=rep, amount=Decimal("0"), now=START + timedelta(days=3))
    # then it is still open
    lead.refresh_from_db()
    assert lead.state == State.SQL


def test_won_closes_the_cycle_with_the_amount_and_stops_the_outcome_clock(agreement, rep):
    # given an SQL with an opportunity
    lead = qualified(handed_over(owner=rep), rep)
    services.opportunity_set(
        lead_id=lead.pk, user=rep, amount=Decimal("12000"), expected_close=None, now=START + timedelta(days=1)
    )
    at = START + timedelta(days=3)
    # when the rep records the deal as won
    cycle = services.lead_win(lead_id=lead.pk, user=rep, amount=Decimal("11500"), now=at)
    # then the cycle is closed as won with the amount, and the lead's outcome clock stopped
    cycle.refresh_from_db()
    assert (cycle.outcome, cycle.won_amount, cycle.closed_at) == ("won", Decimal("11500.00"), at)
    lead.refresh_from_db()
    assert lead.state == State.WON and lead.outcome_at == at
    assert (lead.sla_clock, lead.next_sla_check_at) == ("", None)
    assert lead.owner == rep  # the deal stays with the rep who won it
    entry = audit_for(lead).get(action="lead.won")
    assert (entry.actor, entry.changes, entry.reason) == (rep, {"state": ["sql", "won"]}, "won: 11500")
    assert actions(lead) == [
        "lead.contacted", "lead.accepted", "lead.qualified", "lead.opportunity", "lead.won",
    ]  # fmt: skip


def test_lost_needs_an_sql_and_a_loss_reason(agreement, rep, reasons):
    # given an accepted lead, not yet qualified
    lead = accepted(handed_over(owner=rep), rep)
    # when the rep records it lost, then it is refused
    with pytest.raises(
        OutcomeRefused, match=r"Only a qualified lead \(SQL\) can be lost; this lead is Accepted \(SAL\)."
    ):
        services.lead_lose(lead_id=lead.pk, user=rep, reason=reasons("loss", "price"), comment="", now=START)
    # given it qualified, when the reason is a rejection reason or "other" has no comment, then it is refused
    services.lead_qualify(lead_id=lead.pk, user=rep, answers=BANT_OK, now=START + timedelta(hours=1))
    with pytest.raises(OutcomeRefused, match="Choose a reason from the list."):
        services.lead_lose(
            lead_id=lead.pk, user=rep, reason=reasons("rejection", "competitor"), comment="", now=START
        )
    with pytest.raises(OutcomeRefused, match="Say more: “Other” needs a comment."):
        services.lead_lose(lead_id=lead.pk, user=rep, reason=reasons("loss", "other"), comment="", now=START)
    lead.refresh_from_db()
    assert lead.state == State.SQL and "lead.lost" not in actions(lead)


def test_lost_closes_the_cycle_with_the_reason(agreement, rep, reasons):
    # given an SQL
    lead = qualified(handed_over(owner=rep), rep)
    at = START + timedelta(days=5)
    # when the rep records it as lost to a competitor
    cycle = services.lead_lose(
        lead_id=lead.pk, user=rep, reason=reasons("loss", "competitor"), comment=" went with Globex ", now=at
    )
    # then the cycle and the lead say so, and the outcome clock stopped
    cycle.refresh_from_db()
    assert (cycle.outcome, cycle.outcome_reason.code, cycle.outcome_comment, cycle.closed_at) == (
        "lost", "competitor", "went with Globex", at,
    )  # fmt: skip
    lead.refresh_from_db()
    assert lead.state == State.LOST and lead.outcome_at == at and lead.sla_clock == ""
    entry = audit_for(lead).get(action="lead.lost")
    assert (entry.changes, entry.reason) == ({"state": ["sql", "lost"]}, "lost: Chose a competitor")


def test_an_mql_is_rejected_not_disqualified(agreement, rep, reasons):
    # given an MQL
    lead = handed_over(owner=rep)
    # when the rep disqualifies it
    with pytest.raises(
        OutcomeRefused,
        match="Accept the lead before disqualifying it; an MQL that is not for sales is rejected.",
    ):
        services.lead_disqualify(
            lead_id=lead.pk, user=rep, reason=reasons("disqualification", "no_need"), comment="", now=START
        )
    # then it is still an MQL
    lead.refresh_from_db()
    assert lead.state == State.MQL


@pytest.mark.parametrize("stage", ["sal", "sql"])
def test_disqualify_closes_an_accepted_or_qualified_lead(agreement, rep, reasons, stage):
    # given an accepted (or qualified) lead
    lead = accepted(handed_over(owner=rep), rep) if stage == "sal" else qualified(handed_over(owner=rep), rep)
    at = START + timedelta(days=2)
    # when the rep disqualifies it for want of authority, and then with a loss reason
    with pytest.raises(OutcomeRefused, match="Choose a reason from the list."):
        services.lead_disqualify(
            lead_id=lead.pk, user=rep, reason=reasons("loss", "price"), comment="", now=at
        )
    cycle = services.lead_disqualify(
        lead_id=lead.pk, user=rep, reason=reasons("disqualification", "no_authority"), comment="", now=at
    )
    # then the cycle and the lead are closed as disqualified, and the outcome clock stopped
    assert (cycle.outcome, cycle.outcome_reason.code, cycle.closed_at) == ("disqualified", "no_authority", at)
    lead.refresh_from_db()
    assert lead.state == State.DISQUALIFIED and lead.outcome_at == at
    assert audit_for(lead).get(action="lead.disqualified").changes == {"state": [stage, "disqualified"]}


def test_nothing_more_is_recorded_on_a_closed_cycle(agreement, rep, reasons):
    # given a won deal
    lead = qualified(handed_over(owner=rep), rep)
    services.lead_win(lead_id=lead.pk, user=rep, amount=Decimal("900"), now=START + timedelta(days=1))
    # when the rep tries to change the result or log another contact
    for attempt in (
        lambda: services.lead_lose(
            lead_id=lead.pk,
            user=rep,
            reason=reasons("loss", "price"),
            comment="",
            now=START + timedelta(days=2),
        ),
        lambda: services.contact_log(
            lead_id=lead.pk, user=rep, channel="call", connected=True, note="", now=START + timedelta(days=2)
        ),
    ):
        with pytest.raises(OutcomeRefused, match="This lead has no open hand-over"):
            attempt()
    # then it is still won
    lead.refresh_from_db()
    assert lead.state == State.WON and Cycle.objects.get(lead=lead).outcome == "won"


# --- who may record -------------------------------------------------------------------------------------------------


def _every_step(lead: Lead, user: Any, reasons: Callable[[str, str], Reason]) -> list[Callable[[], Any]]:
    at = START + timedelta(hours=1)
    return [
        lambda: services.contact_log(
            lead_id=lead.pk, user=user, channel="call", connected=True, note="", now=at
        ),
        lambda: services.lead_accept(lead_id=lead.pk, user=user, now=at),
        lambda: services.lead_reject(
            lead_id=lead.pk, user=user, reason=reasons("rejection", "not_a_fit"), comment="", now=at
        ),
        lambda: services.lead_qualify(lead_id=lead.pk, user=user, answers=BANT_OK, now=at),
        lambda: services.opportunity_set(
            lead_id=lead.pk, user=user, amount=Decimal("10"), expected_close=None, now=at
        ),
        lambda: services.lead_win(lead_id=lead.pk, user=user, amount=Decimal("10"), now=at),
        lambda: services.lead_lose(
            lead_id=lead.pk, user=user, reason=reasons("loss", "price"), comment="", now=at
        ),
        lambda: services.lead_disqualify(
            lead_id=lead.pk, user=user, reason=reasons("disqualification", "no_need"), comment="", now=at
        ),
    ]


@pytest.mark.parametrize("who", ["other_rep", "marketer", "marketing_manager"])
def test_only_the_owner_or_a_sales_manager_records_outcomes(agreement, rep, reasons, who, request):
    # given a lead the rep owns, and someone else
    lead = handed_over(owner=rep)
    intruder = request.getfixturevalue(who)
    # when they try every step
    for step in _every_step(lead, intruder, reasons):
        with pytest.raises(
            OutcomeRefused, match="Only the lead's owner or a sales manager records outcomes for this lead."
        ):
            step()
    # then nothing changed
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.owner == rep and lead.first_contact_at is None
    assert not ContactAttempt.objects.exists() and actions(lead) == []


def test_a_rep_claims_a_lead_before_recording_anything(agreement, rep, reasons):
    # given an MQL nobody has claimed
    lead = handed_over()
    # when a rep tries every step
    for step in _every_step(lead, rep, reasons):
        with pytest.raises(
            OutcomeRefused, match="Claim this lead first: outcomes are recorded by the lead's owner."
        ):
            step()
    # then nothing changed
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.first_contact_at is None and actions(lead) == []


def test_a_rep_is_not_told_to_claim_a_lead_that_went_back_to_marketing(
    agreement, rep, sales_manager, reasons
):
    # given the rep's lead that the sales manager rejected meanwhile
    lead = handed_over(owner=rep)
    services.lead_reject(
        lead_id=lead.pk, user=sales_manager, reason=reasons("rejection", "duplicate"), comment="", now=START
    )
    # when the rep accepts it
    with pytest.raises(OutcomeRefused) as refused:
        services.lead_accept(lead_id=lead.pk, user=rep, now=START + timedelta(minutes=1))
    # then the rep learns where it went rather than to claim it (a recycled lead cannot be claimed)
    assert str(refused.value) == "This lead is Recycled to marketing: it is not with sales right now."


@pytest.mark.parametrize("manager", ["sales_manager", "admin_user_role"])
def test_a_sales_manager_or_admin_records_outcomes_on_any_lead(agreement, rep, manager, request):
    # given a lead a rep owns
    lead = handed_over(owner=rep)
    boss = request.getfixturevalue(manager)
    # when the manager logs a contact and accepts it
    services.contact_log(
        lead_id=lead.pk,
        user=boss,
        channel="meeting",
        connected=True,
        note="",
        now=START + timedelta(minutes=3),
    )
    cycle = services.lead_accept(lead_id=lead.pk, user=boss, now=START + timedelta(minutes=4))
    # then it is accepted, still the rep's lead, and the audit trail names the manager
    lead.refresh_from_db()
    assert lead.state == State.SAL and lead.owner == rep and cycle.owner == rep
    assert [e.actor for e in audit_for(lead)] == [boss, boss]


# --- the frozen hand-off -----------------------------------------------------------------------------------------------


def test_rescoring_after_hand_off_never_rewrites_the_cycle(
    agreement, rep, marketer, marketing_manager, sales_manager, django_capture_on_commit_callbacks
):
    # given a lead handed over with its score as it was then
    lead = handed_over(owner=rep)
    frozen = open_cycle(lead)
    handed = (
        frozen.score,
        frozen.fit_score,
        frozen.engagement_score,
        frozen.breakdown,
        frozen.agreement_id,
        frozen.tier,
    )
    # and a new agreement version that weighs pricing views more
    draft = agreement_draft_create(user=marketer, now=timezone.now())

    def pricing_counts_more(content: dict[str, Any]) -> dict[str, Any]:
        next(rule for rule in content["mql"]["engagement_rules"] if rule["id"] == "e1")["points"] = 25
        return content

    agreement_change(version_id=draft.pk, user=marketer, change=pricing_counts_more, now=timezone.now())
    agreement_propose(version_id=draft.pk, user=marketer, now=timezone.now())
    agreement_sign(version_id=draft.pk, user=marketing_manager, now=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        agreement_sign(version_id=draft.pk, user=sales_manager, now=timezone.now())
    # when the lead views pricing and blog pages and is rescored under the new version
    later = START + timedelta(days=1)
    add_activity(lead, "page", later, path="/pricing")
    add_activity(lead, "page", later, path="/blog/forecasting")
    leads_rescore(lead_ids=[lead.pk], now=later)
    # then the lead's current score moved on
    lead.refresh_from_db()
    assert lead.scored_with_id == draft.pk and lead.score == frozen.score + 25 + 3
    assert lead.breakdown != frozen.breakdown
    # and the cycle still holds what sales received at hand-off
    cycle = Cycle.objects.get(pk=frozen.pk)
    assert (
        cycle.score,
        cycle.fit_score,
        cycle.engagement_score,
        cycle.breakdown,
        cycle.agreement_id,
        cycle.tier,
    ) == handed
    assert cycle.agreement_id == agreement.pk != draft.pk
    assert Cycle.objects.filter(lead=lead).count() == 1


# --- reopening: a new cycle ---------------------------------------------------------------------------------------------


def test_a_recycled_lead_that_qualifies_again_starts_cycle_two_and_cycle_one_is_kept(
    agreement, rep, other_rep, reasons
):
    # given a lead the rep rejected as too early
    lead = handed_over(owner=rep)
    services.contact_log(
        lead_id=lead.pk, user=rep, channel="call", connected=True, note="", now=START + timedelta(minutes=5)
    )
    services.lead_reject(
        lead_id=lead.pk,
        user=rep,
        reason=reasons("rejection", "too_early"),
        comment="",
        now=START + timedelta(minutes=10),
    )
    # when, weeks later, it requests a demo again and is rescored
    back = START + timedelta(days=30)
    add_activity(lead, "demo_request", back)
    with TestCase.captureOnCommitCallbacks(execute=True):
        leads_rescore(lead_ids=[lead.pk], now=back)
    # then it is an MQL again, unowned, with fresh clocks
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.mql_at == back and lead.owner is None
    assert lead.first_contact_at is None and lead.decided_at is None and lead.outcome_at is None
    assert lead.sla_clock == "claim" and lead.claim_due_at > back
    # and cycle 2 is open while cycle 1 stays closed as rejected, with its reason and contact
    first, second = Cycle.objects.filter(lead=lead).order_by("number")
    assert (first.number, first.outcome, first.rejection_reason.code, first.closed_at) == (
        1, "rejected", "too_early", START + timedelta(minutes=10),
    )  # fmt: skip
    assert first.contacts.count() == 1
    assert (second.number, second.outcome, second.closed_at, second.handed_over_at) == (2, "", None, back)
    assert second.first_contact_at is None and second.owner is None
    # and the second cycle is worked on its own: another rep claims it and the first contact is cycle 2's
    lead_claim(lead_id=lead.pk, rep=other_rep, now=back + timedelta(minutes=1))
    services.contact_log(
        lead_id=lead.pk,
        user=other_rep,
        channel="email",
        connected=False,
        note="",
        now=back + timedelta(minutes=4),
    )
    second.refresh_from_db()
    lead.refresh_from_db()
    assert second.first_contact_at == lead.first_contact_at == back + timedelta(minutes=4)
    assert second.contacts.count() == 1 and first.contacts.count() == 1


def test_a_lost_lead_that_qualifies_again_starts_a_new_cycle(agreement, rep, reasons):
    # given a deal the rep lost on timing
    lead = qualified(handed_over(owner=rep), rep)
    services.opportunity_set(
        lead_id=lead.pk, user=rep, amount=Decimal("8000"), expected_close=None, now=START + timedelta(days=1)
    )
    services.lead_lose(
        lead_id=lead.pk, user=rep, reason=reasons("loss", "timing"), comment="", now=START + timedelta(days=2)
    )
    # when it requests a demo months later and is rescored
    back = START + timedelta(days=120)
    add_activity(lead, "demo_request", back)
    with TestCase.captureOnCommitCallbacks(execute=True):
        leads_rescore(lead_ids=[lead.pk], now=back)
    # then cycle 2 is open and cycle 1 keeps the lost deal with its opportunity, checklist and reason
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.outcome_at is None
    first, second = Cycle.objects.filter(lead=lead).order_by("number")
    assert (first.outcome, first.outcome_reason.code, first.opportunity_amount) == (
        "lost",
        "timing",
        Decimal("8000.00"),
    )
    assert first.qualification["need"]["met"] is True and first.sql_at is not None
    assert (second.number, second.closed_at, second.qualification, second.opportunity_amount) == (
        2,
        None,
        {},
        None,
    )


def test_a_won_deal_is_not_reopened_by_new_activity(agreement, rep):
    # given a won deal
    lead = qualified(handed_over(owner=rep), rep)
    services.lead_win(lead_id=lead.pk, user=rep, amount=Decimal("500"), now=START + timedelta(days=1))
    # when the customer requests a demo again
    later = START + timedelta(days=40)
    add_activity(lead, "demo_request", later)
    leads_rescore(lead_ids=[lead.pk], now=later)
    # then it stays won with its single cycle
    lead.refresh_from_db()
    assert lead.state == State.WON and Cycle.objects.filter(lead=lead).count() == 1


# --- the outcome deadline -----------------------------------------------------------------------------------------------


def test_an_outcome_not_recorded_in_time_is_a_breach_and_one_recorded_in_time_is_not(
    agreement, rep, django_capture_on_commit_callbacks
):
    # given two accepted hot leads (outcome within 30 business days); one is won in time, one is left open
    late = accepted(handed_over(owner=rep), rep)
    done = qualified(handed_over(owner=rep), rep)
    services.lead_win(lead_id=done.pk, user=rep, amount=Decimal("1000"), now=START + timedelta(days=5))
    assert late.outcome_due_at > START + timedelta(days=30)
    # when the breach scan runs an hour after the outcome deadline, and again
    scan_at = late.outcome_due_at + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        found = sla_breaches_scan(now=scan_at)
    again = sla_breaches_scan(now=scan_at + timedelta(minutes=5))
    # then exactly one outcome breach is recorded, on the open lead, for its owner (and, as nobody reported on
    # it for weeks, one status-update breach)
    breach = SlaBreach.objects.get(clock="outcome")
    status = SlaBreach.objects.get(clock="status_update")
    assert sorted(found.breaches) == sorted([breach.pk, status.pk]) and again.breaches == []
    assert status.lead_id == late.pk
    assert (breach.lead_id, breach.clock, breach.deadline, breach.owner) == (
        late.pk,
        "outcome",
        late.outcome_due_at,
        rep,
    )
    assert breach.late_seconds == 3600
    # and the lead stays with its rep (only first-contact and accept breaches return a lead to the queue)
    late.refresh_from_db()
    assert late.owner == rep and breach.action == "none" and late.next_sla_check_at is None


def test_recording_the_outcome_stops_the_outcome_clock_before_its_deadline(agreement, rep, reasons):
    # given an accepted lead whose outcome (and status-update) clocks run
    lead = accepted(handed_over(owner=rep), rep)
    assert lead.next_sla_check_at == min(lead.outcome_due_at, lead.status_update_due_at)
    # when it is disqualified before the deadline
    services.lead_disqualify(
        lead_id=lead.pk,
        user=rep,
        reason=reasons("disqualification", "no_need"),
        comment="",
        now=START + timedelta(days=1),
    )
    # then the scan after the deadline finds nothing to flag
    assert sla_breaches_scan(now=lead.outcome_due_at + timedelta(days=1)).breaches == []
    assert not SlaBreach.objects.exists()


# --- concurrency ---------------------------------------------------------------------------------------------------------


def test_lead_progress_refuses_a_move_from_a_state_the_lead_has_left(agreement, rep, sales_manager, reasons):
    # given a lead the sales manager rejected
    lead = handed_over(owner=rep)
    services.lead_reject(
        lead_id=lead.pk, user=sales_manager, reason=reasons("rejection", "bad_data"), comment="", now=START
    )
    # when a move that expects an MQL arrives
    with pytest.raises(
        LeadError, match="This lead is now Recycled to marketing; refresh the page to see its latest state."
    ):
        lead_progress(
            lead_id=lead.pk,
            actor=rep,
            now=START,
            action=Action.ACCEPT,
        )
    # then the lead is unchanged
    lead.refresh_from_db()
    assert lead.state == State.RECYCLED


def test_accepting_a_lead_rejected_concurrently_is_refused_and_saves_nothing(
    agreement, rep, sales_manager, reasons, monkeypatch
):
    # given the rep's accept read the lead and its cycle while it was still an MQL...
    lead = handed_over(owner=rep)
    seen_lead, seen_cycle = Lead.objects.get(pk=lead.pk), open_cycle(lead)
    # ...and the sales manager's rejection committed in between
    services.lead_reject(
        lead_id=lead.pk, user=sales_manager, reason=reasons("rejection", "duplicate"), comment="", now=START
    )
    monkeypatch.setattr(services, "_locked", lambda lead_id, user: (seen_lead, seen_cycle))
    # when the rep's accept goes on
    with pytest.raises(
        OutcomeRefused,
        match="This lead is now Recycled to marketing; refresh the page to see its latest state.",
    ):
        services.lead_accept(lead_id=lead.pk, user=rep, now=START + timedelta(seconds=1))
    # then the rejection stands and the accept left no trace
    lead.refresh_from_db()
    cycle = Cycle.objects.get(pk=seen_cycle.pk)
    assert lead.state == State.RECYCLED and lead.owner is None
    assert (cycle.outcome, cycle.accepted_at) == ("rejected", None)
    assert actions(lead) == ["lead.rejected"]
    assert not LeadEvent.objects.filter(lead=lead, to_value="sal").exists()
