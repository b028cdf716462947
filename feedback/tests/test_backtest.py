"""Backtest: a draft's full criteria judged on past leads as they stood at their own hand-off (or creation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from feedback import services
from feedback.backtest import backtest, history, verdicts
from feedback.models import Reason
from feedback.reasons import ensure_default_reasons
from leads.models import State
from leads.scoring import leads_rescore
from leads.services import ActivityData, LeadData, activities_record, lead_upsert
from sla.agreement import Agreement
from sla.services import agreement_change, agreement_draft_create

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday, in business hours
BANT = {key: {"met": True, "note": ""} for key in ("need", "authority", "timeframe")}


def _draft(agreement, marketer, change):
    version = agreement_draft_create(user=marketer, now=timezone.now())
    return agreement_change(version_id=version.pk, user=marketer, change=change, now=timezone.now())


def _imported(email: str, *, now: datetime, converted: int, **fields) -> int:
    """A lead never handed over whose result came with an import (a Converted column)."""
    lead, _ = lead_upsert(
        data=LeadData(email=email, fields=fields, custom={"outcome_converted": converted}), now=now
    )
    return lead.pk


def _activity(lead, kind: str, at: datetime, **properties) -> None:
    activities_record(lead=lead, activities=[ActivityData(type=kind, occurred_at=at, properties=properties)],
                      now=at)  # fmt: skip


def _index(past, lead_id: int) -> int:
    return past.population.lead_ids.tolist().index(lead_id)


def test_a_rule_the_draft_adds_is_judged_on_leads_never_handed_over(agreement, marketer):
    # given six leads imported with their results: the three from Japan converted, the three from France did not
    for i in range(3):
        _imported(f"jp{i}@acme.example", now=START, converted=1, country="Japan", employees=50)
        _imported(f"fr{i}@acme.example", now=START, converted=0, country="France", employees=50)

    # and a draft that adds a fit rule the active agreement does not have
    def add_japan(content):
        content["mql"]["fit_rules"].append({"id": "f9", "name": "Japan", "points": 60,
                                            "condition": {"field": "country", "op": "equals", "value": "Japan"}})  # fmt: skip
        return content

    draft = _draft(agreement, marketer, add_japan)
    # when the draft is backtested beside the active agreement
    past = backtest(Agreement.of(draft), Agreement.of(agreement), now=START + timedelta(days=1))
    # then every lead is judged at its creation, and the new rule is judged too
    assert (past["population"]["leads"], past["at_creation"], past["at_hand_off"]) == (6, 6, 0)
    assert past["active"]["auc"]["auc"] == 0.5  # nothing the active agreement scores tells them apart
    assert past["draft"]["auc"]["auc"] == 1.0
    # and the draft would have sent the three converted leads, the active one none
    assert (past["active"]["mqls"], past["draft"]["mqls"]) == (0, 3)
    assert (past["active"]["won_missed"], past["draft"]["won_missed"]) == (3, 0)
    assert past["months"] == [{"month": "2026-03", "leads": 6, "draft_mqls": 3, "draft_won": 3,
                               "active_mqls": 0, "active_won": 0}]  # fmt: skip
    # and conversion by band follows the draft's own range: the lowest band 0%, the highest 100%
    bands = past["draft"]["bands"]
    assert (bands[0]["conversion"], bands[-1]["conversion"]) == (0.0, 1.0)
    assert sum(b["leads"] for b in bands) == 6 and past["draft"]["bands_monotonic"]


def test_only_the_activity_up_to_the_hand_off_counts(agreement, marketer, sales_manager):
    # given two decision makers handed over hot on a demo request and won; one attended a webinar before its
    # hand-off, the other only after it
    leads = []
    for name in ("before", "after"):
        lead, _ = lead_upsert(data=LeadData(email=f"{name}@acme.example",
                                            fields={"seniority": "vp", "employees": 500}), now=START)  # fmt: skip
        _activity(lead, "demo_request", START - timedelta(minutes=10))
        leads.append(lead)
    _activity(leads[0], "webinar", START - timedelta(minutes=5))
    leads_rescore(lead_ids=[lead.pk for lead in leads], now=START)
    for lead in leads:
        services.lead_accept(lead_id=lead.pk, user=sales_manager, now=START + timedelta(hours=1))
        services.lead_qualify(
            lead_id=lead.pk, user=sales_manager, answers=BANT, now=START + timedelta(hours=2)
        )
        services.lead_win(
            lead_id=lead.pk, user=sales_manager, amount=Decimal(900), now=START + timedelta(days=1)
        )
    _activity(leads[1], "webinar", START + timedelta(days=2))

    # and a draft that makes a webinar worth 60 points
    def webinar_60(content):
        for rule in content["mql"]["engagement_rules"]:
            if rule["id"] == "e3":
                rule["points"] = 60
        return content

    draft = _draft(agreement, marketer, webinar_60)
    # when both are judged on history
    past = history(now=START + timedelta(days=3))
    scores = verdicts(Agreement.of(draft), past).scores
    before, after = (_index(past, lead.pk) for lead in leads)
    # then the webinar counts for the lead who attended it before its hand-off, not for the other
    assert past.handed_over == [True, True]
    assert scores[before] - scores[after] == 60


def test_a_lead_handed_over_again_counts_only_what_it_did_since_it_was_turned_down(
    agreement, marketer, sales_manager
):
    # given a decision maker at a 500-person company handed over hot on a demo request, and rejected
    ensure_default_reasons()
    rejection = Reason.objects.filter(kind=Reason.Kind.REJECTION).first()
    lead, _ = lead_upsert(data=LeadData(email="back@acme.example", fields={"seniority": "vp", "employees": 500}),
                          now=START)  # fmt: skip
    _activity(lead, "demo_request", START - timedelta(minutes=10))
    leads_rescore(lead_ids=[lead.pk], now=START)
    services.lead_reject(lead_id=lead.pk, user=sales_manager, reason=rejection, comment="", now=START + timedelta(minutes=30))  # fmt: skip
    # and handed over again a day later on a pricing page view (hot under the active agreement), then lost
    again = START + timedelta(days=1)
    _activity(lead, "page", again, path="/pricing")
    leads_rescore(lead_ids=[lead.pk], now=again)
    lead.refresh_from_db()
    assert lead.state == State.MQL and lead.tier == "hot"
    loss = Reason.objects.filter(kind=Reason.Kind.LOSS).first()
    services.lead_accept(lead_id=lead.pk, user=sales_manager, now=again + timedelta(hours=1))
    services.lead_qualify(lead_id=lead.pk, user=sales_manager, answers=BANT, now=again + timedelta(hours=2))
    services.lead_lose(lead_id=lead.pk, user=sales_manager, reason=loss, comment="no budget", now=again + timedelta(days=1))  # fmt: skip

    # and a draft without the pricing trigger (the demo request trigger still looks back 7 days)
    def no_pricing_trigger(content):
        content["mql"]["triggers"] = [t for t in content["mql"]["triggers"] if t["id"] != "t2"]
        return content

    draft = _draft(agreement, marketer, no_pricing_trigger)
    # when both are judged on history
    past = history(now=again + timedelta(days=2))
    i = _index(past, lead.pk)
    active, judged = verdicts(Agreement.of(agreement), past), verdicts(Agreement.of(draft), past)
    # then the lead is judged at its second hand-off on what it did since the rejection: hot by the pricing
    # trigger under the active agreement; under the draft the old demo request does not make it hot again
    assert past.at[i] == again and past.since[i] == START + timedelta(minutes=30)
    assert (bool(active.mql[i]), bool(active.hot[i])) == (True, True)
    assert (bool(judged.mql[i]), bool(judged.hot[i])) == (False, False)
    assert judged.scores[i] == 20 + 10 + 15  # decision maker, 100+ employees, the pricing page


def test_the_what_if_page_shows_the_backtest_side_by_side_in_bounded_queries(
    agreement, marketer, marketing_manager, login, django_assert_max_num_queries
):
    def lower(content):
        content["mql"]["threshold"] = 30
        return content

    draft = _draft(agreement, marketer, lower)
    client = login(marketing_manager)
    url = f"/feedback/agreements/{draft.pk}/what-if/"
    for i in range(4):
        _imported(
            f"few{i}@acme.example", now=timezone.now(), converted=i % 2, seniority="vp", employees=50 * i
        )
    with django_assert_max_num_queries(40) as few:
        page = client.get(url)
    for i in range(40):
        _imported(
            f"many{i}@acme.example", now=timezone.now(), converted=i % 2, seniority="vp", employees=10 * i
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "44 leads with a known result, 22 converted" in html
    assert 'id="whatif-past-bands"' in html and f"Draft v{draft.number}" in html


def test_a_segments_draft_is_backtested_on_its_own_segments_leads_only(agreement, marketer):
    from leads.models import Lead
    from sla.models import Segment

    # given six leads with known results, two of them in Enterprise Japan
    japan = Segment.objects.create(name="Enterprise Japan", position=10, conditions=[])
    ids = [_imported(f"p{i}@acme.example", now=START, converted=i % 2, employees=50) for i in range(6)]
    Lead.objects.filter(pk__in=ids[:2]).update(segment=japan)
    draft = _draft(agreement, marketer, lambda content: content)
    # when the draft is backtested for Japan, for the default segment, and for everything
    runs = [
        backtest(Agreement.of(draft), Agreement.of(agreement), now=START + timedelta(days=1), segment=segment)
        for segment in (japan, Segment.objects.ensure_default(), None)
    ]
    # then each judges only its own leads (the default segment also holds leads not yet placed)
    assert [run["population"]["leads"] for run in runs] == [2, 4, 6]
