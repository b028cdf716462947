"""The outcome panel (htmx fragment, inline forms), who may post to it, and marketing's nurture list."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from alignment.roles import Role
from feedback import services
from feedback.models import ContactAttempt, Cycle, Reason
from feedback.reasons import ensure_default_reasons
from feedback.tests.test_services import BANT_OK, accepted, add_activity, handed_over, qualified
from leads.models import Lead, State
from leads.queue import lead_claim
from leads.scoring import leads_rescore
from sla.services import agreement_ensure_starter

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true", "HX-Target": "outcome-panel"}
ACTIONS = ["contact", "accept", "reject", "qualify", "opportunity", "win", "lose", "disqualify"]


@pytest.fixture
def agreement(marketing_manager, sales_manager):
    return agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=timezone.now()
    )


@pytest.fixture
def reasons(db) -> Callable[[str, str], Reason]:
    ensure_default_reasons()
    return lambda kind, code: Reason.objects.get(kind=kind, code=code)


@pytest.fixture
def earlier():
    """When the leads of a test were handed over: two hours ago, so that the views' `now` comes after."""
    return timezone.now() - timedelta(hours=2)


def post(client: Any, action: str, lead: Lead, data: dict[str, Any] | None = None) -> Any:
    return client.post(reverse(f"feedback:{action}", args=[lead.pk]), data or {}, headers=HX)


def html(response: Any) -> str:
    return response.content.decode()


def assert_panel_fragment(response: Any, status: int) -> str:
    assert response.status_code == status
    text = html(response)
    assert "<html" not in text and text.lstrip().startswith(
        '<section class="card outcome-panel" id="outcome-panel">'
    )
    return text


def assert_changed(response: Any) -> None:
    assert "leadChanged" in json.loads(response["HX-Trigger"])


# --- the panel ------------------------------------------------------------------------------------------------------


def test_panel_is_a_fragment_with_the_forms_the_owner_can_use_now(agreement, rep, login, reasons, earlier):
    # given a hot MQL the rep claimed
    lead = handed_over(now=earlier, owner=rep)
    # when the rep's lead page loads the panel
    response = login(rep).get(reverse("feedback:panel", args=[lead.pk]), headers=HX)
    # then it is the panel alone, showing the hand-off and the MQL's steps: contact, accept, reject
    text = assert_panel_fragment(response, 200)
    assert "Cycle 1" in text and "requested a demo" in text and f"agreement v{agreement.number}" in text
    assert "Log contact" in text and "Accept lead" in text and "Reject lead" in text
    assert "Student or job seeker" in text and "Qualify" not in text and "Record won deal" not in text
    # and each form posts inline and swaps the panel in place (no page reload)
    for action in ("contact", "accept", "reject"):
        url = reverse(f"feedback:{action}", args=[lead.pk])
        assert f'hx-post="{url}" hx-target="#outcome-panel" hx-swap="outerHTML"' in text


def test_panel_of_a_lead_never_handed_over_says_so(agreement, rep, login, earlier):
    # given a lead that is not an MQL
    lead = Lead.objects.create(email="quiet@acme.example", created_at=earlier, updated_at=earlier)
    # when the panel loads
    text = assert_panel_fragment(login(rep).get(reverse("feedback:panel", args=[lead.pk]), headers=HX), 200)
    # then it says the lead is not with sales and offers nothing to record
    assert "This lead has not been handed to sales yet: it is not an MQL." in text and "<form" not in text


@pytest.mark.parametrize("role", [Role.MARKETER, Role.MARKETING_MANAGER])
def test_marketing_sees_the_panel_but_no_forms(agreement, rep, role_users, login, role, earlier):
    # given a lead the rep owns
    lead = handed_over(now=earlier, owner=rep)
    # when someone from marketing opens the panel
    text = assert_panel_fragment(login(role_users[role]).get(reverse("feedback:panel", args=[lead.pk])), 200)
    # then they see where it stands but cannot record anything
    assert "Cycle 1" in text and "<form" not in text


def test_unclaimed_lead_panel_tells_the_rep_to_claim_it(agreement, rep, login, earlier):
    # given an MQL nobody claimed
    lead = handed_over(now=earlier)
    # when a rep opens its panel
    text = assert_panel_fragment(login(rep).get(reverse("feedback:panel", args=[lead.pk])), 200)
    # then it says to claim it first, and offers no form
    assert "Claim this lead to record what happens with it." in text and "<form" not in text


# --- the inline forms, step by step ---------------------------------------------------------------------------------


