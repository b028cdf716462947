"""A Japanese rep's walk in a real headless Chromium: the queue, a lead and the monthly review, all in Japanese."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alignment.models import UserPreference
from leads.scoring import leads_rescore

pytestmark = pytest.mark.browser

# English UI labels of those three pages; none may be left once the page is Japanese.
ENGLISH_LABELS = ["Lead queue", "Filter", "Clear", "Who", "Why now", "Score", "Owner", "Claim this lead",
                  "Why this lead", "Facts", "SLA clocks", "Activity", "History", "Monthly review", "Funnel",
                  "Previous month", "Suggestions for the next agreement", "Decisions", "Log out", "Home"]  # fmt: skip


def english_left(text: str) -> list[str]:
    return [label for label in ENGLISH_LABELS if re.search(rf"\b{re.escape(label)}\b", text)]


def test_a_japanese_rep_walks_the_queue_a_lead_and_the_review(page, browser_login, agreement, make_lead, rep):
    # given a rep who chose Japanese and Tokyo time, and a hot lead that requested a demo
    UserPreference.objects.create(user=rep, language="ja", time_zone="Asia/Tokyo")
    now = timezone.now()
    lead = make_lead(now=now, first_name="太郎", last_name="山田", company="株式会社サンプル", job_title="営業部長",
                     employees=1200, activities=[("demo_request", now - timedelta(minutes=3), {})])  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=now)

    # when the rep logs in and opens the queue
    browser_login(rep)
    page.get_by_role("navigation", name="メイン").get_by_role("link", name="キュー").click()
    expect(page.get_by_role("heading", name="リードキュー")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "ja"
    table = page.locator("#queue-table")
    row = table.get_by_role("row", name="山田 太郎")
    expect(row).to_contain_text("株式会社サンプル")
    expect(row).to_contain_text("ホット")
    assert english_left(page.inner_text("body")) == []

    # and claims the lead
    row.get_by_role("button", name="着手").click()
    expect(table.get_by_text("の担当になりました")).to_be_visible()
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "queue-ja.png"), full_page=True)

    # then the lead page is Japanese, family name first
    table.get_by_role("link", name="山田 太郎").click()
    expect(page.get_by_role("heading", name="山田 太郎")).to_be_visible()
    expect(page.get_by_role("heading", name="このリードの理由")).to_be_visible()
    expect(page.get_by_role("heading", name="SLA の時計")).to_be_visible()
    expect(page.get_by_text("従業員 1,200 名")).to_be_visible()
    expect(page.get_by_role("heading", name="結果", exact=True)).to_be_visible()  # the outcome panel loaded
    assert english_left(page.inner_text("body")) == []

    # and so is the monthly review
    page.get_by_role("navigation", name="メイン").get_by_role("link", name="レビュー").first.click()
    expect(page.get_by_role("heading", name=re.compile("月次レビュー"))).to_be_visible()
    expect(page.get_by_role("heading", name="ファネル")).to_be_visible()
    expect(page.get_by_role("heading", name="次の合意への提案")).to_be_visible()
    assert english_left(page.inner_text("body")) == []
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "review-ja.png"), full_page=True)
