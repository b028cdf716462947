"""manage.py import_leads: the upload path run synchronously from the command line, with a summary."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from leads.models import ImportJob, Lead

pytestmark = pytest.mark.django_db


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_leads", *args, stdout=out)
    return out.getvalue()


def test_imports_a_file_and_prints_imported_updated_and_rejected_with_reasons(tmp_path):
    # given a Salesforce export with a bad e-mail and a repeated lead
    path = write_csv(
        tmp_path / "salesforce.csv",
        ["Lead ID", "First Name", "Email", "Company", "Title", "Employees"],
        [
            ["00Q1", "Ann", "ann@acme.example", "Acme", "CEO", "120"],
            ["00Q2", "Bob", "bob@@acme", "Acme", "CTO", "120"],
            ["00Q3", "Ann", "ann@acme.example", "Acme Ltd", "CEO", ""],
        ],
    )
    # when the command imports it
    output = run(str(path), "--mapping", "salesforce")
    # then the summary counts each kind and names each rejected row with its column and reason
    assert "salesforce.csv: 3 of 3 rows read in" in output
    assert "— 1 imported, 1 updated, 1 rejected." in output
    assert "Rejected:\n  row 3, column “Email”: “bob@@acme” is not a valid e-mail address.\n" in output
    assert (
        "Notes:\n  row 4, column “Email”: Same e-mail as row 2: this later row updates that lead.\n" in output
    )
    assert "Done: import" in output
    lead = Lead.objects.get()
    assert (lead.company, lead.seniority, lead.employees) == ("Acme Ltd", "c-level", 120)


def test_many_rejected_rows_show_the_first_twenty_then_how_many_more(tmp_path):
    path = write_csv(
        tmp_path / "bad.csv", ["Email"], [[f"nobody{i}"] for i in range(25)] + [["ok@x.example"]]
    )
    output = run(str(path))
    assert "— 1 imported, 0 updated, 25 rejected." in output
    assert "  row 21, column “Email”: “nobody19” is not a valid e-mail address.\n  … and 5 more\n" in output
    assert "nobody20" not in output


def test_a_large_file_still_runs_synchronously(tmp_path, django_capture_on_commit_callbacks):
    # given more rows than the web page imports inline
    path = write_csv(
        tmp_path / "big.csv", ["Email", "Company"], [[f"p{i}@x.example", "X"] for i in range(2_050)]
    )
    # when imported from the command line
    with django_capture_on_commit_callbacks() as callbacks:
        output = run(str(path), "--mapping", "auto")
    # then it is done when the command returns, without waiting for a worker
    assert callbacks == []
    assert "— 2,050 imported, 0 updated, 0 rejected." in output
    assert ImportJob.objects.get().status == "done" and Lead.objects.count() == 2_050


def test_a_file_that_is_not_a_csv_stops_the_command_with_the_reason(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"PK\x03\x04 a workbook")
    with pytest.raises(CommandError, match=r"This is a zip file, not a CSV or an Excel \(.xlsx\) workbook."):
        run(str(path))
    assert not ImportJob.objects.exists()


def test_a_missing_file_stops_the_command(tmp_path):
    with pytest.raises(CommandError, match="Cannot read .*missing.csv: No such file or directory"):
        run(str(tmp_path / "missing.csv"))


def test_an_unknown_mapping_is_refused(tmp_path):
    path = write_csv(tmp_path / "x.csv", ["Email"], [["a@x.example"]])
    with pytest.raises(CommandError, match="invalid choice: 'pipedrive'"):
        run(str(path), "--mapping", "pipedrive")
