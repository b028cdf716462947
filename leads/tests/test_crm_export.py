"""The CRM write-back CSV: HubSpot and Salesforce field names, each state as that CRM's status, the MQL reason
and the last status reason, formulas neutralised, managers only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from feedback.services import lead_accept
from leads.models import Lead, State
from leads.queue import lead_claim
from leads.scoring import leads_rescore

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def accepted(agreement, make_lead, rep):
    lead = make_lead(now=START, employees=20, first_name="=HYPERLINK(\"x\")", company="Acme",
                     activities=[("demo_request", START, {})])  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=START)
    lead_claim(lead_id=lead.pk, rep=rep, now=START + timedelta(minutes=1))
    lead_accept(lead_id=lead.pk, user=rep, now=START + timedelta(minutes=5))
    make_lead(now=START, email="never-mql@acme.example")  # never handed over: not exported
    return Lead.objects.get(pk=lead.pk)


def test_hubspot_columns_carry_the_lifecycle_status_and_reasons(accepted, marketing_manager, login):
    response = login(marketing_manager).get(reverse("leads:crm_export", args=["hubspot"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    [row] = rows(response)
    assert accepted.state == State.SAL
    assert (row["email"], row["lifecyclestage"], row["hs_lead_status"]) == (
        accepted.email, "marketingqualifiedlead", "IN_PROGRESS",
    )  # fmt: skip
    assert row["alignment_mql_reason"] == accepted.handoff_reason != ""
    assert row["firstname"] == '\'=HYPERLINK("x")'  # a spreadsheet shows it as text, never runs it


def test_salesforce_columns_use_lead_field_api_names(accepted, sales_manager, login):
    [row] = rows(login(sales_manager).get(reverse("leads:crm_export", args=["salesforce"])))
    assert list(row) == ["Email", "FirstName", "LastName", "Company", "Status", "Rating", "Alignment_Score__c",
                         "MQL_Reason__c", "Status_Reason__c", "Alignment_URL__c"]  # fmt: skip
    assert (row["Status"], row["Rating"], row["Company"]) == ("Working - Contacted", "Hot", "Acme")


def test_since_filters_and_a_bad_date_is_a_400(accepted, sales_manager, login):
    client = login(sales_manager)
    url = reverse("leads:crm_export", args=["hubspot"])
    assert rows(client.get(url, {"since": "2099-01-01"})) == []
    bad = client.get(url, {"since": "yesterday"})
    assert bad.status_code == 400 and b"2026-12-01" in bad.content
    assert client.get(reverse("leads:crm_export", args=["pipedrive"])).status_code == 404


def test_reps_and_marketers_cannot_download_it(accepted, rep, marketer, login):
    for user in (rep, marketer):
        assert login(user).get(reverse("leads:crm_export", args=["hubspot"])).status_code == 403
