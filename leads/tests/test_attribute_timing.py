"""Rules on attributes written after hand-off: each lead notes when every field and custom attribute first got a
value (`lead_facts_apply`), and an attribute most handed-over leads got only after their hand-off is refused in
the agreement editor and never proposed by the review."""

import html
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.urls import reverse

from feedback.learning import population as pop
from feedback.learning.candidates import candidates_for
from leads.attribute_timing import late_attributes
from leads.intake.ingest import events_ingest
from leads.lifecycle.hand_overs import hand_overs_record
from leads.models import Lead
from leads.services import LeadData, lead_merge, lead_upsert
from sla import services as sla_services
from sla.models import AgreementVersion

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HANDED = T0 + timedelta(hours=1)
SYNCED = T0 + timedelta(days=2)  # the CRM sync, after the hand-off


def _lead(n: int, custom: dict, at: datetime) -> Lead:
    lead, _created = lead_upsert(data=LeadData(email=f"p{n}@acme.example", custom=custom), now=at)
    return lead


@pytest.fixture
def handed_over_leads():
    """25 handed-over leads: all had `region` before their hand-off; `crm_stage` came before it for 5 of them and
    only after it, from the CRM sync, for the other 20 (80%)."""
    leads = [_lead(n, {"region": "EU", **({"crm_stage": "Open"} if n < 5 else {})}, T0) for n in range(25)]
    hand_overs_record(leads, at=HANDED)
    for n in range(5, 25):
        _lead(n, {"crm_stage": "Won"}, SYNCED)
    return leads


def test_a_lead_notes_when_each_fact_first_appeared_and_keeps_it_on_later_updates():
    # given a lead first seen with a company, later given a custom attribute, then a new company
    _lead(1, {}, T0)
    lead_upsert(data=LeadData(email="p1@acme.example", fields={"company": "Acme"}), now=T0)
    lead_upsert(data=LeadData(email="p1@acme.example", custom={"crm_stage": "Open"}), now=SYNCED)
    lead_upsert(data=LeadData(email="p1@acme.example", fields={"company": "Acme Ltd"}), now=SYNCED)
    # then each fact keeps the time it first had a value
    seen = Lead.objects.get(email="p1@acme.example").attribute_seen_at
    assert datetime.fromisoformat(seen["company"]) == T0
    assert datetime.fromisoformat(seen["crm_stage"]) == SYNCED


def test_a_merge_keeps_the_earlier_time_of_a_fact_both_leads_had():
    # given two leads of one person: the later one saw the industry first
    keep = lead_upsert(data=LeadData(email="a@acme.example", fields={"industry": "software"}), now=SYNCED)[0]
    merge = lead_upsert(data=LeadData(email="b@acme.example", fields={"industry": "software"}), now=T0)[0]
    # when they are merged
    lead_merge(keep=keep, merge=merge, now=SYNCED + timedelta(days=1), reason="same person")
    # then the kept lead says the industry was known since the merged lead knew it
    assert datetime.fromisoformat(Lead.objects.get(pk=keep.pk).attribute_seen_at["industry"]) == T0


def test_late_attributes_counts_only_what_came_after_each_leads_hand_off(handed_over_leads):
    late = late_attributes()
    assert set(late) == {"crm_stage"}
    assert (late["crm_stage"].late, late["crm_stage"].known) == (20, 25)


def test_fewer_than_twenty_handed_over_leads_are_too_few_to_refuse_anything():
    leads = [_lead(n, {}, T0) for n in range(19)]
    hand_overs_record(leads, at=HANDED)
    for n in range(19):
        _lead(n, {"crm_stage": "Won"}, SYNCED)
    assert late_attributes() == {}


def _field_block(body: str, name: str) -> str:
    for block in re.findall(r'<div class="field[^"]*">(.*?)\n</div>', body, re.S):
        if f'name="{name}"' in block:
            return html.unescape(block)
    raise AssertionError(f"no field {name} in the response")


def _rule(field: str) -> dict[str, str]:
    data = {"name": f"On {field}", "points": "10", "field": field, "op": "equals", "value": "Won"}
    return {f"fit_rules-new-{key}": value for key, value in data.items()}


def test_the_editor_refuses_a_rule_on_an_attribute_synced_after_hand_off_and_accepts_one_known_before(
    handed_over_leads, marketing_manager, sales_manager, marketer, login
):
    # given a draft
    sla_services.agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=T0
    )
    draft = sla_services.agreement_draft_create(user=marketer, now=SYNCED, title="With CRM stage")
    before = AgreementVersion.objects.get(pk=draft.pk).content
    client = login(marketer)
    url = reverse("sla:rule_add", args=[draft.pk, "fit_rules"])
    # when a rule on the attribute the CRM sync writes after hand-off is saved
    refused = client.post(url, _rule("crm_stage"), headers={"HX-Request": "true"})
    # then it is refused beside the field, saying why, and the draft is unchanged
    assert refused.status_code == 422
    assert (
        "“crm_stage” is written after hand-off for 80% of handed-over leads (20 of 25): a rule on it would score "
        "the result, not the lead." in _field_block(refused.content.decode(), "fit_rules-new-field")
    )
    assert AgreementVersion.objects.get(pk=draft.pk).content == before
    # when a rule on an attribute every lead had at its hand-off is saved / then it is accepted
    accepted = client.post(url, _rule("region"), headers={"HX-Request": "true"})
    assert accepted.status_code == 200
    assert "On region" in accepted.content.decode()


def test_the_review_never_proposes_a_rule_on_an_attribute_written_after_hand_off(handed_over_leads):
    # given a population where the CRM stage tells the result exactly (it was written once the result was known)
    rows = [{"crm_stage": "Won" if i % 2 else "Lost", "region": ["EU", "US"][i % 3 == 0]} for i in range(400)]
    population = pop.Population(
        lead_ids=np.arange(400), attributes=rows, activities=[[] for _ in rows],
        won=np.array([float(i % 2) for i in range(400)]), labels=[pop.IMPORTED] * 400,
    )  # fmt: skip
    fields = lambda found: {c.rule["condition"]["field"] for c in found if "condition" in c.rule}  # noqa: E731
    # then it would be a candidate if nothing were known of its timing, and is none once it is
    assert "crm_stage" in fields(candidates_for(population))
    assert fields(candidates_for(population, late=set(late_attributes()))) == {"region"}


def test_traits_sent_to_the_event_api_are_noted_when_they_first_arrive():
    # given a person identified with a company, and a CRM stage synced two days later
    identify = {"type": "identify", "userId": "u1", "traits": {"email": "u1@acme.example", "company": "Acme"}}
    events_ingest(messages=[{**identify, "messageId": "m1"}], now=T0)
    later = {"type": "identify", "userId": "u1", "traits": {"crm_stage": "Won"}, "messageId": "m2"}
    events_ingest(messages=[later], now=SYNCED)
    # then each trait keeps the time it first arrived
    seen = Lead.objects.get(email="u1@acme.example").attribute_seen_at
    assert datetime.fromisoformat(seen["company"]) == T0
    assert datetime.fromisoformat(seen["crm_stage"]) == SYNCED
