"""The agreement's sign-off journey in a real headless Chromium: draft, inline edit, propose, two signatures."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from sla.models import AgreementVersion, Status
from sla.services import agreement_ensure_starter

pytestmark = pytest.mark.browser


def test_draft_edit_propose_and_both_managers_sign(
    page, browser_login, marketer, marketing_manager, sales_manager
):
    # given the starter agreement in force
    agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=timezone.now()
    )
    page.on("dialog", lambda dialog: dialog.accept())

    # when a marketer starts a draft from the agreement page
    browser_login(marketer)
    page.goto("/agreement/")
    page.get_by_role("button", name="Start a draft to change it").click()
    expect(page.get_by_role("heading", name="v2 · Draft based on v1")).to_be_visible()

    # and edits the pricing rule inline, first with a mistake
    section = page.locator("#section-engagement_rules")
    section.get_by_role("button", name="Edit Pricing page view").click()
    form = section.locator("form.rule-form")
    expect(form.get_by_label("Name")).to_be_focused()
    form.get_by_label("Counts for (days)").fill("")
    form.get_by_label("Where property").fill("path")
    form.get_by_label("Operator").select_option("between")
    form.get_by_label("Value").fill("a, b")
    form.get_by_role("button", name="Save").click()
    # then the error stands beside the field and nothing is saved
    expect(form.get_by_text("“a” is not a number.")).to_be_visible()
    # when corrected
    form.get_by_label("Operator").select_option("starts_with")
    form.get_by_label("Value").fill("/pricing")
    form.get_by_label("Points").fill("25")
    form.get_by_role("button", name="Save").click()
    # then the row shows the new points without a page reload
    expect(section.get_by_role("row", name="Pricing page view")).to_contain_text("+25")

    # and the comparison with v1 says it in words
    page.get_by_role("link", name="Compare").click()
    expect(page.get_by_text("+15 → +25")).to_be_visible()
    page.go_back()
    page.get_by_role("button", name="Propose for sign-off").click()
    expect(page.get_by_text("Proposed. Both managers can now sign")).to_be_visible()

    # when the marketing manager signs
    draft = AgreementVersion.objects.get(number=2)
    browser_login(marketing_manager)
    page.goto(f"/agreement/versions/{draft.pk}/")
    page.get_by_role("button", name="Sign for marketing").click()
    expect(page.get_by_text("Waiting for the other side's signature.")).to_be_visible()

    # and the sales manager signs
    browser_login(sales_manager)
    page.goto(f"/agreement/versions/{draft.pk}/")
    page.get_by_role("button", name="Sign for sales").click()

    # then v2 is the agreement in force, with the new points, and v1 is superseded
    expect(page.get_by_text("v2 is now the active agreement")).to_be_visible()
    page.goto("/agreement/")
    expect(page.get_by_role("heading", name="v2 · Draft based on v1")).to_be_visible()
    expect(
        page.locator("#section-engagement_rules").get_by_role("row", name="Pricing page view")
    ).to_contain_text("+25")
    assert AgreementVersion.objects.get(number=1).status == Status.SUPERSEDED