def test_logging_a_contact_refreshes_the_panel(agreement, rep, login, earlier):
    # given a claimed MQL
    lead = handed_over(now=earlier, owner=rep)
    # when the rep logs a connected call from the panel
    response = post(
        login(rep),
        "contact",
        lead,
        {"contact-channel": "call", "contact-connected": "on", "contact-note": "Interested, wants pricing"},
    )
    # then the refreshed panel says so, lists the contact, and tells the page the lead changed
    text = assert_panel_fragment(response, 200)
    assert_changed(response)
    assert "Contact logged." in text and "Call by Rep · reached: Interested, wants pricing" in text
    lead.refresh_from_db()
    assert lead.first_contact_at is not None and lead.sla_clock == "accept"


def test_a_contact_with_an_unknown_channel_is_refused_beside_the_form(agreement, rep, login, earlier):
    # given a claimed MQL
    lead = handed_over(now=earlier, owner=rep)
    # when the rep posts a channel that is not in the list
    response = post(login(rep), "contact", lead, {"contact-channel": "pigeon"})
    # then the panel comes back with the error on the channel field, and nothing was logged
    text = assert_panel_fragment(response, 422)
    assert "Select a valid choice. pigeon is not one of the available choices." in text
    assert "HX-Trigger" not in response and not ContactAttempt.objects.exists()


def test_accepting_shows_the_qualification_checklist(agreement, rep, login, earlier):
    # given a claimed MQL
    lead = handed_over(now=earlier, owner=rep)
    # when the rep accepts it
    response = post(login(rep), "accept", lead)
    # then the panel shows the SAL's forms: the BANT checklist with the required items marked, and disqualify
    text = assert_panel_fragment(response, 200)
    assert_changed(response)
    assert "Accepted: this is now a sales-accepted lead." in text
    assert "Qualification (BANT)" in text and "At least 3 items met, including every required one." in text
    assert "Authority (required)" in text and "Need (required)" in text and "Budget (required)" not in text
    assert "Disqualify" in text and "Accept lead" not in text
    lead.refresh_from_db()
    assert lead.state == State.SAL


def test_reject_needs_a_reason_and_other_needs_a_comment(agreement, rep, login, reasons, earlier):
    # given a claimed MQL
    lead = handed_over(now=earlier, owner=rep)
    client = login(rep)
    # when the rep rejects it without a reason, then with "other" and no comment
    no_reason = post(client, "reject", lead, {"reject-reason": ""})
    other = post(
        client, "reject", lead, {"reject-reason": reasons("rejection", "other").pk, "reject-comment": " "}
    )
    # then each is refused beside the form with what is missing, and the lead is still an MQL
    assert "This field is required." in assert_panel_fragment(no_reason, 422)
    assert "Say more: “Other” needs a comment." in assert_panel_fragment(other, 422)
    lead.refresh_from_db()
    assert lead.state == State.MQL


def test_an_inactive_reason_cannot_be_posted(agreement, rep, login, reasons, earlier):
    # given a claimed MQL and a reason the managers retired
    lead = handed_over(now=earlier, owner=rep)
    retired = reasons("rejection", "duplicate")
    Reason.objects.filter(pk=retired.pk).update(is_active=False)
    # when the rep posts it anyway
    response = post(login(rep), "reject", lead, {"reject-reason": retired.pk})
    # then it is refused as not a choice, and the retired reason is not offered
    text = assert_panel_fragment(response, 422)
    assert "Select a valid choice." in text and ">Duplicate<" not in text


def test_rejecting_recycles_the_lead(agreement, rep, login, reasons, earlier):
    # given a claimed MQL
    lead = handed_over(now=earlier, owner=rep)
    # when the rep rejects it as a student
    response = post(
        login(rep),
        "reject",
        lead,
        {"reject-reason": reasons("rejection", "student").pk, "reject-comment": "Thesis research"},
    )
    # then the panel says where it went and shows the reason, with no form left to use
    text = assert_panel_fragment(response, 200)
    assert_changed(response)
    assert "Rejected and recycled to marketing with your reason." in text
    assert "Rejected: Student or job seeker" in text and "<form" not in text
    lead.refresh_from_db()
    assert lead.state == State.RECYCLED


