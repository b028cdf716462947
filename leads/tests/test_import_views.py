"""The import pages with the Django client: upload → mapping → preview → start → result, roles, the Celery path."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from leads.intake import import_services
from leads.models import ImportJob, Lead

pytestmark = pytest.mark.django_db

HEADER = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Company Name",
    "Number of Employees",
    "Phone Number",
]
ROWS = [
    ["11", "Ann", "Archer", "ann@acme.example", "Acme", "250", "+44 1"],
    ["12", "Bob", "Baker", "bob@", "Bobco", "10", "+44 2"],
    ["13", "Cat", "Cole", "cat@cole.example", "Cole Ltd", "many", "+44 3"],
    ["14", "Dan", "Dee", "dan@dee.example", "DeeCo", "", ""],
]


def csv_file(header: list[str], rows: list[list[str]], name: str = "hubspot.csv") -> SimpleUploadedFile:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *rows])
    return SimpleUploadedFile(name, out.getvalue().encode(), content_type="text/csv")


def text(response) -> str:
    return html.unescape(response.content.decode())


def form_data(response) -> dict[str, str]:
    """The mapping form's fields as the browser would submit them, keeping every suggestion."""
    form = response.context["form"]
    return {name: str(form[name].value() or "") for name in form.fields}


def test_upload_map_preview_start_and_see_the_result(login, marketer):
    client = login(marketer)
    # given the upload page
    response = client.get(reverse("leads:import_new"))
    assert response.status_code == 200 and "Exported from" in text(response)

    # when a HubSpot export with two bad rows is uploaded
    response = client.post(reverse("leads:import_new"), {"file": csv_file(HEADER, ROWS), "preset": "hubspot"})
    job = ImportJob.objects.get()
    # then the mapping page follows, with the preset's suggestion and three sample values per column
    assert response.status_code == 302 and response["Location"] == reverse(
        "leads:import_mapping", args=[job.pk]
    )
    response = client.get(response["Location"])
    page = text(response)
    assert "ann@acme.example" in page and "bob@" in page and "cat@cole.example" in page
    assert "dan@dee.example" not in page  # three samples, not four
    data = form_data(response)
    assert data["c3_target"] == "email" and data["c0_target"] == "external_id"
    assert (data["c6_target"], data["c6_name"]) == ("custom", "phone_number")
    assert "outcome_" in page  # the help explains rep feedback is kept apart

    # when the phone column is renamed and the mapping saved
    data["c6_name"] = "phone"
    response = client.post(reverse("leads:import_mapping", args=[job.pk]), data)
    # then the preview shows the rows as they would be imported, with their problems
    assert response["Location"] == reverse("leads:import_preview", args=[job.pk])
    response = client.get(response["Location"])
    page = text(response)
    assert response.context["preview"].valid_rows == 2
    assert "“bob@” is not a valid e-mail address." in page
    assert "“many” is not a number of employees." in page
    assert "phone=+44 1" in page
    assert "Import 2 lead rows" in page
    assert not Lead.objects.exists()

    # when the import is started
    response = client.post(reverse("leads:import_start", args=[job.pk]), follow=True)
    # then the result says what happened, row by row
    page = text(response)
    assert response.redirect_chain[-1][0] == job.get_absolute_url()
    assert "Imported hubspot.csv: 2 new, 0 updated, 2 rejected." in page
    assert "Import finished" in page
    assert re.search(
        r"<td class=\"num\">3</td><td>Email</td><td>bob@</td><td>“bob@” is not a valid e-mail address.</td>",
        page,
    )
    assert "Download the 2 rejected rows (CSV)" in page
    assert 'hx-trigger="every 1s"' not in page
    assert Lead.objects.get(email="ann@acme.example").attributes == {"phone": "+44 1"}


def test_a_file_that_is_not_csv_is_refused_on_the_upload_page(login, marketing_manager):
    # when a PDF is uploaded
    response = login(marketing_manager).post(
        reverse("leads:import_new"),
        {
            "file": SimpleUploadedFile("leads.pdf", b"%PDF-1.4...", content_type="application/pdf"),
            "preset": "auto",
        },
    )
    # then the page says so beside the file field, and nothing is kept
    assert response.status_code == 422
    assert "“leads.pdf” is not a CSV or Excel (.xlsx) file. Export or save it as one first." in text(response)
    assert not ImportJob.objects.exists()


