"""Reading lead CSVs, pure: encodings, dialects, header recognition per preset, every row validation message."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.intake import imports
from leads.intake.imports import (
    ColumnMapping,
    CsvError,
    FileContext,
    RowError,
    file_context,
    parse,
    suggest_mapping,
    validate_row,
)

HUBSPOT_HEADERS = [
    "Record ID", "First Name", "Last Name", "Email", "Company Name", "Job Title", "Lead Status",
    "Lifecycle Stage", "Original Source", "Number of Employees", "Industry", "Country/Region", "Campaign",
    "Favourite Colour",
]  # fmt: skip
SALESFORCE_HEADERS = [
    "Lead ID", "First Name", "Last Name", "Email", "Company", "Title", "Lead Status", "Lead Source",
    "Employees", "Industry", "Country", "Campaign", "Rating",
]  # fmt: skip
XEDUCATION_HEADERS = [
    "Prospect ID", "Lead Number", "Lead Origin", "Lead Source", "Converted", "TotalVisits",
    "Total Time Spent on Website", "Page Views Per Visit", "Last Activity", "Country", "Specialization",
    "What is your current occupation", "Tags", "Lead Quality", "City", "Last Notable Activity",
]  # fmt: skip


def table(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
    return out.getvalue()


def mapping(**targets: str) -> dict[str, ColumnMapping]:
    """Column → target; `custom:name` and `number:name` name a custom attribute."""
    result = {}
    for column, target in targets.items():
        kind, _, name = target.partition(":")
        result[column.replace("_", " ")] = ColumnMapping(kind, name)
    return result


BASIC = mapping(Email="email", Record_ID="external_id", Company="company", Employees="employees")


def check(row: dict[str, str], columns: dict[str, ColumnMapping] = BASIC, number: int = 2, context=None):
    return validate_row(number, row, columns, context=context)


# --- encodings and dialects -------------------------------------------------------------------------------


def test_utf8_without_bom():
    # given a UTF-8 file with an accented name
    data = table(["Email", "First Name"], [["zoe@x.example", "Zoë"]]).encode("utf-8")
    # when parsed
    parsed = parse(data)
    # then the name reads right
    assert (parsed.encoding, parsed.headers, parsed.rows) == (
        "utf-8",
        ["Email", "First Name"],
        [(2, ["zoe@x.example", "Zoë"])],
    )


def test_utf8_with_bom_leaves_no_mark_on_the_first_header():
    # given the UTF-8 with BOM Excel writes ("CSV UTF-8")
    data = b"\xef\xbb\xbf" + table(["Email", "Company"], [["a@x.example", "Société"]]).encode("utf-8")
    # when parsed
    parsed = parse(data)
    # then the first header is "Email", not "\ufeffEmail"
    assert (parsed.encoding, parsed.headers[0], parsed.rows[0][1][1]) == ("utf-8-sig", "Email", "Société")
    assert suggest_mapping(parsed.headers, "auto")["Email"].target == "email"


def test_windows_1252_is_the_fallback():
    # given a file saved by old Excel on Windows (not valid UTF-8)
    data = table(["Email", "Last Name", "Campaign"], [["a@x.example", "Müller", "Spring €50 off"]]).encode(
        "cp1252"
    )
    # when parsed
    parsed = parse(data)
    # then it is read as Windows-1252
    assert (parsed.encoding, parsed.rows[0][1]) == ("cp1252", ["a@x.example", "Müller", "Spring €50 off"])


def test_utf16_tab_separated_as_excel_unicode_text():
    # given Excel's "Unicode text": UTF-16 with BOM, tab separated
    data = table(["Email", "Company"], [["a@x.example", "Ünal AG"]], delimiter="\t").encode("utf-16")
    # when parsed
    parsed = parse(data)
    # then both are recognised
    assert (parsed.encoding, parsed.delimiter_name, parsed.rows[0][1]) == (
        "utf-16",
        "tab",
        ["a@x.example", "Ünal AG"],
    )


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")]
)
def test_each_delimiter_is_detected(delimiter, name):
    # given values that contain the other delimiters
    rows = [["a@x.example", "Acme, Inc; Ltd", "1,200"], ["b@x.example", "B\tCo", "5"]]
    data = table(["Email", "Company", "Employees"], rows, delimiter=delimiter).encode()
    # when parsed
    parsed = parse(data)
    # then the delimiter that gives a consistent table wins
    assert parsed.delimiter_name == name
    assert [values for _, values in parsed.rows] == rows


def test_semicolon_file_with_decimal_commas():
    # given a European export: semicolons, decimal commas, no quoting
    data = b"Prospect ID;TotalVisits;Page Views Per Visit\n1;3;2,5\n2;1.234;1\n"
    # when parsed and mapped with the X Education preset
    parsed = parse(data)
    columns = suggest_mapping(parsed.headers, "xeducation")
    context = file_context(parsed.records(), columns, decimal_mark=parsed.decimal_mark)
    leads = [validate_row(n, r, columns, context=context)[0] for n, r in parsed.records()]
    # then decimal commas are decimals, and a point groups thousands as it does in such a locale
    assert parsed.delimiter_name == "semicolon"
    assert leads[0]["custom"] == {"total_visits": 3, "page_views_per_visit": 2.5}
    assert leads[1]["custom"] == {"total_visits": 1234, "page_views_per_visit": 1}


def test_row_numbers_are_spreadsheet_rows_and_quoted_line_breaks_stay_in_their_cell():
    # given blank lines and a quoted value over two lines
    data = b'Email,Notes\r\na@x.example,"two\r\nlines"\r\n\r\nb@x.example,x\r\n'
    # when parsed
    parsed = parse(data)
    # then the blank line is skipped but still counted, as a spreadsheet shows it
    assert parsed.rows == [(2, ["a@x.example", "two\r\nlines"]), (4, ["b@x.example", "x"])]


def test_blank_and_repeated_headers_get_names_of_their_own():
    # given a header with a blank column and a repeated one
    parsed = parse(b"Email,,Email, Company \na@x.example,1,b@x.example,C\n")
    # then every column has its own name
    assert parsed.headers == ["Email", "Column 2", "Email (2)", "Company"]
    assert parsed.samples("Email (2)") == ["b@x.example"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\r\n\r\n", "The file is empty."),
        (b"Email,Company\r\n", "The file has a header row but no leads under it."),
        (b"PK\x03\x04\x14\x00", "This is a zip file, not a CSV or an Excel (.xlsx) workbook."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1", "This is an old Excel (.xls) file, not a CSV."),
        (b"%PDF-1.7", "This is a PDF, not a CSV."),
        (b"GIF89a\x00\x00", "This file is binary, not a CSV text file."),
    ],
)
def test_what_cannot_be_read_says_why(data, message):
    # when such bytes are parsed
    with pytest.raises(CsvError) as refused:
        parse(data)
    # then the reason is one a person understands
    assert str(refused.value).startswith(message)


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
cells = st.text(alphabet="ab ,;|\t\"'xé1", max_size=10)


@given(
    headers=st.lists(words, min_size=2, max_size=6, unique=True),
    data=st.data(),
    delimiter=st.sampled_from(imports.DELIMITERS),
)
def test_any_table_written_with_any_delimiter_reads_back_the_same(headers, data, delimiter):
    # given any table whose cells may hold delimiters, quotes and spaces
    rows = data.draw(
        st.lists(st.lists(cells, min_size=len(headers), max_size=len(headers)), min_size=1, max_size=5)
    )
    rows = [row for row in rows if any(value.strip() for value in row)] or [["x"] * len(headers)]
    # when written by a CSV writer and parsed back
    parsed = parse(table(headers, rows, delimiter=delimiter).encode())
    # then the delimiter, headers and values are what was written
    assert parsed.delimiter == delimiter
    assert parsed.headers == headers
    assert [values for _, values in parsed.rows] == rows


# --- header recognition ----------------------------------------------------------------------------------


def targets(columns: dict[str, ColumnMapping]) -> dict[str, str]:
    return {h: c.target + (f":{c.name}" if c.name else "") for h, c in columns.items()}


def test_hubspot_headers():
    # when a HubSpot export's headers are mapped with the HubSpot preset
    suggested = targets(suggest_mapping(HUBSPOT_HEADERS, "hubspot"))
    # then each known header goes to its field, outcomes are kept apart, anything else is a custom attribute
    assert suggested == {
        "Record ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Company Name": "company", "Job Title": "job_title", "Lead Status": "custom:outcome_lead_status",
        "Lifecycle Stage": "custom:outcome_lifecycle_stage", "Original Source": "source",
        "Number of Employees": "employees", "Industry": "industry", "Country/Region": "country",
        "Campaign": "campaign", "Favourite Colour": "custom:favourite_colour",
    }  # fmt: skip


def test_salesforce_headers():
    # when a Salesforce export's headers are mapped with the Salesforce preset
    suggested = targets(suggest_mapping(SALESFORCE_HEADERS, "salesforce"))
    # then Title, Company, Employees and Lead ID are recognised
    assert suggested == {
        "Lead ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Company": "company", "Title": "job_title", "Lead Status": "custom:outcome_lead_status",
        "Lead Source": "source", "Employees": "employees", "Industry": "industry", "Country": "country",
        "Campaign": "campaign", "Rating": "custom:outcome_rating",
    }  # fmt: skip


def test_xeducation_headers():
    # when the X Education data set's headers are mapped with its preset
    suggested = targets(suggest_mapping(XEDUCATION_HEADERS, "xeducation"))
    # then the id, source and country are fields, behaviour counts are numbers, rep feedback is outcome_
    assert suggested == {
        "Prospect ID": "external_id", "Lead Number": "custom:lead_number", "Lead Origin": "custom:lead_origin",
        "Lead Source": "source", "Converted": "number:outcome_converted", "TotalVisits": "number:total_visits",
        "Total Time Spent on Website": "number:time_on_website",
        "Page Views Per Visit": "number:page_views_per_visit", "Last Activity": "custom:last_activity",
        "Country": "country", "Specialization": "industry",
        "What is your current occupation": "custom:occupation", "Tags": "custom:outcome_tags",
        "Lead Quality": "custom:outcome_lead_quality", "City": "custom:city",
        "Last Notable Activity": "custom:last_notable_activity",
    }  # fmt: skip


def test_a_preset_knows_only_its_own_headers_and_auto_knows_them_all():
    # given Salesforce's "Title" and "Lead ID" in a file mapped with the HubSpot preset
    assert targets(suggest_mapping(["Title", "Lead ID"], "hubspot")) == {
        "Title": "custom:title",
        "Lead ID": "custom:lead_id",
    }
    # then auto recognises any system's headers, whatever their case and spacing
    auto = targets(suggest_mapping(["TITLE", "lead id", "E-mail", "Prospect ID", "record_id"], "auto"))
    assert auto == {
        "TITLE": "job_title",
        "lead id": "external_id",
        "E-mail": "email",
        "Prospect ID": "external_id",
        "record_id": "external_id",
    }


def test_custom_attribute_names_are_slugs_unique_and_never_a_lead_field():
    # given headers that slug to the same name, to a lead field's name, or to nothing
    suggested = targets(
        suggest_mapping(["Phone #", "Phone", "email_address_2", "#", "2nd Email", "Seniority Level"], "auto")
    )
    # then every custom attribute has a distinct, valid name
    assert suggested == {
        "Phone #": "custom:phone", "Phone": "custom:phone_2", "email_address_2": "custom:email_address_2",
        "#": "custom:column_4", "2nd Email": "custom:c_2nd_email", "Seniority Level": "custom:seniority_level",
    }  # fmt: skip
    assert imports.mapping_problems(suggest_mapping(["Email", "Phone #", "Phone", "#"], "auto")) == []


def test_detect_preset_names_the_system_a_file_came_from():
    assert imports.detect_preset(HUBSPOT_HEADERS) == "hubspot"
    assert imports.detect_preset(SALESFORCE_HEADERS) == "salesforce"
    assert imports.detect_preset(XEDUCATION_HEADERS) == "xeducation"
    assert imports.detect_preset(["Email", "Company"]) == ""


def test_mapping_problems_say_what_to_fix():
    # given a mapping with no identity, a bad custom name, a lead field as custom name and a repeated name
    columns = mapping(
        Email="ignore",
        A="custom:Bad Name",
        B="custom:country",
        C="number:visits",
        D="custom:visits",
        E="bogus",
    )
    # then each problem is spelled out
    assert imports.mapping_problems(columns) == [
        "Map a column to E-mail or to External id: each row needs one of them to identify its lead.",
        "“A”: a custom attribute name starts with a letter and has only lower-case letters, digits and _ (at most 60).",
        "“B”: “country” is a lead field; choose it as the target instead.",
        "“E”: unknown target “bogus”.",
        "Two columns write the custom attribute “visits”.",
    ]


def test_a_stored_mapping_reads_back_and_unknown_columns_are_ignored():
    stored = imports.mapping_to_json(mapping(Email="email", Visits="number:visits"))
    assert imports.mapping_from_json(stored, ["Email", "Visits", "New"]) == {
        "Email": ColumnMapping("email"),
        "Visits": ColumnMapping("number", "visits"),
        "New": ColumnMapping("ignore"),
    }


# --- one row ----------------------------------------------------------------------------------------------


def test_a_good_row_becomes_lead_data():
    # when a complete row is validated
    lead, problems = check(
        {"Email": " Ann@Acme.Example ", "Record ID": "101", "Company": "Acme", "Employees": "51-200"}
    )
    # then it is the lead's data, e-mail lower-cased, employees a number
    assert problems == []
    assert lead == {
        "email": "ann@acme.example",
        "identities": {"external": "101"},
        "fields": {"company": "Acme", "employees": 51},
        "custom": {},
    }


def test_a_bad_email_names_row_column_and_value():
    lead, problems = check({"Email": "ann@", "Record ID": "1", "Company": "A", "Employees": ""}, number=7)
    assert lead is None
    assert problems == [RowError(7, "Email", "ann@", "“ann@” is not a valid e-mail address.")]
    assert str(problems[0]) == "row 7, column “Email”: “ann@” is not a valid e-mail address."


def test_employees_that_are_not_a_number():
    lead, problems = check(
        {"Email": "a@x.example", "Record ID": "", "Company": "", "Employees": "lots"}, number=3
    )
    assert lead is None
    assert problems == [RowError(3, "Employees", "lots", "“lots” is not a number of employees.")]


def test_employees_beyond_any_company():
    lead, problems = check({"Email": "a@x.example", "Employees": "99999999999"})
    assert lead is None
    assert problems == [
        RowError(2, "Employees", "99999999999", "99999999999 employees is more than any company has.")
    ]


def test_a_row_needs_an_email_or_an_external_id():
    lead, problems = check({"Email": " ", "Record ID": "", "Company": "Acme", "Employees": "5"}, number=4)
    assert lead is None
    assert problems == [
        RowError(
            4,
            "Email / Record ID",
            "",
            "No e-mail and no external id: each row needs one of them to identify its lead.",
        )
    ]


def test_an_external_id_alone_identifies_the_lead():
    lead, problems = check({"Email": "", "Record ID": "abc-1", "Company": "Acme", "Employees": ""})
    assert (lead["email"], lead["identities"], problems) == ("", {"external": "abc-1"}, [])


@pytest.mark.parametrize(
    ("field", "limit", "label"),
    [
        (name, limit, imports.FIELD_LABELS[name].lower())
        for name, limit in imports.FIELD_LIMITS.items()
        if name != "email"
    ],
)
def test_a_value_too_long_for_its_field(field, limit, label):
    # given a value one character too long for the field
    columns = {"Email": ColumnMapping("email"), "Value": ColumnMapping(field)}
    lead, problems = check({"Email": "a@x.example", "Value": "x" * (limit + 1)}, columns, number=9)
    # then the row is rejected with the length and the limit
    assert lead is None
    assert problems == [
        RowError(
            9,
            "Value",
            "x" * (limit + 1),
            f"{limit + 1:,} characters is too long for {label} (at most {limit:,}).",
        )
    ]


def test_an_email_or_external_id_too_long():
    email = "a" * 250 + "@x.example"
    lead, problems = check({"Email": email, "Record ID": "9" * 201})
    assert lead is None
    assert [(p.column, p.message) for p in problems] == [
        ("Email", "260 characters is too long for e-mail (at most 254)."),
        ("Record ID", "201 characters is too long for an external id (at most 200)."),
    ]


def test_custom_attributes_text_and_numbers():
    columns = mapping(Email="email", Visits="number:visits", Notes="custom:notes")
    assert check({"Email": "a@x.example", "Visits": "1,234", "Notes": "hello"}, columns)[0]["custom"] == {
        "visits": 1234,
        "notes": "hello",
    }
    lead, problems = check({"Email": "a@x.example", "Visits": "many", "Notes": "n" * 1001}, columns, number=5)
    assert lead is None
    assert problems == [
        RowError(5, "Visits", "many", "“many” is not a number."),
        RowError(
            5,
            "Notes",
            "n" * 1001,
            "1,001 characters is too long for the custom attribute notes (at most 1,000).",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("3", 3),
        ("2.5", 2.5),
        ("-4", -4),
        ("1,234", 1234),
        ("1,234.5", 1234.5),
        ("2,5", 2.5),
        (".5", 0.5),
        ("1e3", 1000),
    ],
)
def test_numbers_as_spreadsheets_write_them(text, number):
    assert imports.parse_number(text) == number


@pytest.mark.parametrize("text", ["abc", "1.2.3", "nan", "inf", "1,23,4", "--1"])
def test_not_numbers(text):
    with pytest.raises(ValueError, match="is not a number"):
        imports.parse_number(text)


def test_a_row_with_more_values_than_columns_is_rejected():
    lead, problems = check(imports.as_record(["Email", "Company"], ["a@x.example", "Acme", "Inc"]), number=6)
    assert lead is None
    assert problems == [RowError(6, "", "", "This row has 3 values but the header has 2 columns.")]


def test_a_short_row_reads_missing_values_as_blank():
    lead, problems = check(imports.as_record(["Email", "Company", "Employees"], ["a@x.example"]))
    assert (lead["fields"], problems) == ({}, [])


def test_all_problems_of_a_row_are_reported_together():
    lead, problems = check(
        {"Email": "bad", "Record ID": "", "Company": "x" * 201, "Employees": "?"}, number=2
    )
    assert lead is None
    assert [p.column for p in problems] == ["Email", "Company", "Employees"]


def test_select_means_not_answered():
    columns = mapping(Prospect_ID="external_id", Specialization="industry", City="custom:city")
    lead, problems = check({"Prospect ID": "p1", "Specialization": "Select", "City": "Select"}, columns)
    assert (lead["fields"], lead["custom"], problems) == ({}, {}, [])


def test_the_first_non_blank_of_several_columns_wins():
    columns = mapping(Email="email", Original_Source="source", Lead_Source="source")
    lead, _ = check({"Email": "a@x.example", "Original Source": "", "Lead Source": "Webinar"}, columns)
    assert lead["fields"] == {"source": "Webinar"}
    lead, _ = check({"Email": "a@x.example", "Original Source": "Ads", "Lead Source": "Webinar"}, columns)
    assert lead["fields"] == {"source": "Ads"}


def test_seniority_follows_the_job_title_unless_given():
    columns = mapping(Email="email", Title="job_title", Level="seniority")
    assert (
        check({"Email": "a@x.example", "Title": "VP Marketing", "Level": ""}, columns)[0]["fields"][
            "seniority"
        ]
        == "vp"
    )
    assert (
        check({"Email": "a@x.example", "Title": "VP Marketing", "Level": "board"}, columns)[0]["fields"][
            "seniority"
        ]
        == "board"
    )


def test_source_case_duplicates_take_one_spelling():
    # given a file where "Google" is the common spelling and "google" a stray one
    columns = mapping(Email="email", Lead_Source="source")
    records = [
        (n, {"Email": f"p{n}@x.example", "Lead Source": s})
        for n, s in enumerate(["Google", "google", "Google", " bing "], 2)
    ]
    context = imports.file_context(records, columns)
    # when each row is validated
    sources = [validate_row(n, r, columns, context=context)[0]["fields"]["source"] for n, r in records]
    # then both are "Google", and a lone spelling is kept as it is
    assert sources == ["Google", "Google", "Google", "bing"]


def test_source_spelling_already_stored_counts_too():
    columns = mapping(Email="email", Lead_Source="source")
    records = [
        (2, {"Email": "a@x.example", "Lead Source": "LinkedIn"}),
        (3, {"Email": "b@x.example", "Lead Source": "linkedin"}),
    ]
    context = imports.file_context(records, columns, known_sources={"Linkedin": 40, "Google": 3})
    assert [validate_row(n, r, columns, context=context)[0]["fields"]["source"] for n, r in records] == [
        "Linkedin",
        "Linkedin",
    ]


def test_a_repeated_email_is_a_note_and_the_later_row_updates():
    # given a file where rows 2 and 5 share an e-mail (in different case) and rows 3 and 6 an id
    columns = mapping(Email="email", Record_ID="external_id")
    records = [
        (2, {"Email": "ann@x.example", "Record ID": "1"}),
        (3, {"Email": "", "Record ID": "7"}),
        (5, {"Email": "ANN@x.example", "Record ID": "2"}),
        (6, {"Email": "", "Record ID": "7"}),
    ]
    context = imports.file_context(records, columns)
    # when validated
    results = [validate_row(n, r, columns, context=context) for n, r in records]
    # then the later rows are valid and carry a note saying which row they update
    assert all(lead is not None for lead, _ in results)
    assert [problems for _, problems in results] == [
        [],
        [],
        [
            RowError(
                5,
                "Email",
                "ann@x.example",
                "Same e-mail as row 2: this later row updates that lead.",
                note=True,
            )
        ],
        [
            RowError(
                6, "Record ID", "7", "Same external id as row 3: this later row updates that lead.", note=True
            )
        ],
    ]
    assert results[2][1][0].to_json()["note"] is True


def test_a_json_mapping_works_as_well():
    lead, problems = validate_row(2, {"E": "a@x.example"}, {"E": {"target": "email", "name": ""}})
    assert (lead["email"], problems) == ("a@x.example", [])


def test_validation_needs_no_context_for_a_single_row():
    assert check({"Email": "a@x.example"}, context=FileContext())[1] == []
