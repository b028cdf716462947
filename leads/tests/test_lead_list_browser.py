"""Find any lead in a real Chromium: from an import's result to its leads, filters that survive a reload."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alignment.testing.browser import assert_one_layout, screenshot
from leads.tests.test_import_services import HUBSPOT_HEADER, csv_bytes, hubspot_row, run

pytestmark = pytest.mark.browser


def test_a_marketer_finds_imported_leads_and_keeps_the_filters_on_reload(
    page, browser_login, make_lead, marketer
):
    make_lead(now=timezone.now(), first_name="Olga", last_name="Older", company="Oldco")
    job = run(csv_bytes(HUBSPOT_HEADER, [hubspot_row("1", "Ada", "ada@acme.example"),
                                         hubspot_row("2", "Bea", "bea@bolt.example", Company_Name="Bolt")]))  # fmt: skip
    browser_login(marketer)
    # given the import's result page
    page.goto(job.get_absolute_url())
    page.get_by_role("link", name="2 new leads").click()
    # then the list shows exactly the two leads it created
    table = page.locator("#leads-table")
    expect(table.get_by_role("link", name="Ada Archer")).to_be_visible()
    expect(table.get_by_role("link", name="Bea Archer")).to_be_visible()
    expect(table.get_by_role("link", name="Olga Older")).to_have_count(0)
    expect(page.get_by_text("Leads from the import of leads.csv")).to_be_visible()
    assert_one_layout(page)

    # when all leads are searched, the search lands in the URL and survives a reload
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").click()
    expect(table.get_by_role("link", name="Olga Older")).to_be_visible()
    screenshot(page, "all-leads")
    page.get_by_label("Search name, e-mail or company").fill("bolt")
    expect(table.get_by_role("link", name="Olga Older")).to_have_count(0)
    expect(table.get_by_role("link", name="Bea Archer")).to_be_visible()
    assert "q=bolt" in page.url
    page.reload()
    expect(page.get_by_label("Search name, e-mail or company")).to_have_value("bolt")
    expect(table.get_by_role("link", name="Ada Archer")).to_have_count(0)

    # and a sort keeps the page whole; a lead opens as a page of its own
    table.get_by_role("link", name="Who").click()
    page.wait_for_url("**sort=who*")
    assert_one_layout(page)
    table.get_by_role("link", name="Bea Archer").click()
    expect(page.get_by_role("heading", name="Bea Archer")).to_be_visible()
    assert_one_layout(page)


def test_all_leads_on_a_phone(page, browser_login, make_lead, rep):
    make_lead(now=timezone.now(), first_name="Olga", last_name="Older", company="Oldco")
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(rep)
    page.goto("/leads/")
    expect(page.get_by_role("link", name="Olga Older")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, (
        "the list scrolls sideways on a phone"
    )
    screenshot(page, "all-leads")