def test_an_empty_file_is_refused(login, marketer):
    response = login(marketer).post(
        reverse("leads:import_new"), {"file": SimpleUploadedFile("e.csv", b"Email\r\n"), "preset": "auto"}
    )
    assert response.status_code == 422
    assert "The file has a header row but no leads under it." in text(response)


def test_a_file_over_the_limit_is_refused_before_it_is_read(login, marketer, monkeypatch):
    monkeypatch.setattr("leads.intake.imports.MAX_BYTES", 10)
    response = login(marketer).post(
        reverse("leads:import_new"),
        {"file": SimpleUploadedFile("big.csv", b"Email\r\na@b.example\r\n"), "preset": "auto"},
    )
    assert response.status_code == 422
    assert "The file is 20 bytes; the limit is 10 bytes. Split it into smaller files." in text(response)


def test_the_mapping_form_explains_what_to_fix(login, marketer):
    client = login(marketer)
    client.post(reverse("leads:import_new"), {"file": csv_file(HEADER, ROWS), "preset": "hubspot"})
    job = ImportJob.objects.get()
    url = reverse("leads:import_mapping", args=[job.pk])
    data = form_data(client.get(url))
    # when both identity columns are ignored and a custom attribute gets a bad name
    data.update(c0_target="ignore", c3_target="ignore", c6_name="Phone No.")
    response = client.post(url, data)
    # then each problem is shown and the stored mapping is unchanged
    page = text(response)
    assert response.status_code == 422
    assert "Start with a letter; use only lower-case letters, digits and _." in page
    # when only the name is fixed
    data["c6_name"] = "phone"
    page = text(client.post(url, data))
    # then the missing identity is the one remaining problem
    assert (
        "Map a column to E-mail or to External id: each row needs one of them to identify its lead." in page
    )
    job.refresh_from_db()
    assert job.mapping["Email"]["target"] == "email"


def test_the_celery_path_for_a_large_file_reports_progress_until_done(
    login, marketer, django_capture_on_commit_callbacks, monkeypatch
):
    client = login(marketer)
    # given a file over the inline limit (2,000 rows), imported in chunks of 500
    rows = [[str(i), "P", str(i), f"p{i}@big.example", "Big", "50", ""] for i in range(2_100)]
    client.post(reverse("leads:import_new"), {"file": csv_file(HEADER, rows, "big.csv"), "preset": "hubspot"})
    job = ImportJob.objects.get()
    seen: list[int] = []
    real_chunk = import_services._import_chunk

    def watched(job_id, *args):
        more = real_chunk(job_id, *args)
        seen.append(ImportJob.objects.get(pk=job_id).percent)
        return more

    monkeypatch.setattr(import_services, "_import_chunk", watched)
    # when it is started
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("leads:import_start", args=[job.pk]))
    # then the request returns at once, the job is queued for a worker and the page polls for progress
    assert response.status_code == 302
    assert ImportJob.objects.get(pk=job.pk).status == "queued" and not Lead.objects.exists()
    progress = client.get(reverse("leads:import_progress", args=[job.pk]), headers={"HX-Request": "true"})
    assert "<html" not in text(progress)
    assert 'hx-trigger="every 1s"' in text(progress) and "Waiting for a worker" in text(progress)
    # when the worker runs the task (Celery in eager mode, after commit)
    assert len(callbacks) == 1
    callbacks[0]()
    # then progress climbs chunk by chunk to 100% and the polled card shows the result and stops polling
    assert seen == [23, 47, 71, 95, 100]
    page = text(client.get(reverse("leads:import_progress", args=[job.pk]), headers={"HX-Request": "true"}))
    assert 'hx-trigger="every 1s"' not in page
    assert "Import finished" in page and 'imported=created">2,100 new leads</a>' in page
    assert Lead.objects.count() == 2_100


def test_the_progress_card_polls_while_running(login, marketer):
    # given an import half way through
    job = ImportJob.objects.create(
        filename="x.csv",
        data=b"Email\na@b.example\n",
        status="running",
        total_rows=4_000,
        processed_rows=1_000,
        created_at=timezone.now(),
    )
    # when its page is opened
    page = text(login(marketer).get(job.get_absolute_url()))
    # then the card polls the progress partial and says how far it is
    assert f'hx-get="{reverse("leads:import_progress", args=[job.pk])}" hx-trigger="every 1s"' in page
    assert '<progress max="100" value="25"' in page
    assert "1,000 of 4,000 rows (25%)" in page


