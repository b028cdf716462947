"""A review meeting in a real headless Chromium: open the month, read the chart, accept a suggestion, draft."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from alignment.demo import ensure_demo_users
from alignment.roles import Role
from alignment.testing.browser import screenshot
from feedback.demo import demo_cycles_generate
from feedback.reasons import ensure_default_reasons
from feedback.reports import previous_month, review_for
from leads.demo import demo_leads_generate
from leads.scoring import Rules
from sla.models import AgreementVersion, Status

pytestmark = pytest.mark.browser


def test_review_meeting_accepts_a_suggestion_and_starts_the_next_draft(
    page, browser_login, agreement, make_user
):
    # given six months of demo leads, hand-overs and outcomes under the starter agreement
    ensure_default_reasons()
    ensure_demo_users()
    User = get_user_model()
    reps = list(User.objects.filter(groups__name=Role.REP.value))
    now = timezone.now()
    demo_leads_generate(rules=Rules.of(agreement), now=now, reps=reps, count=600)
    demo_cycles_generate()
    month = previous_month(date(now.year, now.month, 1))
    suggestion = review_for(month)["suggestions"][0]
    manager = make_user(Role.MARKETING_MANAGER, username="mm", first_name="Morgan", last_name="Meeting")

    # when the manager opens last month's review
    browser_login(manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    # (it opens on the last complete month by itself, with which agreement each hand-over was made under)
    expect(page.get_by_role("heading", name=f"Monthly review · {month:%B %Y}")).to_be_visible()
    expect(page.locator("#handover-agreements")).to_be_visible()
    screenshot(page, "review")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "review")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, (
        "the review scrolls sideways on a phone"
    )
    page.set_viewport_size({"width": 1280, "height": 900})

    # then the score-versus-result chart is there, with a bar per band and outcome, and the AUC with its sample
    chart = page.get_by_role("img", name="Conversion by score band at hand-off")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(15)
    expect(page.locator("#score-vs-result")).to_contain_text("AUC")

    # when they accept the first suggestion
    item = page.locator("li.suggestion", has_text=suggestion["title"])
    item.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Suggestion accepted for the next draft.")).to_be_visible()
    expect(page.locator("#decisions")).to_contain_text(suggestion["title"])

    # and start the next draft
    page.get_by_role("button", name="Start the next draft with 1 accepted change").click()

    # then a draft exists with the change applied, ready for the normal sign-off
    expect(page.get_by_text("started with the accepted suggestions")).to_be_visible()
    draft = AgreementVersion.objects.get(status=Status.DRAFT)
    change = suggestion["change"]
    if change["op"] == "set_threshold":
        assert draft.content["mql"]["threshold"] == change["threshold"]
        expect(page.locator("#part-threshold")).to_contain_text(f"{change['threshold']} points or more")
    elif change["op"] == "set_points":
        rules = {r["id"]: r for r in draft.content["mql"][change["section"]]}
        assert rules[change["rule_id"]]["points"] == change["points"]
    else:
        assert draft.content != agreement.content
