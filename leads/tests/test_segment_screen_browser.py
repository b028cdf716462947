"""The segments screen in Chromium: Enterprise Japan's sales manager lowers the segment's bar from the keyboard,
sees how many open leads would move, applies, follows the background move's progress until it says how many
moved, and the moved lead's page shows its new segment; on a phone too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from alignment.testing.browser import assert_one_layout, screenshot
from leads import services, tasks
from leads.demo import JAPAN_TEAM, demo_segments_ensure
from leads.models import LeadEvent, RescoreJob

pytestmark = pytest.mark.browser

PASSWORDS = {username: password for username, password, *_ in JAPAN_TEAM}


@pytest.fixture
def demo(transactional_db, agreement, rep, sales_manager, marketing_manager, make_lead):
    from leads.scoring import leads_rescore
    from sla.models import Segment

    Segment.objects.ensure_default()  # migration sla 0003 made it; a flushed test database lost it
    now = timezone.now()
    segments = demo_segments_ensure(now=now, signed_at=now - timedelta(days=1))
    yamada = make_lead(now=now, first_name="Taro", last_name="Yamada", country="Japan", employees=3000)
    sato = make_lead(now=now, first_name="Jiro", last_name="Sato", country="Japan", employees=200)
    smith = make_lead(now=now, first_name="Jo", last_name="Smith", country="United Kingdom", employees=40)
    leads_rescore(lead_ids=[yamada.pk, sato.pk, smith.pk], now=now)
    sato.refresh_from_db()
    assert sato.segment_id in (None, segments.smb.pk)  # the default segment (None: placed by no version yet)
    return segments, sato


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width} px wide on a 390 px phone: it scrolls sideways"


def test_a_segment_manager_changes_the_conditions_previews_applies_and_the_lead_moves(
    page, browser_login, demo, monkeypatch
):
    segments, sato = demo
    # the worker is held back until the test runs it, to see the progress the page polls
    monkeypatch.setattr(tasks.rescore_job_run, "delay_on_commit", lambda *args, **kwargs: None)
    manager = get_user_model().objects.get(username="jp-salesmanager")
    # given Enterprise Japan's sales manager on the segments screen (from the main menu)
    browser_login(manager, PASSWORDS["jp-salesmanager"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Segments").click()
    assert_one_layout(page)
    card = page.locator(f"#segment-{segments.japan.pk}")
    expect(card).to_contain_text("country is Japan and employees ≥ 500")
    expect(card.locator(".segment-open")).to_contain_text("1")
    expect(page.locator(f"#segment-{segments.smb.pk}")).to_have_count(0)  # not their segment
    screenshot(page, "segments-list")
    # when they open it and lower the bar to 100 employees, from the keyboard
    card.get_by_role("link", name="Edit Enterprise Japan").click()
    assert_one_layout(page)
    value = page.locator("#id_cond-1-value")
    expect(value).to_have_value("500")
    value.focus()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("100")
    page.keyboard.press("Tab")
    # then the preview counts the one lead that would come in, before anything is saved
    expect(page.locator("#preview-moving")).to_have_text("1 open lead would move")
    expect(page.locator("#segment-preview")).to_contain_text("SMB global → Enterprise Japan: 1")
    screenshot(page, "segment-edit-preview")
    assert not LeadEvent.objects.filter(lead=sato, kind=LeadEvent.Kind.SEGMENT).exists()
    # when they apply (focus the button, Enter)
    page.locator("#segment-apply").focus()
    page.keyboard.press("Enter")
    # then it is saved and the move runs in the background, its progress shown
    expect(page.locator(".messages")).to_contain_text("Its open leads move in the background")
    expect(page.locator("#segment-conditions-now")).to_contain_text("employees ≥ 100")
    expect(page.locator("#segment-job")).to_contain_text("Moving open leads to their segments: 0 of 1.")
    assert_one_layout(page)
    screenshot(page, "segment-job-running")
    # when the worker runs it, then the polled progress ends saying how many moved
    services.rescore_job_run(job_id=RescoreJob.objects.get(agreement__isnull=True).pk, now_func=timezone.now)
    expect(page.locator("#segment-job-done")).to_contain_text("1 lead moved segment")
    screenshot(page, "segment-job-done")
    # and the lead's page says which segment and why
    page.goto(sato.get_absolute_url())
    expect(page.locator("#lead-segment")).to_contain_text("Segment: Enterprise Japan")
    expect(page.locator("#lead-segment")).to_contain_text("because country is Japan and employees ≥ 100")
    expect(page.locator("#lead-history")).to_contain_text("SMB global → Enterprise Japan")
    screenshot(page, "segment-lead-moved")


def test_the_segments_screen_works_on_a_phone(page, browser_login, demo):
    segments, _sato = demo
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(get_user_model().objects.get(username="jp-salesmanager"), PASSWORDS["jp-salesmanager"])
    page.goto("/leads/segments/")
    expect(page.get_by_role("heading", name="Enterprise Japan")).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "segments-list-phone")
    page.goto(f"/leads/segments/{segments.japan.pk}/")
    _no_sideways_scroll(page)
    expect(page.locator("#segment-apply")).to_be_visible()
    screenshot(page, "segment-edit-phone")