def test_rejected_rows_download(login, marketer):
    client = login(marketer)
    client.post(reverse("leads:import_new"), {"file": csv_file(HEADER, ROWS), "preset": "hubspot"})
    job = ImportJob.objects.get()
    client.post(reverse("leads:import_start", args=[job.pk]))
    # when the rejected rows are downloaded
    response = client.get(reverse("leads:import_errors_csv", args=[job.pk]))
    # then it is a CSV of those rows with their row number and reasons
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="hubspot-rejected-rows.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    # (a phone "+44 2" starts like a formula, so it is written as text: '+44 2)
    assert rows == [
        [*HEADER, "row", "errors"],
        [*ROWS[1][:6], "'+44 2", "3", "Email: “bob@” is not a valid e-mail address."],
        [*ROWS[2][:6], "'+44 3", "4", "Number of Employees: “many” is not a number of employees."],
    ]


def test_a_finished_import_cannot_be_started_again_or_remapped(login, marketer):
    client = login(marketer)
    client.post(reverse("leads:import_new"), {"file": csv_file(HEADER, ROWS[:1]), "preset": "hubspot"})
    job = ImportJob.objects.get()
    client.post(reverse("leads:import_start", args=[job.pk]))
    # when started again
    response = client.post(reverse("leads:import_start", args=[job.pk]), follow=True)
    # then it says so and nothing ran twice
    assert "This import is already done." in text(response)
    assert ImportJob.objects.get().updated == 0
    # and its mapping and preview pages lead back to the result
    assert client.get(reverse("leads:import_mapping", args=[job.pk]))["Location"] == job.get_absolute_url()
    assert client.get(reverse("leads:import_preview", args=[job.pk]))["Location"] == job.get_absolute_url()


def test_an_uploaded_import_not_yet_started_says_what_comes_next(login, sales_manager):
    client = login(sales_manager)
    client.post(reverse("leads:import_new"), {"file": csv_file(HEADER, ROWS), "preset": "auto"})
    page = text(client.get(ImportJob.objects.get().get_absolute_url()))
    assert "Not started yet" in page and "Preview and import" in page


def test_reps_cannot_import(login, rep, marketer):
    # given an uploaded file
    login(marketer).post(reverse("leads:import_new"), {"file": csv_file(HEADER, ROWS), "preset": "auto"})
    job = ImportJob.objects.get()
    client = login(rep)
    # when a rep tries any import page or action
    responses = [
        client.get(reverse("leads:import_list")),
        client.get(reverse("leads:import_new")),
        client.post(reverse("leads:import_new"), {"file": csv_file(HEADER, ROWS), "preset": "auto"}),
        client.post(reverse("leads:import_start", args=[job.pk])),
        client.get(reverse("leads:import_errors_csv", args=[job.pk])),
    ]
    # then each is refused and nothing is imported
    assert [r.status_code for r in responses] == [403] * 5
    assert ImportJob.objects.count() == 1 and not Lead.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("leads:import_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_history_lists_every_import_with_its_counts_in_a_bounded_number_of_queries(
    login, marketer, marketing_manager, django_assert_max_num_queries
):
    # given 30 imports by two people, each carrying its file and errors
    now = timezone.now()
    for i in range(30):
        ImportJob.objects.create(
            filename=f"file{i}.csv", data=b"Email\n" + b"x@y.example\n" * 1000, status="done",
            total_rows=1_000 + i, processed_rows=1_000 + i, imported=1_200, updated=3, rejected=i,
            errors=[{"row": 2, "column": "Email", "value": "x", "message": "bad"}] * i,
            created_by=marketer if i % 2 else marketing_manager, created_at=now,
        )  # fmt: skip
    client = login(marketer)
    # when the history page is opened
    with django_assert_max_num_queries(6) as captured:
        response = client.get(reverse("leads:import_list"))
    # then it shows a page of 25 with numbers formatted, never loading the files themselves
    page = text(response)
    assert response.status_code == 200
    assert page.count("<tr>") == 26
    assert "1,029" in page and "1,200" in page
    assert "Page 1 of 2" in page
    assert not any('"data"' in q["sql"] or '"errors"' in q["sql"] for q in captured.captured_queries)


def test_the_history_has_a_useful_empty_state(login, admin_user_role):
    page = text(login(admin_user_role).get(reverse("leads:import_list")))
    assert "No imports yet." in page and "Import your first file" in page
