"""Reading lead CSV files: encoding, dialect, headers, column mapping presets and row validation. No ORM.

A mapping says, for each column of the file, where its values go: a lead field (`email`, `company`, ...),
`external_id` (the CRM's record id, stored as a lead identity), a custom attribute (`custom`, text, or
`number`) under a name, or `ignore`. Presets suggest a mapping from the headers HubSpot, Salesforce and the
public X Education data set use. Row numbers are spreadsheet row numbers: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import charset_normalizer
import openpyxl
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads import textformats
from leads.intake import problem_words
from leads.normalise import parse_employees, seniority_from_title

MAX_BYTES = 20 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
BLANK_VALUES = frozenset({"Select"})  # an unanswered drop-down in the X Education forms
MAX_CUSTOM_LENGTH = 1000
MAX_EMPLOYEES = 2_147_483_647
EXTERNAL_ID_LENGTH = 200
CUSTOM_NAME = re.compile(r"[a-z][a-z0-9_]{0,59}")

# Lead fields a column may fill, with their labels and the longest value each one holds (leads.models.Lead).
FIELD_LABELS: dict[str, str] = {
    "email": gettext_lazy("E-mail"),
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "company": gettext_lazy("Company"),
    "job_title": gettext_lazy("Job title"),
    "seniority": gettext_lazy("Seniority"),
    "department": gettext_lazy("Department"),
    "industry": gettext_lazy("Industry"),
    "employees": gettext_lazy("Employees"),
    "country": gettext_lazy("Country"),
    "source": gettext_lazy("Source / channel"),
    "campaign": gettext_lazy("Campaign"),
}
FIELD_LIMITS: dict[str, int] = {
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "company": 200,
    "job_title": 200,
    "seniority": 50,
    "department": 100,
    "industry": 100,
    "country": 100,
    "source": 100,
    "campaign": 200,
}

IGNORE, CUSTOM, NUMBER, EXTERNAL_ID = "ignore", "custom", "number", "external_id"
TARGETS: dict[str, str] = {
    IGNORE: gettext_lazy("Ignore this column"),
    CUSTOM: gettext_lazy("Custom attribute (text)"),
    NUMBER: gettext_lazy("Custom attribute (number)"),
    EXTERNAL_ID: gettext_lazy("External id (CRM record id)"),
    **FIELD_LABELS,
}

PRESETS: dict[str, str] = {
    "auto": gettext_lazy("Recognise automatically"),
    "hubspot": gettext_lazy("HubSpot export"),
    "salesforce": gettext_lazy("Salesforce export"),
    "xeducation": gettext_lazy("X Education lead data set"),
}


class CsvError(ValueError):
    """The file cannot be read as a CSV of leads; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class ColumnMapping:
    target: str
    name: str = ""  # the custom attribute's name, for `custom` and `number`

    def to_json(self) -> dict[str, str]:
        return {"target": self.target, "name": self.name}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ColumnMapping:
        return cls(target=str(data.get("target", IGNORE)), name=str(data.get("name", "")))


ColumnMap = dict[str, ColumnMapping]


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    value: str
    message: str
    note: bool = False  # a note is worth telling but does not reject the row

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column “{self.column}”" if self.column else "")
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }
        if self.note:
            data["note"] = True
        return data


DELIMITER_NAMES = {",": gettext_lazy("comma"), ";": gettext_lazy("semicolon"), "\t": gettext_lazy("tab"),
                   "|": gettext_lazy("pipe"), "": "Excel"}  # fmt: skip


@dataclass(frozen=True)
class ParsedCsv:
    encoding: str
    delimiter: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, values), blank lines left out

    @property
    def decimal_mark(self) -> str:
        """Excel writes semicolon-separated CSV where the comma is the decimal mark (most of Europe)."""
        return "," if self.delimiter == ";" else "."

    @property
    def encoding_label(self) -> str:
        return encoding_label(self.encoding)

    @property
    def delimiter_name(self) -> str:
        return str(DELIMITER_NAMES[self.delimiter])

    def records(self) -> Iterator[tuple[int, dict[str, str]]]:
        for number, values in self.rows:
            yield number, as_record(self.headers, values)

    def samples(self, column: str, count: int = 3) -> list[str]:
        """The first few distinct non-blank values of a column, to show beside its mapping."""
        index = self.headers.index(column)
        found: list[str] = []
        for _number, values in self.rows:
            value = values[index].strip() if index < len(values) else ""
            if value and value not in found:
                found.append(value)
                if len(found) == count:
                    break
        return found