def test_the_checklist_says_which_required_item_is_missing_and_keeps_the_answers(
    agreement, rep, login, earlier
):
    # given an accepted lead
    lead = accepted(handed_over(now=earlier, owner=rep), rep)
    # when the rep ticks Need, Budget and Timeframe but not Authority
    response = post(login(rep), "qualify", lead, {
        "q-need_met": "on", "q-need_note": "Manual forecasting", "q-budget_met": "on", "q-timeframe_met": "on",
    })  # fmt: skip
    # then the form says precisely what is missing, beside the checklist, with the answers still ticked
    text = assert_panel_fragment(response, 422)
    form = text[text.index("Qualification (BANT)") :]
    assert "Missing required: Authority. 3 met; 3 needed, every required one among them." in form
    assert 'name="q-need_met" id="id_q-need_met" checked' in form and 'value="Manual forecasting"' in form
    assert 'name="q-authority_met" id="id_q-authority_met">' in form
    lead.refresh_from_db()
    assert lead.state == State.SAL


def test_too_few_checklist_items_says_how_many_are_needed(agreement, rep, login, earlier):
    # given an accepted lead
    lead = accepted(handed_over(now=earlier, owner=rep), rep)
    # when only the two required items are ticked
    response = post(login(rep), "qualify", lead, {"q-need_met": "on", "q-authority_met": "on"})
    # then it is refused with the count
    assert "2 met; 3 needed, every required one among them." in assert_panel_fragment(response, 422)


def test_a_met_checklist_makes_an_sql_and_offers_the_deal_forms(agreement, rep, login, earlier):
    # given an accepted lead
    lead = accepted(handed_over(now=earlier, owner=rep), rep)
    # when the rep meets Need, Authority and Timeframe
    response = post(
        login(rep),
        "qualify",
        lead,
        {"q-need_met": "on", "q-authority_met": "on", "q-timeframe_met": "on", "q-timeframe_note": "Q3"},
    )
    # then it is an SQL and the opportunity, won and lost forms appear
    text = assert_panel_fragment(response, 200)
    assert_changed(response)
    assert "Qualified: this is now a sales-qualified lead." in text
    assert "Save opportunity" in text and "Record won deal" in text and "Record lost deal" in text
    assert "Update checklist" in text
    lead.refresh_from_db()
    assert lead.state == State.SQL
    assert Cycle.objects.get(lead=lead).qualification["timeframe"] == {"met": True, "note": "Q3"}


def test_opportunity_then_won(agreement, rep, login, earlier):
    # given an SQL
    lead = qualified(handed_over(now=earlier, owner=rep), rep)
    client = login(rep)
    # when the rep saves the opportunity, then records the deal won
    opportunity = post(
        client, "opportunity", lead, {"opp-amount": "12000", "opp-expected_close": "2026-12-31"}
    )
    won = post(client, "win", lead, {"win-amount": "11800.50"})
    # then both refresh the panel, and the result is shown
    assert "Opportunity saved." in assert_panel_fragment(opportunity, 200)
    assert_changed(opportunity)
    text = assert_panel_fragment(won, 200)
    assert_changed(won)
    assert "Won. Well done!" in text and "Won 11,800.50" in text and "<form" not in text
    cycle = Cycle.objects.get(lead=lead)
    assert (cycle.opportunity_amount, cycle.won_amount, cycle.outcome) == (
        Decimal("12000"),
        Decimal("11800.50"),
        "won",
    )


def test_an_opportunity_amount_must_be_positive(agreement, rep, login, earlier):
    # given an SQL
    lead = qualified(handed_over(now=earlier, owner=rep), rep)
    # when the rep enters a zero amount
    response = post(login(rep), "opportunity", lead, {"opp-amount": "0"})
    # then the field says so
    assert "Ensure this value is greater than or equal to 0.01." in assert_panel_fragment(response, 422)


def test_won_on_a_lead_never_accepted_is_refused_with_the_reason_shown(agreement, rep, login, earlier):
    # given an MQL the rep has not accepted (the panel offers no "won" form for it)
    lead = handed_over(now=earlier, owner=rep)
    # when a "won" is posted anyway (an old page, a crafted request)
    response = post(login(rep), "win", lead, {"win-amount": "5000"})
    # then the refused step's message is in the panel
    text = assert_panel_fragment(response, 422)
    assert (
        "A deal is won from a qualified lead (SQL); this lead is MQL. Accept it and complete the checklist first."
        in text
    )
    lead.refresh_from_db()
    assert lead.state == State.MQL


