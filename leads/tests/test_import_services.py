"""CSV import service: good rows in, bad rows reported precisely and never half-written, re-imports update."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import IntegrityError
from django.db.models import Sum
from django.db.models.fields.json import KT

import conftest
from leads.intake import import_services, imports
from leads.intake.import_services import ImportStateError, import_create, import_preview, import_start
from leads.intake.imports import CsvError
from leads.models import IdentityKind, ImportJob, Lead, LeadIdentity

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEADS_CSV = Path(conftest.SHARED_DATA) / "xeducation" / "Leads.csv"
HUBSPOT_HEADER = [
    "Record ID", "First Name", "Last Name", "Email", "Company Name", "Job Title", "Lead Status",
    "Lifecycle Stage", "Original Source", "Number of Employees", "Industry", "Country/Region", "Phone Number",
]  # fmt: skip


def csv_bytes(
    header: list[str], rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def hubspot_row(record_id: str, first: str, email: str, **overrides: str) -> list[str]:
    row = {
        "Record ID": record_id, "First Name": first, "Last Name": "Archer", "Email": email,
        "Company Name": "Acme", "Job Title": "VP Sales", "Lead Status": "New", "Lifecycle Stage": "Lead",
        "Original Source": "Organic Search", "Number of Employees": "1,200", "Industry": "Software",
        "Country/Region": "United Kingdom", "Phone Number": "+44 20 7946 0000",
    }  # fmt: skip
    row.update({key.replace("_", " "): value for key, value in overrides.items()})
    return [row[column] for column in HUBSPOT_HEADER]


def run(data: bytes, *, preset: str = "hubspot", user=None, filename: str = "leads.csv") -> ImportJob:
    job = import_create(user=user, filename=filename, data=data, preset=preset, now=T0)
    return import_start(job_id=job.pk, user=user, now_func=lambda: T0, inline=True)


def messages_of(job: ImportJob, *, notes: bool = False) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["message"]) for e in job.errors if bool(e.get("note")) == notes]


@pytest.fixture
def hubspot_with_bad_rows() -> bytes:
    return csv_bytes(
        HUBSPOT_HEADER,
        [
            hubspot_row("101", "Ann", "ann@acme.example"),  # row 2: good
            hubspot_row("102", "Bob", "bob@"),  # row 3: bad e-mail
            hubspot_row("103", "Cat", "cat@cole.example", Number_of_Employees="lots"),  # row 4
            hubspot_row("", "Dan", ""),  # row 5: nothing identifies the lead
            hubspot_row("105", "Eve", "eve@ng.example", Company_Name="x" * 201),  # row 6: too long
            hubspot_row("106", "Annie", "ANN@acme.example", Company_Name="Acme Group"),  # row 7: same e-mail
            hubspot_row("107", "Fay", "fay@fay.example", Number_of_Employees="", Industry=""),  # row 8: good
        ],
    )


def test_good_rows_are_imported_and_each_bad_row_is_reported_precisely(hubspot_with_bad_rows, marketer):
    # given a HubSpot export with four bad rows among good ones
    # when it is imported
    job = run(hubspot_with_bad_rows, user=marketer)
    # then the good rows are leads and each bad row is named with its column and reason
    assert job.status == ImportJob.Status.DONE
    assert (job.total_rows, job.processed_rows, job.percent) == (7, 7, 100)
    assert (job.imported, job.updated, job.rejected) == (2, 1, 4)
    assert messages_of(job) == [
        (3, "Email", "“bob@” is not a valid e-mail address."),
        (4, "Number of Employees", "“lots” is not a number of employees."),
        (
            5,
            "Email / Record ID",
            "No e-mail and no external id: each row needs one of them to identify its lead.",
        ),
        (6, "Company Name", "201 characters is too long for company (at most 200)."),
    ]
    assert messages_of(job, notes=True) == [
        (7, "Email", "Same e-mail as row 2: this later row updates that lead.")
    ]
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["ann@acme.example", "fay@fay.example"]
    ann = Lead.objects.get(email="ann@acme.example")
    # and the later row updated the earlier one; the preset put every column somewhere
    assert (ann.first_name, ann.company, ann.employees, ann.seniority) == ("Annie", "Acme Group", 1200, "vp")
    assert (ann.source, ann.country, ann.industry) == ("Organic Search", "United Kingdom", "Software")
    assert ann.attributes == {
        "outcome_lead_status": "New",
        "outcome_lifecycle_stage": "Lead",
        "phone_number": "+44 20 7946 0000",
    }
    assert set(ann.identities.values_list("value", flat=True)) == {"101", "106"}


def test_a_rejected_row_is_never_half_written(hubspot_with_bad_rows):
    # given a row whose e-mail and record id are fine but whose employee count is not
    # when the file is imported
    run(hubspot_with_bad_rows)
    # then neither the lead nor its record id exists
    assert not Lead.objects.filter(email="cat@cole.example").exists()
    assert not LeadIdentity.objects.filter(value__in=["102", "103", "105"]).exists()


def test_reimporting_updates_by_email_instead_of_duplicating():
    # given one imported file
    first = csv_bytes(
        HUBSPOT_HEADER, [hubspot_row("1", "Ann", "ann@acme.example"), hubspot_row("2", "Bo", "bo@b.example")]
    )
    run(first)
    # when a later export of the same people, one with a new company and a blank industry, comes in
    second = csv_bytes(
        HUBSPOT_HEADER,
        [
            hubspot_row("1", "Ann", "Ann@Acme.example", Company_Name="Acme Ltd", Industry=""),
            hubspot_row("2", "Bo", "bo@b.example"),
        ],
    )
    job = run(second)
    # then both rows update, nothing is duplicated, and a blank never erases a known fact
    assert (job.imported, job.updated, job.rejected) == (0, 2, 0)
    assert Lead.objects.count() == 2
    ann = Lead.objects.get(email="ann@acme.example")
    assert (ann.company, ann.industry) == ("Acme Ltd", "Software")


def test_without_an_email_the_external_id_finds_the_lead_and_an_email_is_added_later():
    # given a lead known only by its Salesforce lead id
    header = ["Lead ID", "First Name", "Email", "Company", "Title", "Lead Source", "Employees"]
    run(csv_bytes(header, [["00Q1", "Ann", "", "Acme", "Head of Sales", "Web", "50"]]), preset="salesforce")
    lead = Lead.objects.get()
    assert (lead.email, lead.job_title, lead.seniority, lead.source, lead.employees) == (
        "",
        "Head of Sales",
        "director",
        "Web",
        50,
    )
    # when another export names the same id, now with an e-mail
    job = run(
        csv_bytes(header, [["00Q1", "Ann", "ann@acme.example", "Acme Inc", "", "", ""]]), preset="salesforce"
    )
    # then the same lead is updated and gains the e-mail
    assert (job.imported, job.updated) == (0, 1)
    lead.refresh_from_db()
    assert (Lead.objects.count(), lead.email, lead.company, lead.employees) == (
        1,
        "ann@acme.example",
        "Acme Inc",
        50,
    )
    assert list(LeadIdentity.objects.values_list("kind", "value")) == [(IdentityKind.EXTERNAL, "00Q1")]


def test_imported_leads_are_scored_with_the_active_agreement(agreement):
    # given the starter agreement in force
    # when a lead is imported
    run(csv_bytes(HUBSPOT_HEADER, [hubspot_row("1", "Ann", "ann@acme.example")]))
    # then it carries the agreement's judgement
    lead = Lead.objects.get()
    assert lead.scored_with == agreement
    assert lead.scored_at == T0
    assert lead.fit_score > 0 and lead.breakdown


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("leads.csv", b"", "The file is empty."),
        ("leads.csv", b"  \r\n", "The file is empty."),
        ("leads.csv", b"Email,Name\r\n", "The file has a header row but no leads under it."),
        ("leads.pdf", b"%PDF-1.4", "“leads.pdf” is not a CSV or Excel (.xlsx) file."),
        ("leads.xlsx", b"PK\x03\x04rest", "This is a zip file, not a CSV or an Excel (.xlsx) workbook."),
        ("leads.csv", b"\x00\x01\x02binary", "This file is binary, not a CSV text file."),
    ],
)
def test_files_that_are_not_lead_csvs_are_refused_with_a_clear_message(filename, data, message):
    # when such a file is uploaded
    with pytest.raises(CsvError) as refused:
        import_create(user=None, filename=filename, data=data, preset="auto", now=T0)
    # then it says why and nothing is kept
    assert message in str(refused.value)
    assert not ImportJob.objects.exists()


def test_a_file_over_the_size_limit_is_refused(monkeypatch):
    # given a 1 KB limit
    monkeypatch.setattr(imports, "MAX_BYTES", 1024)
    # when a 2 KB file is uploaded
    with pytest.raises(CsvError) as refused:
        import_create(
            user=None, filename="big.csv", data=b"Email\n" + b"a@b.example\n" * 200, preset="auto", now=T0
        )
    # then the limit is named
    assert str(refused.value) == "The file is 2.3 KB; the limit is 1 KB. Split it into smaller files."


def test_upload_keeps_the_bytes_and_the_suggested_mapping(marketer):
    # when a HubSpot export is uploaded
    data = csv_bytes(HUBSPOT_HEADER, [hubspot_row("1", "Ann", "ann@acme.example")])
    job = import_create(
        user=marketer, filename="C:\\exports\\hubspot.csv", data=data, preset="hubspot", now=T0
    )
    # then the job holds the file as uploaded and the preset's mapping, not yet run
    job.refresh_from_db()
    assert bytes(job.data) == data
    assert (job.filename, job.status, job.total_rows, job.created_by) == (
        "hubspot.csv",
        "uploaded",
        1,
        marketer,
    )
    assert job.mapping["Email"] == {"target": "email", "name": ""}
    assert job.mapping["Record ID"] == {"target": "external_id", "name": ""}
    assert job.mapping["Phone Number"] == {"target": "custom", "name": "phone_number"}
    assert not Lead.objects.exists()


def test_preview_shows_the_first_rows_as_they_would_be_imported(hubspot_with_bad_rows):
    # given one of the people already stored
    run(csv_bytes(HUBSPOT_HEADER, [hubspot_row("999", "Fay", "fay@fay.example")]))
    job = import_create(user=None, filename="leads.csv", data=hubspot_with_bad_rows, preset="hubspot", now=T0)
    # when previewed with a limit of 6 rows
    preview = import_preview(job, limit=6)
    # then each row shows what it would become and the whole file is counted
    assert [(row.row, row.status) for row in preview.rows] == [
        (2, "new"), (3, "rejected"), (4, "rejected"), (5, "rejected"), (6, "rejected"), (7, "update"),
    ]  # fmt: skip
    assert (preview.total_rows, preview.valid_rows, preview.rejected_rows, preview.noted_rows) == (7, 3, 4, 1)
    assert (preview.new_in_preview, preview.updates_in_preview) == (1, 1)
    assert preview.rows[1].errors[0].message == "“bob@” is not a valid e-mail address."
    assert preview.rows[0].lead["fields"]["company"] == "Acme"
    assert (preview.encoding, preview.delimiter, preview.detected_preset) == ("utf-8", "comma", "hubspot")
    # and nothing was written
    assert Lead.objects.count() == 1


def test_a_mapping_without_any_identity_cannot_be_saved_or_started():
    # given an upload
    job = import_create(
        user=None,
        filename="x.csv",
        data=csv_bytes(["Email", "Company"], [["a@b.example", "B"]]),
        preset="auto",
        now=T0,
    )
    # when the e-mail column is ignored
    with pytest.raises(ImportStateError) as refused:
        import_services.import_mapping_save(
            job_id=job.pk, mapping={"Email": {"target": "ignore"}, "Company": {"target": "company"}}
        )
    # then the mapping is refused with the reason and the stored one is unchanged
    assert "Map a column to E-mail or to External id" in str(refused.value)
    job.refresh_from_db()
    assert job.mapping["Email"]["target"] == "email"


def test_a_started_import_cannot_be_remapped_or_started_again():
    # given a finished import
    job = run(csv_bytes(["Email"], [["a@b.example"]]))
    # when someone tries to change its mapping or start it again
    with pytest.raises(ImportStateError, match="already done"):
        import_services.import_mapping_save(job_id=job.pk, mapping={"Email": {"target": "email"}})
    with pytest.raises(ImportStateError, match="already done"):
        import_start(job_id=job.pk, user=None, now_func=lambda: T0)
    # then it ran once
    assert Lead.objects.count() == 1


def test_chunks_commit_on_their_own_and_a_failed_run_resumes_where_it_stopped(monkeypatch):
    # given chunks of two rows and a scoring step that breaks on the second chunk
    monkeypatch.setattr(import_services, "CHUNK", 2)
    real = import_services.demands_record
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(import_services, "demands_record", flaky)
    data = csv_bytes(["Email", "Company"], [[f"p{i}@x.example", f"Co {i}"] for i in range(5)])
    # when imported
    job = run(data)
    # then the first chunk is in, the second left no trace, and the job says where it stopped
    assert (job.status, job.processed_rows, job.imported) == ("failed", 2, 2)
    assert job.failure == "Stopped after 2 rows: database went away"
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["p0@x.example", "p1@x.example"]
    # when started again
    job = import_start(job_id=job.pk, user=None, now_func=lambda: T0)
    # then it finishes the rest without redoing the first chunk
    assert (job.status, job.processed_rows, job.imported, job.updated, job.percent) == ("done", 5, 5, 0, 100)
    assert Lead.objects.count() == 5


def test_a_unique_conflict_in_the_bulk_write_falls_back_to_one_row_at_a_time(monkeypatch):
    # given a bulk insert that meets a unique conflict (another writer created the same lead meanwhile)
    real = import_services.rows_insert
    calls = {"n": 0}

    def conflicting(model, objs, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise IntegrityError("UNIQUE constraint failed: leads_lead.email")
        return real(model, objs, **kwargs)

    monkeypatch.setattr(import_services, "rows_insert", conflicting)
    # when a file is imported
    job = run(
        csv_bytes(["Email", "Company"], [["a@x.example", "A"], ["b@x.example", "B"], ["a@x.example", "A2"]])
    )
    # then every row still lands through lead_upsert, once each
    assert (job.status, job.imported, job.updated, job.rejected) == ("done", 2, 1, 0)
    assert dict(Lead.objects.values_list("email", "company")) == {"a@x.example": "A2", "b@x.example": "B"}


def test_rejected_rows_download_as_the_original_columns_plus_row_and_errors(hubspot_with_bad_rows):
    # given an import with rejected rows
    job = run(hubspot_with_bad_rows)
    # when the rejected rows are downloaded
    data = import_services.import_rejected_csv(job)
    # then they come back as they were, with their row number and reasons, ready to fix and re-import
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [*HUBSPOT_HEADER, "row", "errors"]
    assert [(r[0], r[1], r[-2]) for r in rows[1:]] == [
        ("102", "Bob", "3"),
        ("103", "Cat", "4"),
        ("", "Dan", "5"),
        ("105", "Eve", "6"),
    ]
    assert rows[1][-1] == "Email: “bob@” is not a valid e-mail address."
    assert imports.suggest_mapping(rows[0], "hubspot")["errors"].target == "ignore"


def test_the_validation_limits_match_the_lead_model():
    # given the lengths the pure module checks
    # then they are the model's own
    for name, limit in imports.FIELD_LIMITS.items():
        assert Lead._meta.get_field(name).max_length == limit, name
    assert LeadIdentity._meta.get_field("value").max_length == imports.EXTERNAL_ID_LENGTH
    assert set(imports.FIELD_LABELS) == set(import_services.EDITABLE_FIELDS) | {"email"}


@pytest.mark.skipif(not LEADS_CSV.exists(), reason=f"the shared data set is absent ({LEADS_CSV})")
def test_the_real_xeducation_data_set_imports_through_the_same_path(agreement, marketer):
    # given the public X Education file, 9,240 leads with no e-mail addresses
    data = LEADS_CSV.read_bytes()
    # when it is imported with its preset
    job = run(data, preset="xeducation", user=marketer, filename="Leads.csv")
    # then every row is a lead identified by its Prospect ID
    assert (job.status, job.total_rows, job.imported, job.updated, job.rejected) == ("done", 9240, 9240, 0, 0)
    assert Lead.objects.count() == 9240
    assert LeadIdentity.objects.filter(kind=IdentityKind.EXTERNAL).count() == 9240
    assert not Lead.objects.exclude(email="").exists()
    lead = LeadIdentity.objects.get(value="7927b2df-8bba-4d29-b9a2-b6e0beafe620").lead
    # and "Select" means not answered
    assert (lead.source, lead.industry, lead.country) == ("Olark Chat", "", "")
    assert "city" not in lead.attributes and "lead_profile" not in lead.attributes
    assert not Lead.objects.filter(industry="Select").exists()
    assert not Lead.objects.filter(attributes__city="Select").exists()
    # and the numbers are numbers, Google/google one source
    assert lead.attributes["total_visits"] == 0 and lead.attributes["occupation"] == "Unemployed"
    assert Lead.objects.filter(source="Google").count() == 2868 + 5
    assert not Lead.objects.filter(source="google").exists()
    # and what sales wrote after contact is kept apart as outcome_ attributes, never under its own name
    assert lead.attributes["outcome_tags"] == "Interested in other courses"
    assert lead.attributes["outcome_lead_quality"] == "Low in Relevance"
    assert Lead.objects.filter(attributes__outcome_converted=1).count() == 3561
    assert not Lead.objects.filter(attributes__has_any_keys=["tags", "converted", "lead_quality"]).exists()
    assert Lead.objects.annotate(v=KT("attributes__outcome_converted")).exclude(v__in=["0", "1"]).count() == 0
    # and each lead was scored against the agreement in force
    assert not Lead.objects.filter(scored_with__isnull=True).exists()

    # when the same file is imported again
    again = run(data, preset="xeducation", user=marketer, filename="Leads.csv")
    # then it updates the same leads instead of duplicating them
    assert (again.status, again.imported, again.updated, again.rejected) == ("done", 0, 9240, 0)
    assert Lead.objects.count() == 9240
    assert LeadIdentity.objects.count() == 9240
    assert ImportJob.objects.aggregate(n=Sum("processed_rows"))["n"] == 2 * 9240


def test_a_nul_byte_deep_in_the_file_is_a_row_error_and_every_other_row_is_imported():
    # given 2,000 rows whose row 1,702 has a NUL byte in its company (past the first 4 KB the binary check reads)
    rows = [hubspot_row(str(i), f"P{i}", f"p{i}@acme.example") for i in range(2000)]
    rows[1700] = hubspot_row("1700", "Nul", "nul@acme.example", Company_Name="Ac\x00me")
    # when imported
    job = run(csv_bytes(HUBSPOT_HEADER, rows))
    # then the job finished, the one row is rejected naming its row and column, and the others are all there
    assert job.status == ImportJob.Status.DONE
    assert (job.imported, job.rejected) == (1999, 1)
    [error] = [e for e in job.errors if not e.get("note")]
    assert (error["row"], error["column"], error["value"]) == (1702, "Company Name", "Ac␀me")
    assert error["message"].startswith("Contains a NUL byte")
    assert not Lead.objects.filter(email="nul@acme.example").exists()
    # and the rejected-rows file can be downloaded
    assert b"1702" in import_services.import_rejected_csv(job)


def test_an_external_id_of_one_lead_with_the_email_of_another_is_a_row_error():
    # given two leads, Ann (record 1) and Bo (record 2)
    run(
        csv_bytes(
            HUBSPOT_HEADER,
            [hubspot_row("1", "Ann", "ann@acme.example"), hubspot_row("2", "Bo", "bo@b.example")],
        )
    )
    # when a row comes with Ann's record id and Bo's e-mail
    job = run(csv_bytes(HUBSPOT_HEADER, [hubspot_row("1", "Mallory", "bo@b.example", Company_Name="Evil")]))
    # then it is a row error and neither lead changed
    assert job.rejected == 1
    [error] = job.errors
    assert error["row"] == 2 and "belongs to another lead (ann@acme.example)" in error["message"]
    assert Lead.objects.get(email="ann@acme.example").first_name == "Ann"
    assert Lead.objects.get(email="bo@b.example").first_name == "Bo"


def test_a_nul_byte_in_the_header_refuses_the_file():
    # given a header longer than the 4 KB the binary check reads, with a NUL byte past it
    data = b"Email," + b"x" * 5000 + b",Comp\x00any\n" + b"a@b.example,,Acme\n" * 20
    with pytest.raises(CsvError, match="NUL byte"):
        imports.parse(data)


def test_the_rejected_rows_file_neutralises_formulas():
    # given a row whose values are spreadsheet formulas and whose employee count is bad
    row = hubspot_row("1", "=cmd|' /C calc'!A0", "ann@acme.example", Number_of_Employees="@SUM(1)")
    job = run(csv_bytes(HUBSPOT_HEADER, [row]))
    # when the rejected rows are downloaded
    text = import_services.import_rejected_csv(job).decode("utf-8-sig")
    cells = [value for line in csv.reader(io.StringIO(text)) for value in line]
    # then no cell starts as a formula
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1)" in cells
    assert not any(value.startswith(("=", "@", "+", "-")) for value in cells)
