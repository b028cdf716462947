"""What a rep sees of in-app notifications in a real Chromium: the bell's count after the page loads (htmx,
no inline script, no CSP violation), the list, and a click that opens one and lowers the count."""

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from alignment import outbox
from alignment.models import OutboxMessage

pytestmark = pytest.mark.browser


def deliver_inapp(user, ref, text, url):
    now = timezone.now()
    with transaction.atomic():
        outbox.outbox_put(event="lead.hot", ref=ref, channel="inapp", recipient=str(user.pk),
                          payload={"text": text, "url": url}, now=now)  # fmt: skip
    for message in OutboxMessage.objects.filter(status="pending"):
        outbox.message_deliver(message_id=message.pk, now=now)


def test_the_bell_shows_the_unread_count_and_opening_one_marks_it_read(
    page, browser_login, rep, sales_manager
):
    # given two notifications for the rep (delivered through the outbox) and one for someone else
    deliver_inapp(rep, "lead.hot:1", "Hot lead: Ann Lee (Acme) — requested a demo.", "/")
    deliver_inapp(rep, "sla.warning:2", "SLA warning: the claim deadline on Bob is near.", "/notifications/")
    deliver_inapp(sales_manager, "sla.escalated:3", "SLA escalation (step 2) on Cy.", "/")
    csp_violations: list[str] = []
    page.on(
        "console",
        lambda msg: csp_violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    # when the rep logs in
    browser_login(rep)
    # then the bell in the header shows 2 unread
    bell = page.locator("#bell")
    expect(bell.get_by_test_id("unread-count")).to_have_text("2")
    # when they open the bell and click the hot lead
    bell.click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    expect(page.get_by_text("2 unread.")).to_be_visible()
    expect(page.get_by_text("SLA escalation")).to_have_count(0)
    page.get_by_role("button", name="Hot lead: Ann Lee (Acme) — requested a demo.").click()
    # then they land on its page and the bell says 1
    page.wait_for_url(lambda url: "/notifications/" not in url)
    expect(page.locator("#bell").get_by_test_id("unread-count")).to_have_text("1")
    # and the list shows the other one still new; "Mark all read" empties the bell
    page.goto("/notifications/")
    expect(page.get_by_text("1 unread.")).to_be_visible()
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_text("Nothing unread.")).to_be_visible()
    expect(page.locator("#bell").get_by_test_id("unread-count")).to_have_count(0)
    expect(page.locator("#bell")).to_have_text("Notifications")
    assert csp_violations == []
