"""The two demo segments end to end in Chromium: each rep sees only their segment's queue, each manager signs
only their segment's agreement, and the lead page says which segment and why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from leads.demo import JAPAN_TEAM, demo_segments_ensure
from leads.scoring import leads_rescore
from sla.models import Side
from sla.services import agreement_draft_create, agreement_propose, agreement_sign

pytestmark = pytest.mark.browser

PASSWORDS = {username: password for username, password, *_ in JAPAN_TEAM}


def busy(now):
    return [
        ("download", now - timedelta(days=2), {"asset": "Case study: Acme"}),
        ("download", now - timedelta(days=3), {"asset": "Case study: Globex"}),
        ("webinar", now - timedelta(days=4), {"name": "Q1 launch"}),
    ]


@pytest.fixture
def default_segment(transactional_db):
    from sla.models import Segment

    return Segment.objects.ensure_default()  # migration sla 0003 made it; a flushed test database lost it


@pytest.fixture
def demo(default_segment, agreement, rep, sales_manager, marketing_manager, make_lead):
    now = timezone.now()
    segments = demo_segments_ensure(now=now, signed_at=now - timedelta(days=1))
    yamada = make_lead(now=now, first_name="Taro", last_name="Yamada", seniority="director", industry="software",
                       country="Japan", employees=3000, activities=busy(now))  # fmt: skip
    smith = make_lead(now=now, first_name="Jo", last_name="Smith", seniority="director", industry="software",
                      country="United Kingdom", employees=40, activities=busy(now))  # fmt: skip
    leads_rescore(lead_ids=[yamada.pk, smith.pk], now=now)
    return segments, yamada, smith


def jp(username):
    return get_user_model().objects.get(username=username)


def test_each_segments_rep_sees_only_their_own_queue(page, browser_login, demo, rep):
    segments, yamada, smith = demo
    # when the Enterprise Japan rep opens the queue
    browser_login(jp("jp-rep"), PASSWORDS["jp-rep"])
    page.goto("/leads/queue/")
    # then only the Japanese enterprise lead is there
    expect(page.get_by_role("link", name="Taro Yamada")).to_be_visible()
    expect(page.get_by_text("Jo Smith")).to_have_count(0)
    # and its page says which segment and why
    page.get_by_role("link", name="Taro Yamada").click()
    expect(page.locator("#lead-segment")).to_contain_text("Segment: Enterprise Japan")
    expect(page.locator("#lead-segment")).to_contain_text("because country is Japan and employees ≥ 500")
    # when the SMB rep opens the queue, then only the SMB lead is there
    browser_login(rep)
    page.goto("/leads/queue/")
    expect(page.get_by_role("link", name="Jo Smith")).to_be_visible()
    expect(page.get_by_text("Taro Yamada")).to_have_count(0)


def test_a_manager_signs_only_their_own_segments_agreement(page, browser_login, demo, sales_manager):
    segments, *_ = demo
    japan_marketing = jp("jp-marketingmanager")
    # given Enterprise Japan's marketing manager proposes a change and signs it
    draft = agreement_draft_create(user=japan_marketing, now=timezone.now(), segment=segments.japan)
    agreement_propose(version_id=draft.pk, user=japan_marketing, now=timezone.now())
    agreement_sign(version_id=draft.pk, user=japan_marketing, now=timezone.now(), side=Side.MARKETING)
    # when the SMB sales manager tries to open it, then it is not theirs
    browser_login(sales_manager)
    response = page.goto(f"/agreement/versions/{draft.pk}/")
    assert response.status == 404
    page.problems.forget("404")
    # and their agreement page shows SMB global's agreement only
    page.goto("/agreement/")
    expect(page.locator("#version-segment")).to_have_text("Segment: SMB global")
    # when Japan's sales manager opens it and signs
    page.on("dialog", lambda dialog: dialog.accept())
    browser_login(jp("jp-salesmanager"), PASSWORDS["jp-salesmanager"])
    page.goto(f"/agreement/versions/{draft.pk}/")
    expect(page.locator("#version-segment")).to_have_text("Segment: Enterprise Japan")
    page.get_by_role("button", name="Sign for sales").click()
    # then it is Enterprise Japan's agreement in force, and SMB global's stays as it was
    expect(page.get_by_text(f"v{draft.number} is now the active agreement")).to_be_visible()
    page.goto("/agreement/")
    expect(page.get_by_role("heading", name=f"v{draft.number}")).to_be_visible()
