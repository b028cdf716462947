"""A rep's morning in a real headless Chromium: filter the queue, claim a hot lead, find it in Mine, read why."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alignment.testing.browser import assert_one_layout
from leads.models import Lead
from leads.scoring import leads_rescore

pytestmark = pytest.mark.browser


def test_rep_filters_claims_a_hot_lead_and_reads_why_it_is_hot(
    page, browser_login, agreement, make_lead, rep
):
    # given a hot lead that requested a demo minutes ago, and a warm one
    now = timezone.now()
    hot = make_lead(now=now, first_name="Hana", last_name="Hot", company="Hooli", employees=20, source="Google",
                    activities=[("demo_request", now - timedelta(minutes=3), {})])  # fmt: skip
    warm = make_lead(now=now, first_name="Walt", last_name="Warm", company="Wonka", employees=500, seniority="vp",
                     industry="software", source="Reference", activities=[("webinar", now, {})])  # fmt: skip
    leads_rescore(lead_ids=[hot.pk, warm.pk], now=now)

    # when the rep logs in and opens the queue
    browser_login(rep)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Queue").click()
    table = page.locator("#queue-table")
    expect(table.get_by_role("link", name="Hana Hot")).to_be_visible()
    expect(table.get_by_role("link", name="Walt Warm")).to_be_visible()

    # and filters to hot leads
    page.locator("select[name=tier]").select_option("hot")
    expect(table.get_by_role("link", name="Walt Warm")).to_have_count(0)
    assert "tier=hot" in page.url
    row = table.get_by_role("row", name="Hana Hot")
    expect(row).to_contain_text("requested a demo")

    # and sorting by score swaps only the table, keeping one page on screen
    table.get_by_role("link", name="Score").click()
    page.wait_for_url("**sort=*")
    assert_one_layout(page)

    # and claims the hot lead from its row
    row.get_by_role("button", name="Claim").click()
    expect(table.get_by_text("is yours")).to_be_visible()

    # then it is in "Mine", with the first-contact clock running
    page.get_by_role("link", name="Mine").click()
    mine_row = page.locator("#queue-table").get_by_role("row", name="Hana Hot")
    expect(mine_row).to_contain_text(rep.first_name)
    expect(mine_row).to_contain_text("First contact")

    # and the lead page says in words why it is hot
    mine_row.get_by_role("link", name="Hana Hot").click()
    expect(page.get_by_role("heading", name="Hana Hot")).to_be_visible()
    # as a page of its own: one nav, one footer, no queue filters around it
    assert_one_layout(page)
    expect(page.locator("form.filters")).to_have_count(0)
    expect(page.get_by_text("Demo request: requested a demo")).to_be_visible()
    expect(page.get_by_role("heading", name="SLA clocks")).to_be_visible()


def test_the_rep_who_loses_a_claim_race_is_told_who_has_the_lead(
    page, browser_login, agreement, make_lead, rep, make_user
):
    from alignment.roles import Role
    from leads.queue import lead_claim

    # given a hot lead on the rep's screen
    now = timezone.now()
    hanako = make_user(Role.REP, username="hsato", first_name="Hanako", last_name="Sato")
    lead = make_lead(now=now, first_name="Rita", last_name="Race", company="Rapid", employees=20,
                     activities=[("demo_request", now - timedelta(minutes=1), {})])  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=now)
    browser_login(rep)
    page.goto("/leads/queue/")
    row = page.locator("#queue-table").get_by_role("row", name="Rita Race")
    expect(row.get_by_role("button", name="Claim")).to_be_visible()

    # when a colleague claims it first, then the rep presses Claim
    lead_claim(lead_id=lead.pk, rep=hanako, now=timezone.now())
    row.get_by_role("button", name="Claim").click()

    # then the rep reads who has it, the row shows her as owner, and no bare status code is shown
    table = page.locator("#queue-table")
    expect(table.get_by_role("alert")).to_have_text("Already claimed by Hanako Sato.")
    expect(table.get_by_role("row", name="Rita Race")).to_contain_text("Hanako Sato")
    expect(page.locator("#htmx-error")).to_be_hidden()
    assert_one_layout(page)


def test_a_new_hot_lead_is_announced_in_a_visible_banner_the_rep_can_dismiss(
    page, browser_login, agreement, make_lead, rep, settings
):
    # given the queue open on the rep's screen, refreshing every second
    settings.QUEUE_POLL_SECONDS = 1
    now = timezone.now()
    make_lead(now=now, first_name="Walt", last_name="Warm", company="Wonka", employees=500, seniority="vp",
              industry="software", activities=[("webinar", now, {})])  # fmt: skip
    leads_rescore(lead_ids=list(Lead.objects.values_list("pk", flat=True)), now=now)
    browser_login(rep)
    page.goto("/leads/queue/")
    expect(page.locator("#queue-table").get_by_role("link", name="Walt Warm")).to_be_visible()
    banner = page.locator("#hot-banner")
    expect(banner).to_be_hidden()

    # when a hot lead arrives
    hot = make_lead(now=now, first_name="Hana", last_name="Hot", company="Hooli", employees=20,
                    activities=[("demo_request", timezone.now(), {})])  # fmt: skip
    leads_rescore(lead_ids=[hot.pk], now=timezone.now())

    # then a banner anyone can see says so, above the table, and the hot lead is listed first with its clock
    expect(banner).to_be_visible(timeout=10_000)
    expect(banner).to_contain_text("1 new hot lead in the queue")
    first_row = page.locator("#queue-table tbody tr").first
    expect(first_row).to_contain_text("Hana Hot")
    expect(first_row).to_contain_text("business minutes")
    # and the rep dismisses it
    banner.get_by_role("button", name="Dismiss").click()
    expect(banner).to_be_hidden()
