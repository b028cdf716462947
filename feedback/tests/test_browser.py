"""Outcomes in a real headless Chromium: log a call, accept, fill BANT, win; reject as too early; marketing sees it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feedback.reasons import ensure_default_reasons
from leads.queue import lead_claim
from leads.scoring import leads_rescore

pytestmark = pytest.mark.browser


def hot_lead(make_lead, now, **fields):
    lead = make_lead(
        now=now, employees=40, activities=[("demo_request", now - timedelta(minutes=2), {})], **fields
    )
    leads_rescore(lead_ids=[lead.pk], now=now)
    return lead


def test_a_deal_won_and_a_lead_handed_back(
    page, browser_login, agreement, make_lead, rep, make_user, marketer
):
    from alignment.roles import Role

    ensure_default_reasons()
    now = timezone.now()
    other = make_user(Role.REP, username="sam", first_name="Sam", last_name="Okafor")
    winner = hot_lead(make_lead, now, first_name="Wendy", last_name="Winner", company="Wayne")
    early = hot_lead(make_lead, now, first_name="Eddie", last_name="Early", company="Echo")
    lead_claim(lead_id=winner.pk, rep=rep, now=now)
    lead_claim(lead_id=early.pk, rep=other, now=now)

    # given the rep on their lead's page
    browser_login(rep)
    page.goto(winner.get_absolute_url())
    panel = page.locator("#outcome-panel")
    header, history = page.locator("#lead-header"), page.locator("#lead-history")
    expect(header).to_contain_text("MQL")
    expect(header).to_contain_text("first contact")
    # when they log a call
    contact = panel.locator("form", has=page.get_by_role("heading", name="Log a contact"))
    contact.get_by_label("Channel").select_option("call")
    contact.get_by_label("Reached them").check()
    contact.get_by_label("Note").fill("Spoke to Wendy, wants a proposal")
    contact.get_by_role("button", name="Log contact").click()
    expect(panel.get_by_text("Contact logged.")).to_be_visible()
    expect(page.locator("#lead-clocks")).to_contain_text("met")
    # and accept it
    panel.get_by_role("button", name="Accept lead").click()
    expect(panel.get_by_text("Accepted: this is now a sales-accepted lead.")).to_be_visible()
    # then the header and the history follow without a reload
    expect(header.get_by_text("Accepted (SAL)", exact=True)).to_be_visible()
    expect(history).to_contain_text("MQL → Accepted (SAL)")
    # and fill BANT, first forgetting a required item
    panel.get_by_role("checkbox", name="Budget").check()
    panel.get_by_role("checkbox", name="Need (required)").check()
    panel.get_by_role("checkbox", name="Timeframe").check()
    panel.get_by_role("button", name="Qualify", exact=True).click()
    expect(panel.get_by_text("Missing required: Authority")).to_be_visible()
    panel.get_by_role("checkbox", name="Authority (required)").check()
    panel.get_by_role("button", name="Qualify", exact=True).click()
    expect(panel.get_by_text("Qualified: this is now a sales-qualified lead.")).to_be_visible()
    # and record the won deal
    panel.get_by_label("Amount won").fill("12500")
    panel.get_by_role("button", name="Record won deal").click()
    expect(panel.get_by_text("Won. Well done!")).to_be_visible()
    expect(page.get_by_text("Won 12,500.00")).to_be_visible()
    # then the header says Won with no clock left running (no stale "SQL · 10 d left"), the history has the win
    expect(header.get_by_text("Won", exact=True)).to_be_visible()
    expect(header).not_to_contain_text("SQL")
    expect(header.locator(".clock")).to_have_count(0)
    expect(history).to_contain_text("→ Won")
    expect(page.locator("#lead-clocks")).not_to_contain_text("overdue")

    # when another rep rejects their lead as too early
    browser_login(other, password="correct-horse-battery")
    page.goto(early.get_absolute_url())
    panel = page.locator("#outcome-panel")
    panel.get_by_label("Reason").select_option(label="Too early / not ready")
    panel.get_by_label("Comment").first.fill("Budget cycle starts in Q3")
    panel.get_by_role("button", name="Reject lead").click()
    expect(panel.get_by_text("Rejected and recycled to marketing")).to_be_visible()
    # then the never-made first contact is not needed any more, never an overdue clock
    clocks = page.locator("#lead-clocks")
    expect(clocks.get_by_role("row", name="First contact")).to_contain_text("not needed")
    expect(clocks).not_to_contain_text("overdue")
    expect(page.locator("#lead-header").get_by_text("Recycled to marketing", exact=True)).to_be_visible()

    # then marketing sees it in the nurture list with the reason
    browser_login(marketer)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Nurture").click()
    row = page.get_by_role("row", name="Eddie Early")
    expect(row).to_contain_text("Too early / not ready")
    expect(row).to_contain_text("Budget cycle starts in Q3")
