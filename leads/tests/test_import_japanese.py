"""Files Japanese teams actually have: every encoding Excel and older systems write, .xlsx workbooks, and
Japanese/European number and date formats. Each file is generated here in its encoding."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads import textformats
from leads.intake.imports import CsvError, parse, suggest_mapping, validate_row
from leads.models import ImportJob, Lead
from leads.normalise import parse_employees, seniority_from_title

BODY = (
    "Email,姓,名,会社名,役職,従業員数\r\n"
    'taro@example.co.jp,山田,太郎,株式会社サンプル,営業部長,"1,200"\r\n'
    "hanako@example.jp,佐藤,花子,テスト工業株式会社,マーケティング課長,３５０\r\n"
)


@pytest.mark.parametrize(
    ("codec", "label"),
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8 (BOM)"),
        ("cp932", "Shift_JIS (CP932)"),
        ("shift_jis", "Shift_JIS (CP932)"),
        ("euc_jp", "EUC-JP"),
        ("utf-16", "UTF-16"),
        ("utf-16-le", "UTF-16 LE"),
    ],
)
def test_each_encoding_is_detected_and_read_intact(codec, label):
    # given the same Japanese file saved in one encoding
    data = BODY.encode(codec)
    # when parsed without saying which
    parsed = parse(data)
    # then the names come out as written, and the encoding is named for the preview
    assert parsed.encoding_label == label
    assert parsed.rows[0][1][:4] == ["taro@example.co.jp", "山田", "太郎", "株式会社サンプル"]
    assert parsed.rows[1][1][4] == "マーケティング課長"


def test_a_western_file_is_still_read_as_windows_1252():
    parsed = parse("Email,Name\r\na@example.com,Café Müller Straße\r\n".encode("cp1252"))
    assert parsed.encoding == "cp1252"
    assert parsed.rows[0][1][1] == "Café Müller Straße"


def test_an_undecodable_file_is_refused_not_imported_as_mojibake():
    # given bytes that are no text in any supported encoding
    data = b"Email,Name\r\n" + bytes(range(0x80, 0x100)) * 30
    # when parsed, then it is refused with a way out
    with pytest.raises(CsvError, match="encoding could not be recognised"):
        parse(data)


def test_a_forced_wrong_encoding_is_refused():
    with pytest.raises(CsvError, match="not readable as UTF-8"):
        parse(BODY.encode("cp932"), "utf-8")


def test_shift_jis_upload_previews_japanese_names_and_imports_them(login, marketing_manager):
    # given a Shift_JIS CSV as Japanese Excel saves it
    client = login(marketing_manager)
    upload = SimpleUploadedFile("リード.csv", BODY.encode("cp932"), content_type="text/csv")
    response = client.post(reverse("leads:import_new"), {"file": upload, "preset": "auto"})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    # when the preview is opened
    page = client.get(reverse("leads:import_preview", args=[job.pk])).content.decode()
    # then it names the encoding and shows the names as written, before anything is imported
    assert "Shift_JIS (CP932)" in page
    assert "山田" in page and "株式会社サンプル" in page
    assert not Lead.objects.exists()
    # when imported, then the leads carry the right names, and 1,200 / full-width ３５０ employees are numbers
    client.post(reverse("leads:import_start", args=[job.pk]))
    taro = Lead.objects.get(email="taro@example.co.jp")
    assert (taro.last_name, taro.first_name, taro.company) == ("山田", "太郎", "株式会社サンプル")
    assert taro.employees == 1200 and taro.seniority == "director"
    assert Lead.objects.get(email="hanako@example.jp").employees == 350


def test_the_user_can_override_a_wrong_guess_before_importing(login, marketing_manager):
    # given an EUC-JP file, detected as such on upload
    client = login(marketing_manager)
    upload = SimpleUploadedFile("leads.csv", BODY.encode("euc_jp"), content_type="text/csv")
    client.post(reverse("leads:import_new"), {"file": upload, "preset": "auto"})
    job = ImportJob.objects.get()
    assert job.encoding == "euc_jp"
    # when the user picks Shift_JIS, which cannot read EUC-JP bytes cleanly, then the file is refused that way
    response = client.post(
        reverse("leads:import_encoding", args=[job.pk]), {"encoding": "cp932"}, follow=True
    )
    job.refresh_from_db()
    assert job.encoding == "euc_jp"
    assert "not readable as Shift_JIS (CP932)" in response.content.decode()
    # when the user picks EUC-JP again, then it is read that way and says so
    response = client.post(
        reverse("leads:import_encoding", args=[job.pk]), {"encoding": "euc_jp"}, follow=True
    )
    assert "The file is now read as EUC-JP." in response.content.decode()
    # and an unknown codec is a clear error, not a 500
    response = client.post(
        reverse("leads:import_encoding", args=[job.pk]), {"encoding": "rot13"}, follow=True
    )
    assert response.status_code == 200 and "Choose one of the listed encodings." in response.content.decode()


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Email", "Last name", "First name", "Company", "Employees", "Signed up"])
    sheet.append(["ichiro@example.jp", "鈴木", "一郎", "鈴木商事", 1200, datetime(2026, 12, 1)])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["jiro@example.jp", "高橋", "次郎", "高橋物産", 45.0, date(2026, 11, 3)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_workbooks_are_read_like_csv():
    parsed = parse(_workbook())
    assert parsed.encoding_label == "Excel (.xlsx)"
    assert parsed.headers == ["Email", "Last name", "First name", "Company", "Employees", "Signed up"]
    assert [values for _, values in parsed.rows] == [
        ["ichiro@example.jp", "鈴木", "一郎", "鈴木商事", "1200", "2026-12-01"],
        ["jiro@example.jp", "高橋", "次郎", "高橋物産", "45", "2026-11-03"],
    ]
    assert [number for number, _ in parsed.rows] == [2, 4]  # spreadsheet row numbers, blank row skipped


def test_xlsx_upload_imports(login, marketing_manager):
    client = login(marketing_manager)
    upload = SimpleUploadedFile("leads.xlsx", _workbook())
    client.post(reverse("leads:import_new"), {"file": upload, "preset": "auto"})
    job = ImportJob.objects.get()
    client.post(reverse("leads:import_start", args=[job.pk]))
    assert Lead.objects.get(email="ichiro@example.jp").employees == 1200


@pytest.mark.parametrize(
    ("text", "number"),
    [("1,200", 1200), ("1.200", 1200), ("1 200", 1200), ("１，２００", 1200), ("1'200", 1200), ("2,5", 2.5),
     ("2.5", 2.5), ("1.234.567", 1234567), ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("1.2万", 12000),
     ("-3", -3)],
)  # fmt: skip
def test_numbers_in_every_locale(text, number):
    assert textformats.parse_number(text) == number


def test_a_known_decimal_mark_settles_the_ambiguous_case():
    assert textformats.parse_number("1,200", decimal_mark=",") == 1.2
    assert textformats.parse_number("1.200", decimal_mark=".") == 1.2
    with pytest.raises(ValueError):
        textformats.parse_number("12,34,5")


@pytest.mark.parametrize(
    "text",
    ["2026-12-01", "2026/12/01", "2026/12/1", "2026年12月1日", "令和8年12月1日", "R8.12.1", "01.12.2026",
     "２０２６／１２／０１", "2026/12/01 10:00"],
)  # fmt: skip
def test_dates_in_every_locale(text):
    assert textformats.parse_date(text) == date(2026, 12, 1)


def test_era_first_years_and_impossible_dates():
    assert textformats.parse_date("令和元年5月1日") == date(2019, 5, 1)
    assert textformats.parse_date("平成31年4月30日") == date(2019, 4, 30)
    assert textformats.parse_date("12/01/2026", day_first=False) == date(2026, 12, 1)
    with pytest.raises(ValueError, match="not a date that exists"):
        textformats.parse_date("2026/02/30")


def test_german_employee_counts_no_longer_reject_the_row():
    parsed = parse(b"Email;Employees\r\na@example.de;1.200\r\n")
    lead, problems = validate_row(2, dict(parsed.records())[2], suggest_mapping(parsed.headers, "auto"))
    assert problems == [] and lead["fields"]["employees"] == 1200
    assert parse_employees("５０名") == 50


@pytest.mark.parametrize(
    ("title", "level"),
    [("代表取締役社長", "c-level"), ("取締役", "c-level"), ("CEO", "c-level"), ("執行役員", "vp"),
     ("営業本部長", "vp"), ("マーケティング部 部長", "director"), ("情報システム課長", "director"),
     ("マネージャー", "director"), ("主任", "manager"), ("営業担当", "individual")],
)  # fmt: skip
def test_japanese_titles(title, level):
    assert seniority_from_title(title) == level
