"""Browser journey in a real headless Chromium: log in, see the role's navigation, log out."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_rep_logs_in_reads_the_agreement_and_logs_out(page, browser_login, rep):
    # given a rep at the login page
    browser_login(rep)
    # then the home page greets them, with the agreement in the navigation but no system pages
    expect(page.get_by_role("heading", name="Good to see you")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Agreement")).to_be_visible()
    expect(nav.get_by_role("link", name="System")).to_have_count(0)
    # when they open their menu (their name in the top bar) and log out
    page.locator(".usermenu > summary").click()
    page.get_by_role("button", name="Log out").click()
    # then they are back at the login page
    expect(page.get_by_role("heading", name="Log in to Alignment")).to_be_visible()
