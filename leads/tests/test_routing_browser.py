"""A sales manager in a real headless Chromium: sees a rep over capacity on the routing screen, gives them more
room and a higher weight, marks another away, and finds both reflected in the Assign menu of the queue."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alignment.roles import Role
from leads.models import Lead, RepProfile, State
from leads.queue import lead_assign

pytestmark = pytest.mark.browser


def test_manager_sets_capacity_weight_and_absence_on_the_routing_screen(
    page, browser_login, agreement, make_user, sales_manager
):
    # given a rep at capacity and one available
    now = timezone.now()
    full = make_user(Role.REP, username="fran", first_name="Fran", last_name="Full")
    make_user(Role.REP, username="otto", first_name="Otto", last_name="Open")
    RepProfile.objects.create(user=full, capacity=1)
    owned = Lead.objects.create(email="owned@acme.example", state=State.MQL, tier="warm", mql_at=now,
                                created_at=now, updated_at=now)  # fmt: skip
    lead_assign(lead_id=owned.pk, rep=full, by="test", now=now)

    # when the manager opens Routing from the navigation
    browser_login(sales_manager)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Routing").click()
    fran = page.locator("tr", has_text="Fran Full")
    otto = page.locator("tr", has_text="Otto Open")
    # then Fran is shown over capacity and Otto available
    expect(fran).to_contain_text("over capacity (1/1)")
    expect(otto).to_contain_text("available")

    # and when the manager gives Fran room for 5 leads and weight 2
    fran.get_by_text("Edit").click()
    fran.get_by_label("Capacity (open leads)").fill("5")
    fran.get_by_label("Weight").fill("2")
    fran.get_by_role("button", name="Save Fran Full").click()
    # then the page says so and Fran is available with weight 2
    expect(page.get_by_text("Saved routing for Fran Full.")).to_be_visible()
    expect(fran).to_contain_text("available")
    expect(fran.locator("td.num").nth(0)).to_have_text("1 / 5")
    expect(fran.locator("td.num").nth(1)).to_have_text("2")

    # and when Otto is marked away until tomorrow
    otto.get_by_text("Edit").click()
    otto.get_by_label("Away now").check()
    otto.get_by_role("button", name="Save Otto Open").click()
    expect(otto).to_contain_text("away")

    # then the queue's Assign menu still offers Otto, marked away
    waiting = Lead.objects.create(email="wait@acme.example", first_name="Wanda", last_name="Waiting",
                                  state=State.MQL, tier="warm", mql_at=now, created_at=now, updated_at=now,
                                  claim_due_at=now + timedelta(hours=4))  # fmt: skip
    page.goto(page.url.split("/leads/")[0] + f"/leads/{waiting.pk}/assign/")
    options = page.locator("select[name=rep] option")
    expect(options.filter(has_text="Otto Open")).to_contain_text("away")
    expect(options.filter(has_text="Fran Full")).not_to_contain_text("over capacity")
