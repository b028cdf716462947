"""In Chromium: Enterprise Japan's sales manager opens the trend and the monthly review and sees their own
segment's figures only (two Japanese hand-overs, not the SMB one)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from alignment.testing.browser import watch_page
from feedback.models import Cycle
from leads.demo import JAPAN_TEAM, demo_segments_ensure
from leads.scoring import leads_rescore

pytestmark = pytest.mark.browser

PASSWORDS = {username: password for username, password, *_ in JAPAN_TEAM}


@pytest.fixture
def handed_over(transactional_db, agreement, make_lead):
    from sla.models import Segment

    Segment.objects.ensure_default()
    now = timezone.now()
    segments = demo_segments_ensure(now=now, signed_at=now - timedelta(days=1))
    demo = [("demo_request", now - timedelta(minutes=5), {})]
    leads = [
        make_lead(now=now, country="Japan", employees=3000, seniority="director", activities=demo),
        make_lead(now=now, country="Japan", employees=900, seniority="director", activities=demo),
        make_lead(now=now, country="United Kingdom", employees=40, seniority="director", activities=demo),
    ]
    leads_rescore(lead_ids=[lead.pk for lead in leads], now=now)
    japan = segments.japan
    assert Cycle.objects.filter(agreement__segment=japan).count() == 2 and Cycle.objects.count() == 3
    return now, japan


def test_a_segment_manager_sees_only_their_segments_trend_and_review(page, browser_login, handed_over):
    problems = watch_page(page)
    now, japan = handed_over
    month = f"{now:%Y-%m}"
    manager = get_user_model().objects.get(username="jp-salesmanager")
    browser_login(manager, PASSWORDS["jp-salesmanager"])
    # the trend: Enterprise Japan's, two MQLs delivered this month, no choice of all segments
    page.goto(f"/feedback/trend/?to={month}&months=1")
    expect(page.locator("#trend-segment")).to_have_text("Enterprise Japan")
    expect(page.locator("#trend-table tbody tr").first.locator("td").nth(2)).to_contain_text("2 /")
    expect(page.locator("select#segment option[value='']")).to_have_count(0)
    # the monthly review: Enterprise Japan's, its two hand-overs (the funnel's MQL row), its CSV links
    page.goto(f"/feedback/review/?month={month}")
    expect(page.locator("#review-segment")).to_have_text("Enterprise Japan")
    expect(page.locator("#funnel tbody tr").nth(1).locator("td").nth(1)).to_have_text("2")
    csv_link = f"/feedback/review/export.csv?month={month}&segment={japan.pk}&table=funnel"
    expect(page.locator("#funnel a", has_text="CSV")).to_have_attribute("href", csv_link)
    assert problems.all() == []
