"""A CRM opportunity export joined to leads by e-mail or external id: known results the review learns from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedback.learning.population import IMPORTED, IMPORTED_CRM, known_results
from feedback.models import OpportunityImport
from feedback.opportunities import OpportunityFileError, opportunities_import
from leads.models import IdentityKind, Lead
from leads.services import LeadData, lead_upsert
from sla.content import starter_content, validate
from sla.exceptions import InvalidContent

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def leads():
    """Four leads: two known by e-mail, one only by the CRM's prospect id, one with a Converted column already."""
    made = {}
    for name in ("ann", "bob"):
        made[name], _ = lead_upsert(data=LeadData(email=f"{name}@acme.example"), now=NOW)
    made["cyd"], _ = lead_upsert(data=LeadData(identities={IdentityKind.EXTERNAL: "P-77"}), now=NOW)
    made["dee"], _ = lead_upsert(
        data=LeadData(email="dee@acme.example", custom={"outcome_converted": 0}), now=NOW
    )
    return made


EXPORT = (
    "Opportunity Name,Contact Email,Prospect ID,Stage,Amount,Close Date\n"
    'Ann deal,ANN@acme.example,,Closed Won,"12,000",2026-03-02\n'
    "Ann upsell,ann@acme.example,,Closed Lost,500,2026-03-20\n"
    "Bob deal,bob@acme.example,,Closed Lost,3000,2026-02-10\n"
    "Cyd deal,,P-77,Closed Won,800,2026-03-15\n"
    "Dee deal,dee@acme.example,,Proposal,9000,\n"
    "Eve deal,eve@elsewhere.example,,Closed Won,100,2026-03-01\n"
)


def test_an_export_gives_known_results_by_email_or_external_id(leads, marketing_manager):
    # when the marketing manager imports the CRM's opportunity export
    record = opportunities_import(data=EXPORT.encode(), filename="opps.csv", user=marketing_manager, now=NOW)
    # then each row found its lead by e-mail (any case) or by the prospect id, and is counted once
    assert (record.rows, record.leads, record.won, record.lost, record.still_open, record.unmatched) == (
        6, 3, 2, 1, 1, 1
    )  # fmt: skip
    assert record.problems == ["Row 7: no lead has the e-mail or id “eve@elsewhere.example”."]
    # and a lead with a won opportunity is won (its won amount kept), whatever its other opportunities did
    ann = Lead.objects.get(pk=leads["ann"].pk).attributes
    assert (ann["outcome_won"], ann["outcome_amount"], ann["outcome_close_date"]) == (
        "won",
        12000,
        "2026-03-20",
    )
    assert Lead.objects.get(pk=leads["cyd"].pk).attributes["outcome_won"] == "won"
    assert Lead.objects.get(pk=leads["bob"].pk).attributes["outcome_won"] == "lost"
    # and an opportunity still open changes nothing
    assert "outcome_won" not in Lead.objects.get(pk=leads["dee"].pk).attributes
    # and the learning population reads them, labelled as coming from the CRM
    population = known_results()
    results = zip(population.won.tolist(), population.labels, strict=True)
    by_lead = dict(zip(population.lead_ids.tolist(), results, strict=True))
    assert by_lead[leads["ann"].pk] == (1.0, IMPORTED_CRM)
    assert by_lead[leads["bob"].pk] == (0.0, IMPORTED_CRM)
    assert by_lead[leads["cyd"].pk] == (1.0, IMPORTED_CRM)
    assert by_lead[leads["dee"].pk] == (0.0, IMPORTED)  # the Converted column it came with
    assert "3 CRM opportunity imported, not closed by sales" in population.describe()["text"]


def test_the_crm_result_wins_over_a_converted_column_imported_earlier(leads, marketing_manager):
    export = "Email,Won\ndee@acme.example,yes\n"
    opportunities_import(data=export.encode(), filename="won.csv", user=marketing_manager, now=NOW)
    population = known_results()
    i = population.lead_ids.tolist().index(leads["dee"].pk)
    assert (population.won[i], population.labels[i]) == (1.0, IMPORTED_CRM)


@pytest.mark.parametrize(
    ("export", "message"),
    [
        ("Name,Stage\nAnn,Closed Won\n", "e-mail column or an external id column"),
        ("Email,Amount\nann@acme.example,100\n", "stage column"),
        ("", "empty"),
    ],
)
def test_an_export_it_cannot_use_is_refused_clearly(leads, marketing_manager, export, message):
    with pytest.raises(OpportunityFileError, match=message):
        opportunities_import(data=export.encode(), filename="x.csv", user=marketing_manager, now=NOW)
    assert not OpportunityImport.objects.exists()


def test_no_rule_may_score_the_imported_result():
    content = starter_content()
    content["mql"]["fit_rules"].append({"id": "f9", "name": "Won in CRM", "points": 50,
                                        "condition": {"field": "outcome_won", "op": "equals", "value": "won"}})  # fmt: skip
    with pytest.raises(InvalidContent, match="filled in after hand-off"):
        validate(content)


def test_the_page_imports_a_file_and_lists_it(leads, marketing_manager, rep, login, tmp_path):
    client = login(marketing_manager)
    page = client.get("/feedback/outcomes/opportunities/")
    assert page.status_code == 200 and "Import won and lost opportunities" in page.content.decode()
    path = tmp_path / "opps.csv"
    path.write_text(EXPORT)
    with path.open("rb") as upload:
        response = client.post("/feedback/outcomes/opportunities/", {"file": upload}, follow=True)
    html = response.content.decode()
    assert "3 leads now have a known result from the CRM (2 won, 1 lost)." in html
    assert "opps.csv" in html and "Rows not used" in html
    bad = tmp_path / "bad.csv"
    bad.write_text("Name\nAnn\n")
    with bad.open("rb") as upload:
        refused = client.post("/feedback/outcomes/opportunities/", {"file": upload})
    assert refused.status_code == 400 and "e-mail column or an external id column" in refused.content.decode()
    assert login(rep).get("/feedback/outcomes/opportunities/").status_code == 403
