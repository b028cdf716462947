"""What-if preview of a draft agreement: current open leads judged now and past leads backtested."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from feedback import whatif
from feedback.models import Cycle
from feedback.whatif import whatif_for
from leads.scoring import leads_rescore
from sla.services import agreement_change, agreement_draft_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(agreement, marketer):
    """v2: threshold 50 → 40 and "Decision maker" +20 → +30."""
    version = agreement_draft_create(user=marketer, now=timezone.now())

    def change(content):
        content["mql"]["threshold"] = 40
        content["mql"]["fit_rules"][0]["points"] = 30
        return content

    return agreement_change(version_id=version.pk, user=marketer, change=change, now=timezone.now())


def test_current_open_leads_entering_and_leaving_the_queue(draft, make_lead):
    # given a lead at 45 points (director 20 + software 15 + webinar 10): below 50, above 40
    now = timezone.now()
    near = make_lead(now=now, first_name="Nora", last_name="Near", seniority="director", industry="software",
                     employees=40, activities=[("webinar", now - timedelta(days=2), {})])  # fmt: skip
    # and a lead far below both thresholds
    make_lead(now=now, first_name="Fay", last_name="Far", employees=40)
    # when the draft is previewed
    data = whatif_for(draft, now=now)
    current = data["current"]
    # then the near lead enters the queue under the draft, with its score under each version
    assert current["open_leads"] == 2
    assert (current["active"]["mqls"], current["draft"]["mqls"]) == (0, 1)
    assert (current["enter"], current["leave"]) == (1, 0)
    assert current["entering"] == [
        {
            "lead_id": near.pk,
            "name": "Nora Near",
            "company": "",
            "active_score": 45,
            "draft_score": 55,
            "active_tier": "",
            "draft_tier": "warm",
        }
    ]


def test_past_hand_overs_rescored_with_the_drafts_points(draft, make_lead, rep):
    # given two closed hand-overs: a decision maker at 45 points who was won, and a 50-pointer who was lost
    now = timezone.now()
    won = make_lead(now=now, seniority="director", industry="software", employees=40,
                    activities=[("demo_request", now - timedelta(minutes=5), {}), ("webinar", now, {})])  # fmt: skip
    lost = make_lead(now=now, industry="software", employees=500,
                     activities=[("demo_request", now - timedelta(minutes=5), {}), ("webinar", now, {}),
                                 ("page", now, {"path": "/pricing"})])  # fmt: skip
    with TestCase.captureOnCommitCallbacks(execute=True):  # committed: feedback opens their cycles
        leads_rescore(lead_ids=[won.pk, lost.pk], now=now)
    Cycle.objects.filter(lead=won).update(outcome="won", closed_at=now)
    Cycle.objects.filter(lead=lost).update(outcome="lost", closed_at=now)
    # when the draft is previewed
    past = whatif_for(draft, now=now)["past"]
    # then each version's full criteria are judged at each lead's hand-off
    assert (past["active"]["leads"], past["draft"]["leads"], past["at_hand_off"]) == (2, 2, 2)
    assert past["active"]["auc"]["auc"] == 0.0  # under v1 the won lead scored lower (45 < 50)
    assert past["draft"]["auc"]["auc"] == 1.0  # the draft's +30 decision maker ranks it first (55 > 50)
    assert past["draft"]["mqls"] == 2 and past["draft"]["won_among_mqls"] == 1


def test_the_page_and_the_command_show_the_same_preview(draft, marketing_manager, rep, login):
    page = login(marketing_manager).get(f"/feedback/agreements/{draft.pk}/what-if/")
    assert page.status_code == 200
    assert f"What if v{draft.number} were in force?" in page.content.decode()
    assert login(rep).get(f"/feedback/agreements/{draft.pk}/what-if/").status_code == 403
    out = StringIO()
    call_command("whatif", "--agreement", str(draft.number), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["draft"] == {"id": draft.pk, "number": draft.number, "threshold": 40}
    assert data["current"]["open_leads"] == 0


def test_the_draft_page_links_to_its_what_if(draft, marketer, login):
    html = login(marketer).get(draft.get_absolute_url()).content.decode()
    assert f"/feedback/agreements/{draft.pk}/what-if/" in html


def _leads(make_lead, n: int, now) -> None:
    for i in range(n):
        make_lead(now=now, seniority="director", industry="software", employees=40 + i,
                  activities=[("webinar", now - timedelta(days=2), {}), ("page", now - timedelta(days=1),
                              {"path": "/pricing"}), ("email_open", now - timedelta(hours=i + 1), {})])  # fmt: skip


def test_the_page_reads_the_same_number_of_queries_for_3_or_30_open_leads(
    draft, make_lead, marketing_manager, login, django_assert_max_num_queries
):
    now = timezone.now()
    client = login(marketing_manager)
    url = f"/feedback/agreements/{draft.pk}/what-if/"
    _leads(make_lead, 3, now)
    with django_assert_max_num_queries(40) as few:
        assert client.get(url).status_code == 200
    _leads(make_lead, 27, now)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url)
    assert "Of 30 open leads" in page.content.decode()


def test_leads_are_judged_chunk_by_chunk_with_the_same_result(draft, make_lead, monkeypatch):
    # given 11 open leads, some of which the draft's lower threshold would hand over
    now = timezone.now()
    _leads(make_lead, 11, now)
    make_lead(now=now, seniority="director", industry="software", employees=40,
              activities=[("webinar", now - timedelta(days=2), {})])  # fmt: skip
    whole = whatif_for(draft, now=now)["current"]
    # when they are read 4 at a time
    monkeypatch.setattr(whatif, "CHUNK", 4)
    chunked = whatif_for(draft, now=now)["current"]
    # then every lead is judged once, with the same verdicts
    assert chunked == whole
    assert chunked["open_leads"] == 12 and chunked["enter"] >= 1


def test_leads_that_would_change_tier(agreement, marketer, marketing_manager, login, make_lead):
    # given a draft without triggers: a demo request no longer makes a lead hot on its own
    version = agreement_draft_create(user=marketer, now=timezone.now())

    def no_triggers(content):
        content["mql"]["triggers"] = []
        return content

    draft = agreement_change(version_id=version.pk, user=marketer, change=no_triggers, now=timezone.now())
    now = timezone.now()
    # a decision maker who asked for a demo (hot now, and above the threshold on points alone)
    strong = make_lead(now=now, first_name="Sam", last_name="Strong", seniority="vp", industry="software",
                       employees=500, activities=[("demo_request", now - timedelta(minutes=10), {}),
                                                  ("webinar", now - timedelta(days=1), {})])  # fmt: skip
    # and a student at a company of 12 who asked for a demo (hot now only by the trigger)
    weak = make_lead(now=now, first_name="Wes", last_name="Weak", seniority="student", employees=12,
                     activities=[("demo_request", now - timedelta(minutes=10), {})])  # fmt: skip
    # when the draft is previewed
    current = whatif_for(draft, now=now)["current"]
    # then the strong lead stays an MQL but turns warm, and the weak one leaves the queue
    assert (current["active"]["hot"], current["draft"]["hot"]) == (2, 0)
    assert [(r["lead_id"], r["active_tier"], r["draft_tier"]) for r in current["retiering"]] == [
        (strong.pk, "hot", "warm")
    ]
    assert current["retier"] == 1
    assert [r["lead_id"] for r in current["leaving"]] == [weak.pk]
    # and the page lists the strong lead under the tier changes
    html = login(marketing_manager).get(f"/feedback/agreements/{draft.pk}/what-if/").content.decode()
    changes = html.split("1 MQL would change tier")[1]
    assert "Sam Strong" in changes.split("</section>")[0]
