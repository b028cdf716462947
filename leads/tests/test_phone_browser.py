"""The queue and a lead's page on a 390-pixel phone, and the queue driven from the keyboard."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alignment.testing.browser import assert_one_layout, screenshot
from leads.scoring import leads_rescore

pytestmark = pytest.mark.browser


@pytest.fixture
def two_leads(agreement, make_lead):
    now = timezone.now()
    hot = make_lead(now=now, first_name="Hana", last_name="Hot", company="Hooli Incorporated", employees=20,
                    job_title="Head of Revenue Operations", source="Google",
                    activities=[("demo_request", now - timedelta(minutes=3), {})])  # fmt: skip
    warm = make_lead(now=now, first_name="Walt", last_name="Warm", company="Wonka", employees=500, seniority="vp",
                     industry="software", source="Reference", activities=[("webinar", now, {})])  # fmt: skip
    leads_rescore(lead_ids=[hot.pk, warm.pk], now=now)
    return hot, warm


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width} px wide on a 390 px phone: it scrolls sideways"


def test_a_rep_claims_and_reads_a_lead_on_a_phone(page, browser_login, two_leads, rep):
    hot, _ = two_leads
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(rep)
    page.goto("/leads/queue/")
    row = page.locator("#queue-table").get_by_role("row", name="Hana Hot")
    # then each lead is a card whose Claim button is on screen, and nothing scrolls sideways
    claim = row.get_by_role("button", name="Claim")
    expect(claim).to_be_in_viewport()
    _no_sideways_scroll(page)
    screenshot(page, "queue-phone")
    claim.click()
    expect(page.locator("#queue-table").get_by_text("is yours")).to_be_visible()
    row.get_by_role("link", name="Hana Hot").click()
    expect(page.get_by_role("heading", name="Hana Hot")).to_be_visible()
    assert_one_layout(page)
    _no_sideways_scroll(page)
    screenshot(page, "lead-phone")


def test_the_queue_works_from_the_keyboard(page, browser_login, two_leads, rep):
    hot, warm = two_leads
    browser_login(rep)
    page.goto("/leads/queue/")
    table = page.locator("#queue-table")
    expect(table.get_by_role("link", name="Hana Hot")).to_be_visible()
    screenshot(page, "queue")
    # ? shows the help, and ? (or Escape) hides it
    page.keyboard.press("?")
    help_box = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("Claim the selected lead")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()
    # j selects the first lead (the hot one), j again the next, k back
    page.keyboard.press("j")
    expect(table.locator("tr.kb-selected")).to_contain_text("Hana Hot")
    page.keyboard.press("j")
    expect(table.locator("tr.kb-selected")).to_contain_text("Walt Warm")
    page.keyboard.press("k")
    expect(table.locator("tr.kb-selected")).to_contain_text("Hana Hot")
    # c claims it, and the selection survives the table's refresh
    page.keyboard.press("c")
    expect(table.get_by_text("Hana Hot is yours")).to_be_visible()
    expect(table.locator("tr.kb-selected")).to_contain_text("Hana Hot")
    # o opens it, as a page of its own
    page.keyboard.press("o")
    expect(page.get_by_role("heading", name="Hana Hot")).to_be_visible()
    assert_one_layout(page)
    screenshot(page, "lead")
    # typing in the search box is never taken for a shortcut
    page.go_back()
    page.get_by_label("Search name, e-mail or company").fill("jock")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