def test_an_invalid_post_to_a_step_that_is_not_open_says_so(agreement, rep, login, earlier):
    # given an MQL (no "won" form on its panel)
    lead = handed_over(now=earlier, owner=rep)
    # when a "won" without an amount is posted
    response = post(login(rep), "win", lead, {"win-amount": ""})
    # then the panel says the step is not open, rather than failing silently
    assert "This step is not open for this lead now." in assert_panel_fragment(response, 422)


def test_lost_with_a_reason(agreement, rep, login, reasons, earlier):
    # given an SQL
    lead = qualified(handed_over(now=earlier, owner=rep), rep)
    client = login(rep)
    # when the rep records it lost with "other" but no comment, then with a comment
    refused = post(client, "lose", lead, {"lose-reason": reasons("loss", "other").pk})
    done = post(
        client,
        "lose",
        lead,
        {"lose-reason": reasons("loss", "other").pk, "lose-comment": "Project cancelled"},
    )
    # then the first is refused beside the form and the second closes the deal as lost
    assert "Say more: “Other” needs a comment." in assert_panel_fragment(refused, 422)
    text = assert_panel_fragment(done, 200)
    assert_changed(done)
    assert "Recorded as lost." in text and "Lost: Other" in text
    lead.refresh_from_db()
    assert lead.state == State.LOST


def test_disqualify_an_accepted_lead(agreement, rep, login, reasons, earlier):
    # given an accepted lead
    lead = accepted(handed_over(now=earlier, owner=rep), rep)
    # when the rep disqualifies it for want of budget
    response = post(
        login(rep), "disqualify", lead, {"dq-reason": reasons("disqualification", "no_budget").pk}
    )
    # then it is closed as disqualified
    text = assert_panel_fragment(response, 200)
    assert_changed(response)
    assert "Recorded as disqualified." in text and "Disqualified: No budget" in text
    lead.refresh_from_db()
    assert lead.state == State.DISQUALIFIED


def test_earlier_cycles_are_listed_after_a_reopen(agreement, rep, login, reasons, earlier):
    # given a lead rejected as too early that came back with a new demo request
    lead = handed_over(now=earlier - timedelta(days=30), owner=rep)
    services.lead_reject(
        lead_id=lead.pk,
        user=rep,
        reason=reasons("rejection", "too_early"),
        comment="",
        now=earlier - timedelta(days=29),
    )
    add_activity(lead, "demo_request", earlier)
    with TestCase.captureOnCommitCallbacks(execute=True):  # committed: the cycle opens
        leads_rescore(lead_ids=[lead.pk], now=earlier)
    lead_claim(lead_id=lead.pk, rep=rep, now=earlier)
    # when the panel loads
    text = assert_panel_fragment(login(rep).get(reverse("feedback:panel", args=[lead.pk])), 200)
    # then it works on cycle 2 and lists cycle 1 with its result
    assert "Cycle 2" in text and "Earlier cycles" in text
    assert "Cycle 1: handed over" in text and "rejected (Too early / not ready)" in text


# --- who may post --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", [Role.MARKETER, Role.MARKETING_MANAGER])
def test_marketing_cannot_post_outcomes(agreement, rep, role_users, login, action, role, earlier):
    # given a lead the rep owns
    lead = handed_over(now=earlier, owner=rep)
    # when someone from marketing posts any step
    response = post(login(role_users[role]), action, lead, {})
    # then it is forbidden and nothing changed
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.first_contact_at is None


@pytest.mark.parametrize("action", ACTIONS)
def test_outcome_urls_take_only_posts(agreement, rep, login, action, earlier):
    # given a lead the rep owns
    lead = handed_over(now=earlier, owner=rep)
    # when the rep GETs a step's URL
    response = login(rep).get(reverse(f"feedback:{action}", args=[lead.pk]))
    # then it is not allowed
    assert response.status_code == 405


def test_another_rep_is_told_whose_lead_it_is(agreement, rep, make_user, login, earlier):
    # given a lead the rep owns, and a second rep
    lead = handed_over(now=earlier, owner=rep)
    other = make_user(Role.REP, username="sam")
    client = login(other)
    # when the second rep logs a contact and accepts it
    contact = post(client, "contact", lead, {"contact-channel": "call"})
    accept = post(client, "accept", lead)
    # then both are refused with the reason shown in the panel, and nothing changed
    for response in (contact, accept):
        text = assert_panel_fragment(response, 422)
        assert "Only the lead&#x27;s owner or a sales manager records outcomes for this lead." in text
        assert "HX-Trigger" not in response
    lead.refresh_from_db()
    assert lead.state == State.MQL and not ContactAttempt.objects.exists()


