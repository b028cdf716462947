"""The trend page in a real headless Chromium: a manager follows the nav link and reads the charts and table."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from alignment.roles import Role
from alignment.testing.browser import assert_one_layout, screenshot
from feedback.tests.test_trend import build_history, make_version
from sla.models import Status

pytestmark = pytest.mark.browser


def test_manager_reads_the_trend_charts_and_table(page, browser_login, agreement, make_user):
    # given two months of hand-overs under v11, then v12 in force since mid-February
    build_history(agreement)
    manager = make_user(Role.SALES_MANAGER, username="sm2", first_name="Sam")

    # when the manager opens the trend from the nav and asks for January to March 2026
    browser_login(manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trend").click()
    page.get_by_label("Up to").fill("2026-03")
    page.get_by_label("Months").fill("3")
    page.get_by_role("button", name="Show").click()

    # then the six charts are drawn, each marking where v12 came into force
    expect(page.get_by_role("heading", name="Trend across months")).to_be_visible()
    for name in (
        "MQLs delivered vs committed",
        "Funnel rates",
        "SLA compliance",
        "AUC of the score at hand-off",
    ):
        chart = page.get_by_role("img", name=f"{name}, month by month")
        expect(chart).to_be_visible()
        expect(chart.locator("line.version-change")).to_have_count(1)
        expect(chart.locator("text.version-label")).to_have_text("v12")
    delivered = page.get_by_role("img", name="MQLs delivered vs committed, month by month")
    expect(delivered.locator("rect.bar.delivered")).to_have_count(3)
    # and the table reads the same months: January delivered 4 of 10, February 2 of 4 under the new version
    table = page.locator("#trend-table table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").nth(0)).to_contain_text("4 / 10")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("v12 new")
    expect(page.locator("#response-bands")).to_contain_text("within 5 min")
    expect(page.locator("#capacity")).to_contain_text("Expected next week")
    assert_one_layout(page)
    screenshot(page, "trend")

    # when a draft raising the threshold to 70 waits for signatures
    draft = make_version(agreement, 13, 4, status=Status.DRAFT)
    draft.content["mql"]["threshold"] = 70
    draft.content_hash = "hash-13b"
    draft.save()
    page.goto(draft.get_absolute_url())

    # then the draft page shows the capacity box, naming the threshold change, before anyone signs
    box = page.locator("#capacity")
    expect(box).to_be_visible()
    expect(box).to_contain_text("moves the MQL threshold 50 → 70")
    expect(box).to_contain_text("Expected next week")
    assert_one_layout(page)
    screenshot(page, "trend-draft")
