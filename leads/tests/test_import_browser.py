"""A marketer imports a HubSpot export in a real headless Chromium: upload, mapping, preview, start, result."""

import pytest
from playwright.sync_api import expect

from leads.models import Lead

pytestmark = pytest.mark.browser

HUBSPOT_CSV = (
    "Record ID,First Name,Last Name,Email,Company Name,Job Title,Number of Employees,Lead Status\r\n"
    "501,Ann,Archer,ann@acme.example,Acme,VP Sales,250,New\r\n"
    "502,Bob,Baker,bob@bobco,Bobco,CTO,40,Open\r\n"
    '503,Cat,Cole,cat@cole.example,Cole Ltd,Head of Marketing,"1,200",Open\r\n'
)


def test_marketer_imports_a_hubspot_csv_and_reads_why_a_row_was_rejected(page, browser_login, marketer):
    # given a marketer on the import history, which is empty
    browser_login(marketer)
    page.goto("/leads/imports/")
    expect(page.get_by_text("No imports yet.")).to_be_visible()
    page.get_by_role("link", name="Import your first file").click()

    # when they upload a HubSpot export with one bad row
    expect(page.get_by_label("CSV or Excel file")).to_be_focused()
    page.get_by_label("CSV or Excel file").set_input_files(
        files=[{"name": "hubspot.csv", "mimeType": "text/csv", "buffer": HUBSPOT_CSV.encode()}]
    )
    page.get_by_label("Exported from").select_option("hubspot")
    page.get_by_role("button", name="Upload and map columns").click()

    # then each column shows its samples and the suggested target, which they keep
    expect(page.get_by_role("heading", name="Where each column goes")).to_be_visible()
    expect(page.get_by_label("Where “Email” goes")).to_have_value("email")
    expect(page.get_by_label("Where “Record ID” goes")).to_have_value("external_id")
    expect(page.get_by_label("Attribute name for “Lead Status”")).to_have_value("outcome_lead_status")
    expect(page.get_by_role("row", name="Email")).to_contain_text("bob@bobco")
    page.get_by_role("button", name="Save and preview").click()

    # and the preview shows what each row will become, the bad one with its reason
    expect(page.get_by_role("heading", name="Preview of hubspot.csv")).to_be_visible()
    expect(page.get_by_text("“bob@bobco” is not a valid e-mail address.")).to_be_visible()
    assert not Lead.objects.exists()

    # when they start the import
    page.get_by_role("button", name="Import 2 lead rows").click()

    # then the result counts new and rejected rows and says why row 3 was rejected
    status = page.locator("#import-status")
    expect(status.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(status.locator("dl")).to_contain_text("New leads2")
    expect(status.get_by_role("row", name="3 Email bob@bobco")).to_contain_text(
        "“bob@bobco” is not a valid e-mail address."
    )
    expect(status.get_by_role("link", name="Download the 1 rejected row (CSV)")).to_be_visible()
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["ann@acme.example", "cat@cole.example"]

    # and the history lists the import with its counts
    page.get_by_role("link", name="← All imports").click()
    expect(page.get_by_role("row", name="hubspot.csv")).to_contain_text("Done")