def test_a_rep_on_an_unclaimed_lead_is_told_to_claim_it(agreement, rep, login, earlier):
    # given an MQL nobody claimed
    lead = handed_over(now=earlier)
    # when a rep accepts it from an old page
    response = post(login(rep), "accept", lead)
    # then the panel says to claim it first
    text = assert_panel_fragment(response, 422)
    assert "Claim this lead first: outcomes are recorded by the lead&#x27;s owner." in text
    lead.refresh_from_db()
    assert lead.state == State.MQL


def test_accepting_a_lead_the_manager_rejected_meanwhile_is_refused_in_the_panel(
    agreement, rep, sales_manager, login, reasons, earlier
):
    # given the rep's lead, which the sales manager rejects while the rep's panel is open
    lead = handed_over(now=earlier, owner=rep)
    post(login(sales_manager), "reject", lead, {"reject-reason": reasons("rejection", "duplicate").pk})
    # when the rep clicks "Accept lead"
    response = post(login(rep), "accept", lead)
    # then the panel shows why, and the rejection stands
    text = assert_panel_fragment(response, 422)
    assert "This lead is Recycled to marketing: it is not with sales right now." in text
    assert "Rejected: Duplicate" in text
    lead.refresh_from_db()
    assert lead.state == State.RECYCLED


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.ADMIN])
def test_a_sales_manager_or_admin_records_on_a_reps_lead(agreement, rep, role_users, login, role, earlier):
    # given a lead the rep owns
    lead = handed_over(now=earlier, owner=rep)
    # when a sales manager (or admin) accepts it from the panel
    response = post(login(role_users[role]), "accept", lead)
    # then it is accepted and stays the rep's
    assert_panel_fragment(response, 200)
    assert_changed(response)
    lead.refresh_from_db()
    assert lead.state == State.SAL and lead.owner == rep


# --- marketing's nurture list --------------------------------------------------------------------------------------


def _rejected(
    rep: Any, reasons: Callable[[str, str], Reason], code: str, when: Any, comment: str = "", **fields: Any
) -> Lead:
    lead = handed_over(now=when, owner=rep, **fields)
    services.lead_reject(
        lead_id=lead.pk,
        user=rep,
        reason=reasons("rejection", code),
        comment=comment,
        now=when + timedelta(minutes=30),
    )
    return lead


def test_nurture_shows_rejected_leads_with_why_and_filters_by_reason(
    agreement, rep, marketer, login, reasons, earlier
):
    # given two leads sales rejected for different reasons, and one it accepted
    _rejected(
        rep,
        reasons,
        "too_early",
        earlier,
        "Budget next year",
        first_name="Tara",
        last_name="Early",
        company="Tempo",
    )
    _rejected(rep, reasons, "student", earlier, first_name="Stu", last_name="Dent", company="Uni")
    accepted(handed_over(now=earlier, owner=rep, first_name="Alma", last_name="Accepted"), rep)
    client = login(marketer)
    # when marketing opens the nurture list
    text = html(client.get(reverse("feedback:nurture")))
    # then both rejected leads are there with the reason and comment, and the accepted one is not
    assert (
        "Tara Early" in text
        and "Tempo" in text
        and "Too early / not ready" in text
        and "Budget next year" in text
    )
    assert "Stu Dent" in text and "Student or job seeker" in text
    assert "Alma Accepted" not in text
    # and the reasons are offered as filters with their counts
    assert "Too early / not ready (1)" in text and "Student or job seeker (1)" in text
    # when marketing filters on "student"
    student = reasons("rejection", "student")
    filtered = html(client.get(reverse("feedback:nurture"), {"reason": student.pk}))
    # then only that lead is listed
    table = filtered[filtered.index('id="nurture-table"') :]
    assert "Stu Dent" in table and "Tara Early" not in table


def test_nurture_table_fragment_for_htmx(agreement, rep, marketer, login, reasons, earlier):
    # given a rejected lead
    _rejected(rep, reasons, "competitor", earlier, first_name="Cora", last_name="Rival")
    # when the table alone is asked for (paging, sorting)
    response = login(marketer).get(
        reverse("feedback:nurture"), headers={"HX-Request": "true", "HX-Target": "nurture-table"}
    )
    # then the fragment comes back
    text = html(response)
    assert (
        response.status_code == 200 and "<html" not in text and "Cora Rival" in text and "Competitor" in text
    )