# --- reading the file -------------------------------------------------------------------------------------


# Encodings a lead file may come in, with the names people know them by. Japanese Excel saves CSV as CP932
# (Microsoft's Shift_JIS); older Unix systems EUC-JP; "Unicode text" from Excel is UTF-16.
ENCODINGS: dict[str, Any] = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "cp932": "Shift_JIS (CP932)",
    "euc_jp": "EUC-JP",
    "utf-16": "UTF-16",
    "cp1252": gettext_lazy("Windows-1252 (Western European)"),
}
DETECTABLE = ("cp932", "euc_jp", "utf_16_le", "utf_16_be", "cp1252")
_CODEC_ALIASES = {"shift_jis": "cp932", "utf_16_le": "utf-16-le", "utf_16_be": "utf-16-be", "utf_8": "utf-8"}
MAX_CHAOS = 0.2  # charset-normalizer's mess ratio above which a guess is refused rather than trusted


def encoding_label(codec: str) -> str:
    return str(
        ENCODINGS.get(
            codec,
            {"utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE", "xlsx": "Excel (.xlsx)"}.get(codec, codec),
        )
    )


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text and the codec it was read with. `encoding` forces one (the user's override); otherwise a BOM,
    then strict UTF-8, then charset-normalizer among the encodings lead files really come in. A file no
    candidate reads cleanly is refused: importing mojibake would overwrite good names with garbage."""
    if encoding:
        codec = "utf-8-sig" if encoding == "utf-8" and data.startswith(b"\xef\xbb\xbf") else encoding
        try:
            return data.decode(codec), codec
        except (UnicodeDecodeError, LookupError) as error:
            raise CsvError(
                _(
                    "The file is not readable as %(encoding)s (byte %(byte)s). "
                    "Choose another encoding, or let it be detected."
                )
                % {"encoding": encoding_label(encoding), "byte": getattr(error, "start", 0) + 1}
            ) from error
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as error:
            raise CsvError(_("The file says it is UTF-16 but is not readable as such.")) from error
    if codec := bomless_utf16(data):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(
        data, cp_isolation=list(DETECTABLE), preemptive_behaviour=False
    ).best()
    if best is None or best.chaos > MAX_CHAOS:
        raise CsvError(
            _(
                "The file's encoding could not be recognised (it is not UTF-8, Shift_JIS, EUC-JP, UTF-16 or "
                "Windows-1252 text), so nothing was read. Save it again as “CSV UTF-8” in Excel, or choose the "
                "encoding by hand."
            )
        )
    codec = _CODEC_ALIASES.get(best.encoding, best.encoding)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        raise CsvError(
            _("The file is not fully readable as %(encoding)s; nothing was read.")
            % {"encoding": encoding_label(codec)}
        ) from error
    if any(ch in text for ch in "\x00\ufffd"):
        raise CsvError(
            _("The file read as %(encoding)s still has unreadable characters; nothing was read.")
            % {"encoding": encoding_label(codec)}
        )
    return text, codec


def bomless_utf16(data: bytes) -> str:
    """'utf-16-le' / 'utf-16-be' when the bytes look like UTF-16 without a BOM (ASCII-heavy text has a zero
    byte in every other position), else ''."""
    sample = data[:4096]
    if len(sample) < 4:
        return ""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) / 2
    if odd > 0.3 * half and even < 0.02 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.02 * half:
        return "utf-16-be"
    return ""


def is_xlsx(data: bytes) -> bool:
    """An Office Open XML workbook (a zip holding xl/workbook.xml)."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _cell_text(value: Any) -> str:
    """An Excel cell as the CSV export would write it: dates ISO, whole floats without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _trimmed(values: list[str]) -> list[str]:
    """A sheet row without its trailing blank cells (a workbook pads rows to the widest one)."""
    while values and not values[-1].strip():
        values.pop()
    return values


def _header_and_rows(lines: Iterable[list[str]]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The first non-blank line as the header, and every later non-blank line with its 1-based line number."""
    header: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    for number, values in enumerate(lines, start=1):
        if not any(v.strip() for v in values):
            continue
        if header:
            rows.append((number, values))
        else:
            header = values
    return header, rows


def parse_xlsx(data: bytes) -> ParsedCsv:
    """The first sheet of a workbook, read like a CSV: the first non-blank row is the header."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged file
        raise CsvError(
            _("The Excel file could not be read (%(error)s).") % {"error": error.__class__.__name__}
        ) from error
    try:
        header, rows = _header_and_rows(
            _trimmed([_cell_text(value) for value in cells])
            for cells in workbook.worksheets[0].iter_rows(values_only=True)
        )
    finally:
        workbook.close()
    if not header:
        raise CsvError(_("The workbook's first sheet is empty."))
    if not rows:
        raise CsvError(_("The file has a header row but no leads under it."))
    return ParsedCsv(encoding="xlsx", delimiter="", headers=unique_headers(header), rows=rows)


def looks_binary(data: bytes) -> str:
    """Why these bytes are not a text file ('' when they may be one)."""
    if data.startswith(b"PK\x03\x04"):
        return _("This is a zip file, not a CSV or an Excel (.xlsx) workbook.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return _("This is an old Excel (.xls) file, not a CSV. Save it as CSV (comma separated) first.")
    if data.startswith(b"%PDF"):
        return _("This is a PDF, not a CSV.")
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and not bomless_utf16(data) and b"\x00" in data[:4096]:
        return _("This file is binary, not a CSV text file.")
    return ""


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header into the most columns and the first rows consistently."""
    sample = text[:65536]
    lines = sample.splitlines()
    if len(sample) == 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [row for row in csv.reader(lines[:50], delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for row in rows[1:] if len(row) == width)
        score = (width if width > 1 else 0, consistent)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def unique_headers(raw: Sequence[str]) -> list[str]:
    """Headers as the mapping names them: trimmed, blanks named by position, repeats numbered."""
    headers: list[str] = []
    for position, header in enumerate(raw, start=1):
        name = header.strip() or f"Column {position}"
        candidate, n = name, 2
        while candidate in headers:
            candidate, n = f"{name} ({n})", n + 1
        headers.append(candidate)
    return headers


def parse(data: bytes, encoding: str | None = None) -> ParsedCsv:
    """A CSV (any encoding in ENCODINGS; `encoding` forces one) or an .xlsx workbook, as headers and rows."""
    if not data.strip():
        raise CsvError(_("The file is empty."))
    if is_xlsx(data):
        return parse_xlsx(data)
    if reason := looks_binary(data):
        raise CsvError(reason)
    text, encoding = decode(data, encoding)
    delimiter = sniff_delimiter(text)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header, rows = _header_and_rows(reader)
    except csv.Error as error:
        raise CsvError(
            _("The file is not a readable CSV (line %(line)s: %(error)s).")
            % {"line": reader.line_num, "error": error}
        ) from error
    if not header:
        raise CsvError(_("The file is empty."))
    if any("\x00" in name for name in header):
        raise CsvError(_("The header row contains a NUL byte: this is a damaged or binary file, not a CSV."))
    if not rows:
        raise CsvError(_("The file has a header row but no leads under it."))
    return ParsedCsv(encoding=encoding, delimiter=delimiter, headers=unique_headers(header), rows=rows)


def as_record(headers: Sequence[str], values: Sequence[str]) -> dict[str, str]:
    record = {header: (values[i] if i < len(values) else "") for i, header in enumerate(headers)}
    if len(values) > len(headers):
        record[EXTRA] = str(len(values))
    return record


EXTRA = "\x00extra"  # marks a row with more values than the header has columns


# --- presets ----------------------------------------------------------------------------------------------


def header_key(header: str) -> str:
    """ "Company Name" → "companyname"; Japanese headers keep their kana and kanji ("会社名", "リードid")."""
    folded = unicodedata.normalize("NFKC", header).casefold()
    return re.sub(r"[^a-z0-9\u3040-\u30ff\u4e00-\u9fff]", "", folded)


def slug(header: str, fallback: str = "column") -> str:
    text = re.sub(r"[^a-z0-9]+", "_", header.casefold()).strip("_")[:60].rstrip("_")
    if not text:
        return fallback
    return text if text[0].isalpha() else f"c_{text}"[:60]


def _f(name: str) -> ColumnMapping:
    return ColumnMapping(name)


def _c(name: str) -> ColumnMapping:
    return ColumnMapping(CUSTOM, name)


def _n(name: str) -> ColumnMapping:
    return ColumnMapping(NUMBER, name)


_OURS = {"row": ColumnMapping(IGNORE), "errors": ColumnMapping(IGNORE)}  # columns of our rejected-rows file
_PEOPLE = {
    "firstname": _f("first_name"),
    "lastname": _f("last_name"),
    "email": _f("email"),
    "emailaddress": _f("email"),
    "industry": _f("industry"),
    "country": _f("country"),
    "department": _f("department"),
    "seniority": _f("seniority"),
    "campaign": _f("campaign"),
    "campaignname": _f("campaign"),
    # What sales or the CRM decided about the lead: outcomes, never facts to score on.
    "leadstatus": _c("outcome_lead_status"),
    "lifecyclestage": _c("outcome_lifecycle_stage"),
}
# Headers of Japanese exports (Salesforce, HubSpot and Japanese MA tools in Japanese, or hand-made lists).
JAPANESE: dict[str, ColumnMapping] = {
    "メールアドレス": _f("email"),
    "eメール": _f("email"),
    "メール": _f("email"),
    "姓": _f("last_name"),
    "名": _f("first_name"),
    "会社名": _f("company"),
    "企業名": _f("company"),
    "会社": _f("company"),
    "取引先名": _f("company"),
    "役職": _f("job_title"),
    "役職名": _f("job_title"),
    "肩書き": _f("job_title"),
    "部署": _f("department"),
    "部署名": _f("department"),
    "部門": _f("department"),
    "業種": _f("industry"),
    "業界": _f("industry"),
    "従業員数": _f("employees"),
    "社員数": _f("employees"),
    "国": _f("country"),
    "国名": _f("country"),
    "リードソース": _f("source"),
    "流入元": _f("source"),
    "流入経路": _f("source"),
    "キャンペーン": _f("campaign"),
    "キャンペーン名": _f("campaign"),
    "リードid": _f(EXTERNAL_ID),
    "レコードid": _f(EXTERNAL_ID),
    "都道府県": _c("prefecture"),
    "リードステータス": _c("outcome_lead_status"),
    "ライフサイクルステージ": _c("outcome_lifecycle_stage"),
}
HUBSPOT: dict[str, ColumnMapping] = {
    **_PEOPLE,
    **JAPANESE,
    "recordid": _f(EXTERNAL_ID),
    "companyname": _f("company"),
    "company": _f("company"),
    "jobtitle": _f("job_title"),
    "originalsource": _f("source"),
    "leadsource": _f("source"),
    "numberofemployees": _f("employees"),
    "employees": _f("employees"),
    "countryregion": _f("country"),
    **_OURS,
}
SALESFORCE: dict[str, ColumnMapping] = {
    **_PEOPLE,
    **JAPANESE,
    "leadid": _f(EXTERNAL_ID),
    "id": _f(EXTERNAL_ID),
    "company": _f("company"),
    "companyaccount": _f("company"),
    "companyname": _f("company"),
    "title": _f("job_title"),
    "jobtitle": _f("job_title"),
    "leadsource": _f("source"),
    "employees": _f("employees"),
    "noofemployees": _f("employees"),
    "numberofemployees": _f("employees"),
    "rating": _c("outcome_rating"),
    **_OURS,
}
XEDUCATION: dict[str, ColumnMapping] = {
    "prospectid": _f(EXTERNAL_ID),
    "leadnumber": _c("lead_number"),
    "leadorigin": _c("lead_origin"),
    "leadsource": _f("source"),
    "donotemail": _c("do_not_email"),
    "donotcall": _c("do_not_call"),
    "totalvisits": _n("total_visits"),
    "totaltimespentonwebsite": _n("time_on_website"),
    "pageviewspervisit": _n("page_views_per_visit"),
    "lastactivity": _c("last_activity"),
    "lastnotableactivity": _c("last_notable_activity"),
    "country": _f("country"),
    "specialization": _f("industry"),  # "the industry domain in which the customer worked before"
    "city": _c("city"),
    "howdidyouhearaboutxeducation": _c("heard_from"),
    "whatisyourcurrentoccupation": _c("occupation"),
    "whatmattersmosttoyouinchoosingacourse": _c("what_matters_most"),
    "whatmattersmosttoyouinchoosingthiscourse": _c("what_matters_most"),
    "leadprofile": _c("lead_profile"),
    "asymmetriqueactivityscore": _n("asymmetrique_activity_score"),
    "asymmetriqueprofilescore": _n("asymmetrique_profile_score"),
    # Filled in by the sales team after contact: they reveal the outcome, so they are kept apart.
    "converted": _n("outcome_converted"),
    "tags": _c("outcome_tags"),
    "leadquality": _c("outcome_lead_quality"),
    **_OURS,
}
# A historical outcome column in any file: kept apart as `outcome_*` (never scored), learnt from by the review.
OUTCOMES: dict[str, ColumnMapping] = {"converted": _n("outcome_converted"), "won": _c("outcome_won")}
_AUTO: dict[str, ColumnMapping] = {**XEDUCATION, **SALESFORCE, **HUBSPOT, **OUTCOMES}
PRESET_COLUMNS: dict[str, dict[str, ColumnMapping]] = {
    "hubspot": HUBSPOT,
    "salesforce": SALESFORCE,
    "xeducation": XEDUCATION,
    "auto": _AUTO,
}
# Headers only one system writes, to say which one a file probably came from.
_TELLTALES = {
    "hubspot": {"recordid", "companyname", "originalsource", "lifecyclestage", "countryregion"},
    "salesforce": {"leadid", "companyaccount", "noofemployees", "rating"},
    "xeducation": {"prospectid", "leadorigin", "totalvisits", "leadquality", "lastnotableactivity"},
}


def detect_preset(headers: Iterable[str]) -> str:
    """The system a file most probably came from ('' when nothing gives it away)."""
    keys = {header_key(h) for h in headers}
    scores = {preset: len(keys & telltales) for preset, telltales in _TELLTALES.items()}
    best = max(scores, key=lambda preset: scores[preset])
    return best if scores[best] else ""


def suggest_mapping(headers: Sequence[str], preset: str) -> ColumnMap:
    """Each column's suggested target: what the preset knows it as, else a custom attribute named after it."""
    known = PRESET_COLUMNS.get(preset, _AUTO)
    mapping: ColumnMap = {}
    used: set[str] = set()
    for position, header in enumerate(headers, start=1):
        suggestion = known.get(header_key(header))
        if suggestion is None:
            suggestion = ColumnMapping(CUSTOM, slug(header, fallback=f"column_{position}"))
        if suggestion.target in (CUSTOM, NUMBER):
            name, n = suggestion.name, 2
            while name in used or name in FIELD_LABELS:
                name, n = f"{suggestion.name}_{n}", n + 1
            used.add(name)
            suggestion = ColumnMapping(suggestion.target, name)
        mapping[header] = suggestion
    return mapping


def mapping_to_json(mapping: ColumnMap) -> dict[str, dict[str, str]]:
    return {header: column.to_json() for header, column in mapping.items()}


def mapping_from_json(data: Mapping[str, Any], headers: Sequence[str]) -> ColumnMap:
    """The stored mapping for these headers; a column it does not mention is ignored."""
    return {
        header: ColumnMapping.from_json(data[header]) if header in data else ColumnMapping(IGNORE)
        for header in headers
    }


def mapping_problems(mapping: ColumnMap) -> list[str]:
    """What makes a mapping unusable, in words ([] when it is fine)."""
    problems = []
    targets = {column.target for column in mapping.values()}
    if not {"email", EXTERNAL_ID} & targets:
        problems.append(
            _("Map a column to E-mail or to External id: each row needs one of them to identify its lead.")
        )
    names: Counter[str] = Counter()
    for header, column in mapping.items():
        if column.target not in TARGETS:
            problems.append(
                _("“%(header)s”: unknown target “%(target)s”.") % {"header": header, "target": column.target}
            )
        elif column.target in (CUSTOM, NUMBER):
            if not CUSTOM_NAME.fullmatch(column.name):
                problems.append(
                    _(
                        "“%(header)s”: a custom attribute name starts with a letter and has only lower-case "
                        "letters, digits and _ (at most 60)."
                    )
                    % {"header": header}
                )
            elif column.name in FIELD_LABELS:
                problems.append(
                    _("“%(header)s”: “%(name)s” is a lead field; choose it as the target instead.")
                    % {"header": header, "name": column.name}
                )
            names[column.name] += 1
    problems += [
        _("Two columns write the custom attribute “%(name)s”.") % {"name": name}
        for name, n in names.items()
        if n > 1
    ]
    return problems


# --- one row ----------------------------------------------------------------------------------------------


@dataclass
class FileContext:
    """What validating one row needs to know about the whole file (and the leads already stored)."""

    source_spellings: dict[str, str] = field(default_factory=dict)  # casefolded → the spelling to keep
    first_email_row: dict[str, int] = field(default_factory=dict)
    first_external_row: dict[str, int] = field(default_factory=dict)
    decimal_mark: str | None = None  # the file's, when known; None: read 1,200 / 1.200 / 2,5 by their shape


def file_context(
    records: Iterable[tuple[int, Mapping[str, str]]],
    mapping: ColumnMap,
    known_sources: Mapping[str, int] | None = None,
    decimal_mark: str | None = None,
) -> FileContext:
    """Where each e-mail and id first appears, and one spelling per source whatever its case.

    The spelling kept is the most common one among the leads already stored (`known_sources`: spelling →
    count) and this file together; on a tie, the one with capitals ("Google" over "google").
    """
    email_cols = [h for h, c in mapping.items() if c.target == "email"]
    external_cols = [h for h, c in mapping.items() if c.target == EXTERNAL_ID]
    source_cols = [h for h, c in mapping.items() if c.target == "source"]
    context = FileContext(decimal_mark=decimal_mark)
    spellings: dict[str, Counter[str]] = {}
    for source, count in (known_sources or {}).items():
        if cleaned := _clean_source(source):
            spellings.setdefault(cleaned.casefold(), Counter())[cleaned] += count
    for number, record in records:
        email = _first(record, email_cols).lower()
        if email:
            context.first_email_row.setdefault(email, number)
        external = _first(record, external_cols)
        if external:
            context.first_external_row.setdefault(external, number)
        source = _clean_source(_first(record, source_cols))
        if source:
            spellings.setdefault(source.casefold(), Counter())[source] += 1
    for key, counts in spellings.items():
        context.source_spellings[key] = max(counts, key=lambda s: (counts[s], s != s.lower(), s))
    return context


def _first(record: Mapping[str, str], columns: Sequence[str]) -> str:
    for column in columns:
        value = _clean(record.get(column, ""))
        if value:
            return value
    return ""


def _clean(value: str | None) -> str:
    value = (value or "").strip()
    return "" if value in BLANK_VALUES else value


def _clean_source(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def parse_number(value: str) -> int | float:
    """1,234 / 1.234 / １２３４ / 2,5 / 1.2万: see leads.textformats, the one place number formats are read."""
    return textformats.parse_number(value)


def validate_row(
    row_number: int,
    row: Mapping[str, str],
    mapping: ColumnMap,
    *,
    context: FileContext | None = None,
) -> tuple[dict[str, Any] | None, list[RowError]]:
    """The lead this row describes ({email, identities, fields, custom}) or None, and what is wrong with it.

    A row with any error is rejected whole. Notes (a repeated e-mail or id) leave the row valid.
    When several columns go to the same place, the first non-blank one wins.
    """
    context = context or FileContext()
    if any(not isinstance(column, ColumnMapping) for column in mapping.values()):
        mapping = {
            h: c if isinstance(c, ColumnMapping) else ColumnMapping.from_json(c) for h, c in mapping.items()
        }
    problems: list[RowError] = []

    def error(column: str, value: str, message: str) -> None:
        # the value is kept to show and download: a NUL byte is shown as ␀ (no database stores it in JSON)
        problems.append(RowError(row_number, column, value.replace("\x00", "␀"), message))

    if EXTRA in row:
        width = sum(1 for key in row if key != EXTRA)
        error(
            "",
            "",
            _("This row has %(values)s values but the header has %(columns)s columns.")
            % {"values": row[EXTRA], "columns": width},
        )
    email, external = "", ""
    fields: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    email_column = external_column = ""
    for header, column in mapping.items():
        if column.target == IGNORE:
            continue
        if column.target == "email":
            email_column = email_column or header
        if column.target == EXTERNAL_ID:
            external_column = external_column or header
        value = _clean(row.get(header, ""))
        if not value:
            continue
        if "\x00" in value:
            error(
                header,
                value,
                _("Contains a NUL byte (a damaged or binary file?): fix the value and import the row."),
            )
            continue
        target = column.target
        if target == "email":
            if email:
                continue
            email = value.lower()
            email_column = header
            if len(email) > FIELD_LIMITS["email"]:
                error(header, value, _too_long(value, _("e-mail"), FIELD_LIMITS["email"]))
            else:
                try:
                    validate_email(email)
                except ValidationError:
                    error(header, value, _("“%(value)s” is not a valid e-mail address.") % {"value": value})
        elif target == EXTERNAL_ID:
            if external:
                continue
            external, external_column = value, header
            if len(value) > EXTERNAL_ID_LENGTH:
                error(header, value, _too_long(value, _("an external id"), EXTERNAL_ID_LENGTH))
        elif target == "employees":
            if "employees" in fields:
                continue
            try:
                employees = parse_employees(value)
            except ValueError:
                error(header, value, _("“%(value)s” is not a number of employees.") % {"value": value})
                continue
            if employees is not None and employees > MAX_EMPLOYEES:
                error(
                    header, value, _("%(value)s employees is more than any company has.") % {"value": value}
                )
            elif employees is not None:
                fields["employees"] = employees
        elif target in FIELD_LIMITS:
            if target in fields:
                continue
            limit = FIELD_LIMITS[target]
            if len(value) > limit:
                error(header, value, _too_long(value, FIELD_LABELS[target].lower(), limit))
                continue
            if target == "source":
                value = _clean_source(value)
                value = context.source_spellings.get(value.casefold(), value)
            fields[target] = value
        elif target == NUMBER:
            if column.name in custom:
                continue
            try:
                custom[column.name] = textformats.parse_number(value, decimal_mark=context.decimal_mark)
            except ValueError as problem:
                error(header, value, problem_words.VALUES.say(str(problem)))
        elif target == CUSTOM:
            if column.name in custom:
                continue
            if len(value) > MAX_CUSTOM_LENGTH:
                error(
                    header,
                    value,
                    _too_long(
                        value, _("the custom attribute %(name)s") % {"name": column.name}, MAX_CUSTOM_LENGTH
                    ),
                )
                continue
            custom[column.name] = value
    if not email and not external:
        columns = " / ".join(c for c in (email_column, external_column) if c)
        error(
            columns, "", _("No e-mail and no external id: each row needs one of them to identify its lead.")
        )
    if fields.get("job_title") and not fields.get("seniority"):
        fields["seniority"] = seniority_from_title(fields["job_title"])
    problems += _notes(row_number, email, email_column, external, external_column, context)
    if any(not problem.note for problem in problems):
        return None, problems
    identities = {EXTERNAL_ID_KIND: external} if external else {}
    return {"email": email, "identities": identities, "fields": fields, "custom": custom}, problems


EXTERNAL_ID_KIND = "external"  # leads.models.IdentityKind.EXTERNAL


def _notes(
    row_number: int, email: str, email_column: str, external: str, external_column: str, context: FileContext
) -> list[RowError]:
    notes = []
    first = context.first_email_row.get(email, row_number) if email else row_number
    if first < row_number:
        notes.append(
            RowError(
                row_number,
                email_column,
                email,
                _("Same e-mail as row %(row)s: this later row updates that lead.") % {"row": first},
                note=True,
            )
        )
    elif external and (first_id := context.first_external_row.get(external, row_number)) < row_number:
        notes.append(
            RowError(
                row_number,
                external_column,
                external,
                _("Same external id as row %(row)s: this later row updates that lead.") % {"row": first_id},
                note=True,
            )
        )
    return notes


def _too_long(value: str, what: str, limit: int) -> str:
    return _("%(length)s characters is too long for %(what)s (at most %(limit)s).") % {
        "length": f"{len(value):,}", "what": what, "limit": f"{limit:,}"}  # fmt: skip
