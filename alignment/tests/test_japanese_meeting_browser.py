"""The monthly cycle in Japanese, in a real headless Chromium: a rep works the queue and a lead (logs a contact,
accepts it), then a manager runs the review meeting (accepts a suggestion, starts the next draft), reads the
trend and the draft's what-if. No English UI word may remain on any of those screens: every word in Latin
letters must be data (names, companies, e-mail addresses, the agreement's own rule names) or a code everyone
uses as it is (MQL, SLA, AUC, CSV, ...)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from alignment.demo import ensure_demo_users
from alignment.models import UserPreference
from alignment.roles import Role
from alignment.testing.browser import assert_one_layout, screenshot
from alignment.testing.japanese import data_words, english_in
from feedback.demo import demo_cycles_generate
from feedback.reasons import ensure_default_reasons
from feedback.reports import previous_month
from leads.demo import demo_leads_generate
from leads.scoring import Rules, leads_rescore
from sla.models import AgreementVersion

pytestmark = pytest.mark.browser


def english_left(page: Page, allowed: set[str]) -> list[str]:
    """Latin words on screen (text and the labels a screen reader announces) that are neither data nor codes,
    each with the text around it."""
    text = page.inner_text("body")
    labels = page.eval_on_selector_all(
        "[aria-label], [title], [placeholder], img[alt]",
        "els => els.map(e => [e.getAttribute('aria-label'), e.getAttribute('title'),"
        " e.getAttribute('placeholder'), e.getAttribute('alt')].filter(Boolean).join(' '))",
    )
    return english_in(" ".join([text, *labels]), allowed)


def test_a_japanese_team_runs_the_month_in_japanese(page, browser_login, agreement, make_user, make_lead):
    # given six months of demo history, a Japanese rep with a fresh hot lead, and a Japanese marketing manager
    ensure_default_reasons()
    ensure_demo_users()
    reps = list(get_user_model().objects.filter(groups__name=Role.REP.value))
    now = timezone.now()
    demo_leads_generate(rules=Rules.of(agreement), now=now, reps=reps, count=300)
    demo_cycles_generate()
    rep = make_user(Role.REP, username="yamada", first_name="花子", last_name="山田")
    manager = make_user(Role.MARKETING_MANAGER, username="sato", first_name="一郎", last_name="佐藤")
    for user in (rep, manager):
        UserPreference.objects.create(user=user, language="ja", time_zone="Asia/Tokyo")
    lead = make_lead(now=now, email="taro@sample.co.jp", first_name="太郎", last_name="鈴木",
                     company="株式会社サンプル", job_title="営業部長", employees=1200,
                     activities=[("demo_request", now - timedelta(minutes=3), {})])  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=now)
    allowed = data_words()
    seen: dict[str, list[str]] = {}

    def check(name: str) -> None:
        assert_one_layout(page)
        screenshot(page, f"ja-{name}")
        seen[name] = english_left(page, allowed)

    # when the rep opens the queue and claims the lead
    browser_login(rep)
    page.get_by_role("navigation", name="メイン").get_by_role("link", name="キュー").click()
    expect(page.get_by_role("heading", name="リードキュー")).to_be_visible()
    check("queue")
    row = page.locator("#queue-table").get_by_role("row", name="鈴木 太郎")
    row.get_by_role("button", name="着手").click()
    expect(page.locator("#queue-table").get_by_text("の担当になりました")).to_be_visible()
    check("queue-claimed")

    # and opens it, logs a call and accepts it
    page.goto(lead.get_absolute_url())
    expect(page.get_by_role("heading", name="鈴木 太郎")).to_be_visible()
    check("lead")
    panel = page.locator("#outcome-panel")
    panel.get_by_label("接触手段").select_option("call")
    panel.get_by_label("メモ").fill("部長と電話で話した。来月デモ希望。")
    panel.get_by_role("button", name="接触を記録する").click()
    expect(page.get_by_text("部長と電話で話した。")).to_be_visible()
    check("lead-contacted")
    panel.get_by_role("button", name="リードを受け入れる").click()
    expect(page.locator("#outcome-panel").get_by_text("SAL")).to_be_visible()
    check("lead-accepted")
    page.get_by_role("button", name="ログアウト").click()

    # when the marketing manager runs last month's review meeting
    browser_login(manager)
    month = previous_month(date(now.year, now.month, 1))
    page.get_by_role("navigation", name="メイン").get_by_role("link", name="レビュー").click()
    expect(page.get_by_role("heading", name=f"月次レビュー · {month.year}年{month.month}月")).to_be_visible()
    check("review")
    page.locator("li.suggestion").first.get_by_role("button", name="受け入れる").click()
    start = page.get_by_role("button", name="採用した 1 件の変更で次の下書きを作成")
    expect(start).to_be_enabled()
    check("review-accepted")
    start.click()
    expect(page.get_by_role("heading", name=re.compile("v2"))).to_be_visible()
    draft = AgreementVersion.objects.get(status="draft")
    check("draft")

    # and reads the trend and the draft's what-if
    page.get_by_role("navigation", name="メイン").get_by_role("link", name="推移").click()
    check("trend")
    page.goto(reverse("feedback:whatif", args=[draft.pk]))
    check("whatif")

    # then no screen showed an English word
    assert {name: words for name, words in seen.items() if words} == {}