def test_a_lead_that_came_back_leaves_the_nurture_list(agreement, rep, marketer, login, reasons, earlier):
    # given a rejected lead that requested a demo again and is back with sales
    lead = _rejected(
        rep, reasons, "too_early", earlier - timedelta(days=30), first_name="Bea", last_name="Back"
    )
    add_activity(lead, "demo_request", earlier)
    with TestCase.captureOnCommitCallbacks(execute=True):  # committed: the cycle opens
        leads_rescore(lead_ids=[lead.pk], now=earlier)
    # when marketing opens the nurture list
    text = html(login(marketer).get(reverse("feedback:nurture")))
    # then it is no longer there
    assert "Bea Back" not in text and "No lead has been handed back to marketing." in text


def test_reps_do_not_see_the_nurture_list(agreement, rep, login):
    # when a rep opens the nurture list
    response = login(rep).get(reverse("feedback:nurture"))
    # then it is forbidden
    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.MARKETER, Role.MARKETING_MANAGER, Role.SALES_MANAGER, Role.ADMIN])
def test_marketing_and_managers_see_the_nurture_list(agreement, role_users, login, role):
    # when someone from marketing, a sales manager or an admin opens the nurture list
    response = login(role_users[role]).get(reverse("feedback:nurture"))
    # then it opens
    assert response.status_code == 200


# --- bounded queries -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 25])
def test_panel_queries_do_not_grow_with_contacts_and_cycles(
    agreement, rep, login, reasons, earlier, size, django_assert_max_num_queries
):
    # given a lead with `size` earlier rejected cycles and `size` contacts in its current, accepted cycle
    lead = handed_over(now=earlier - timedelta(days=size + 1), owner=rep)
    for n in range(size):
        at = earlier - timedelta(days=size - n)
        services.lead_reject(
            lead_id=lead.pk, user=rep, reason=reasons("rejection", "too_early"), comment="", now=at
        )
        add_activity(lead, "demo_request", at + timedelta(hours=1))
        with TestCase.captureOnCommitCallbacks(execute=True):  # committed: the cycle opens
            leads_rescore(lead_ids=[lead.pk], now=at + timedelta(hours=1))
        lead_claim(lead_id=lead.pk, rep=rep, now=at + timedelta(hours=1))
    for n in range(size):
        services.contact_log(
            lead_id=lead.pk,
            user=rep,
            channel="call",
            connected=bool(n % 2),
            note=f"try {n}",
            now=earlier + timedelta(minutes=n),
        )
    services.lead_accept(lead_id=lead.pk, user=rep, now=earlier + timedelta(hours=1))
    assert Cycle.objects.filter(lead=lead).count() == size + 1
    client = login(rep)
    # when the panel loads (with its reason lists and the checklist)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("feedback:panel", args=[lead.pk]), headers=HX)
    # then it shows everything
    text = assert_panel_fragment(response, 200)
    assert f"Cycle {size + 1}" in text and "Qualification (BANT)" in text and f"try {size - 1}" in text


@pytest.mark.parametrize("size", [1, 25])
def test_posting_a_step_answers_in_bounded_queries(
    agreement, rep, login, earlier, size, django_assert_max_num_queries
):
    # given an accepted lead with `size` contacts
    lead = handed_over(now=earlier, owner=rep)
    for n in range(size):
        services.contact_log(
            lead_id=lead.pk,
            user=rep,
            channel="email",
            connected=False,
            note="",
            now=earlier + timedelta(minutes=n),
        )
    services.lead_accept(lead_id=lead.pk, user=rep, now=earlier + timedelta(hours=1))
    client = login(rep)
    # when the rep qualifies it (one query more: which webhook endpoints want lead.sql)
    with django_assert_max_num_queries(29):
        response = post(client, "qualify", lead, {f"q-{key}_met": "on" for key in BANT_OK})
    # then it worked
    assert_panel_fragment(response, 200)


@pytest.mark.parametrize("size", [2, 40])
def test_nurture_list_queries_do_not_grow_with_the_number_of_leads(
    agreement, rep, marketer, login, reasons, earlier, size, django_assert_max_num_queries
):
    # given `size` rejected leads across three reasons
    codes = ["too_early", "student", "not_a_fit"]
    for n in range(size):
        _rejected(rep, reasons, codes[n % 3], earlier - timedelta(minutes=n), f"note {n}", last_name=f"N{n}")
    client = login(marketer)
    # when marketing opens the list
    with django_assert_max_num_queries(6):
        response = client.get(reverse("feedback:nurture"))
    # then a page of it is shown
    assert response.status_code == 200 and "N0" in html(response)
