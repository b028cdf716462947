"""Issue 16's "done when", in Chromium, on the demo data `make run` loads (`demo_data --segments`): Enterprise Japan's
and SMB global's managers each open their own trend — the version change marked, and "did last quarter's change
help?" answered with MQL→SQL, AUC and compliance before and after it —, export it as CSV, then run their own
monthly review: accept a suggestion and start the next draft, which is a draft of their own segment's agreement."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from alignment.testing.browser import assert_one_layout, screenshot
from sla.models import AgreementVersion, Segment

pytestmark = pytest.mark.browser

MANAGERS = [  # username, password, segment, screenshot name
    ("jp-salesmanager", "demo-jp-sales-pass", "Enterprise Japan", "japan"),
    ("salesmanager", "demo-sales-pass", "SMB global", "smb"),
]
VERDICTS = ("Yes, it helped", "No, it did not help", "Mixed", "No clear change", "Too early to tell")


@pytest.fixture
def demo(transactional_db):
    call_command("demo_data", "--segments", stdout=StringIO())
    return {s.name: s for s in Segment.objects.all()}


def _trend(page, segment, shot):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Trend").click()
    assert_one_layout(page)
    # their own segment's trend, with no way to all segments' or the other's
    expect(page.locator("#trend-segment")).to_have_text(segment.name)
    expect(page.locator("select#segment")).to_have_count(0)
    # the version change is marked on the charts and in the table
    version = AgreementVersion.objects.active_for(segment)
    funnel = page.get_by_role("img", name="Funnel rates, month by month")
    expect(funnel.locator("text.version-label").last).to_have_text(f"v{version.number}")
    expect(page.locator("#trend-table tr.version-changed").last).to_contain_text(f"v{version.number} new")
    # and "did last quarter's change help?" is answered: before against after, in plain words
    box = page.locator("#change-effect")
    expect(box.get_by_role("heading")).to_have_text("Did last quarter's change help?")
    answer = page.locator("#change-answer")
    expect(answer).to_contain_text(f"→ v{version.number}, in force since")
    assert any(verdict in answer.inner_text() for verdict in VERDICTS), answer.inner_text()
    expect(box.locator("tbody th")).to_have_text(
        [
            "Hand-overs",
            "MQL→SQL",
            "AUC of the score (closed hand-overs)",
            "Sales clocks met",
            "Median first contact",
        ]
    )
    expect(box.locator("tbody td")).to_have_count(10)  # before and after, each row
    expect(page.locator("#response-bands")).to_contain_text("within 5 min")
    screenshot(page, f"segment-trend-{shot}")
    # when they export it, then the CSV is their segment's months, the change marked
    with page.expect_download() as download:
        page.locator("form").get_by_role("link", name="CSV").click()
    assert f"segment-{segment.pk}" in download.value.suggested_filename
    rows = list(csv.DictReader(StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 12
    changed = [r for r in rows if r["version changed"] == "yes"]
    assert [r["agreement version"] for r in changed][-1] == f"v{version.number}"


def _review(page, segment, shot):
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    assert_one_layout(page)
    expect(page.locator("#review-segment")).to_have_text(segment.name)
    expect(page.locator("#draft-segment")).to_contain_text(f"changes the agreement of {segment.name}")
    # when they accept the first suggestion
    first = page.locator("li.suggestion").first
    title = first.locator("strong").first.inner_text()
    first.get_by_role("button", name="Accept").click()
    assert_one_layout(page)
    # then it is recorded as their segment's decision, pending for the next draft
    expect(page.locator(".messages")).to_contain_text("Suggestion accepted for the next draft.")
    expect(page.locator("#review-segment")).to_have_text(segment.name)
    expect(page.locator("#decisions tbody tr", has_text=title)).to_contain_text("pending")
    screenshot(page, f"segment-review-{shot}")
    # when they start the next draft, then it is a draft of their own segment's agreement, with that change
    page.get_by_role("button", name="Start the next draft with 1 accepted change").click()
    assert_one_layout(page)
    expect(page.locator("#version-segment")).to_have_text(f"Segment: {segment.name}")
    expect(page.locator(".messages")).to_contain_text("started with the accepted suggestions")
    draft = AgreementVersion.objects.get(status="draft", segment=segment)
    assert draft.title.startswith("Changes from the")
    screenshot(page, f"segment-draft-{shot}")


def test_each_segments_manager_judges_their_change_and_drafts_their_own_agreement(page, browser_login, demo):
    User = get_user_model()
    for username, password, name, shot in MANAGERS:
        segment = demo[name]
        browser_login(User.objects.get(username=username), password)
        _trend(page, segment, shot)
        _review(page, segment, shot)
    # each segment got its own draft, and nothing else did
    drafts = AgreementVersion.objects.filter(status="draft")
    assert sorted(d.segment.name for d in drafts) == ["Enterprise Japan", "SMB global"]
