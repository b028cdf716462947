"""Home pages in a real Chromium: each role is told where to start, and the to-do opens the right page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alignment.testing.browser import assert_one_layout, screenshot
from feedback.reasons import ensure_default_reasons
from leads.models import Lead
from leads.queue import lead_claim
from leads.scoring import leads_rescore
from sla.services import agreement_draft_create, agreement_propose

pytestmark = pytest.mark.browser


def test_home_tells_a_rep_and_a_manager_where_to_start(
    page, browser_login, agreement, make_lead, rep, marketer, sales_manager
):
    now = timezone.now()
    lead = make_lead(now=now, first_name="Lena", last_name="Late", employees=20,
                     activities=[("demo_request", now, {})])  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=now)
    lead_claim(lead_id=lead.pk, rep=rep, now=now)
    Lead.objects.filter(pk=lead.pk).update(sla_due_at=now - timedelta(days=2))
    draft = agreement_draft_create(user=marketer, now=now)
    agreement_propose(version_id=draft.pk, user=marketer, now=now)

    # the rep is told one of their leads is late, and the to-do opens their day
    browser_login(rep)
    todos = page.get_by_role("region", name="Waiting for you")
    expect(todos.get_by_role("link", name="1 of your leads is past a deadline")).to_be_visible()
    screenshot(page, "home")
    todos.get_by_role("link", name="1 of your leads is past a deadline").click()
    expect(page.get_by_role("link", name="Lena Late")).to_be_visible()
    assert_one_layout(page)

    # the sales manager is told a draft awaits their signature and which work is long late
    browser_login(sales_manager)
    todos = page.get_by_role("region", name="Waiting for you")
    expect(
        todos.get_by_role("link", name=f"Version {draft.number} of the agreement awaits your signature")
    ).to_be_visible()
    expect(
        todos.get_by_role("link", name="1 lead late by more than a day: reassign or close")
    ).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "home")
    todos.get_by_role("link", name="1 lead late by more than a day: reassign or close").click()
    expect(page.locator("#queue-table").get_by_role("link", name="Lena Late")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_manager_edits_a_reason_in_the_product(page, browser_login, sales_manager):
    ensure_default_reasons()
    browser_login(sales_manager)
    page.get_by_role("link", name="Reason lists").click()
    rejection = page.get_by_role("region", name="Rejection")
    rejection.get_by_label("Name of “Competitor”").fill("Works for a competitor")
    rejection.get_by_role("button", name="Save “Competitor”").click()
    expect(page.get_by_text("Saved “Works for a competitor”: in use.")).to_be_visible()
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    screenshot(page, "reasons")
