"""Historical outcomes from a CRM opportunity export: who became a customer, joined to our leads.

A CSV (or .xlsx) with an e-mail or external-id column, and a stage or won/lost column (amount and close date if
there are any) — what Salesforce, HubSpot and most CRMs export for opportunities or deals. Each row is matched to
a lead by its e-mail, else by the external id the lead was imported with (`LeadIdentity`, e.g. Prospect ID). A lead
with a won opportunity counts as won; one whose opportunities were all closed and lost, as not won; one with an
opportunity still open is left as it is. The result is stored on the lead as `outcome_*` attributes, which no rule
may score (`sla.criteria.schema.is_leaky_field`) and which the review's learning population reads
(feedback.learning.population), labelled "CRM opportunity imported" so every figure says where it came from.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from alignment.audit import audit_record
from feedback.learning.population import CRM_SOURCE
from feedback.models import OpportunityImport
from leads import textformats
from leads.intake import imports
from leads.models import IdentityKind, Lead, LeadIdentity
from leads.services import normalise_email

CHUNK = 500
MAX_PROBLEMS = 20

EMAIL = {"email", "emailaddress", "contactemail", "primaryemail", "leademail", "メールアドレス", "メール"}
EXTERNAL = {"externalid", "leadid", "prospectid", "contactid", "recordid", "crmid", "リードid"}
STAGE = {"stage", "stagename", "dealstage", "opportunitystage", "status", "ステージ", "フェーズ"}
WON = {"won", "iswon", "closedwon", "result", "outcome", "受注"}
CLOSED = {"closed", "isclosed"}
AMOUNT = {"amount", "dealamount", "opportunityamount", "value", "dealvalue", "金額"}
CLOSE_DATE = {"closedate", "closeddate", "closedat", "closedon", "クローズ日", "完了日"}
_YES = {"1", "true", "yes", "y", "won", "closed won", "closedwon", "受注", "はい"}
_NO = {"0", "false", "no", "n", "lost", "closed lost", "closedlost", "失注", "いいえ"}


class OpportunityFileError(ValueError):
    """The file cannot be read as an opportunity export; the message says why."""


@dataclass(frozen=True)
class Columns:
    email: str | None
    external: str | None
    stage: str | None
    won: str | None
    closed: str | None
    amount: str | None
    close_date: str | None


def columns_of(headers: list[str]) -> Columns:
    def first(names: set[str]) -> str | None:
        return next((h for h in headers if imports.header_key(h) in names), None)

    found = Columns(first(EMAIL), first(EXTERNAL), first(STAGE), first(WON), first(CLOSED), first(AMOUNT),
                    first(CLOSE_DATE))  # fmt: skip
    if not (found.email or found.external):
        raise OpportunityFileError(
            _(
                "The file needs an e-mail column or an external id column (e.g. “Email”, “Lead ID”, “Prospect "
                "ID”) to find each opportunity's lead."
            )
        )
    if not (found.stage or found.won):
        raise OpportunityFileError(
            _(
                "The file needs a stage column (e.g. “Stage”: Closed Won / Closed Lost) or a won column "
                "(e.g. “Won”: yes / no) to say how each opportunity ended."
            )
        )
    return found


def row_result(record: dict[str, str], columns: Columns) -> bool | None:
    """True won, False closed and lost, None still open (or not said)."""
    stage = (record.get(columns.stage, "") if columns.stage else "").strip().casefold()
    won = (record.get(columns.won, "") if columns.won else "").strip().casefold()
    closed = (record.get(columns.closed, "") if columns.closed else "").strip().casefold()
    if closed in _NO:
        return None
    if won in _YES or "won" in stage or "受注" in stage:
        return True
    stage_closed = "lost" in stage or "失注" in stage or "closed" in stage or "クローズ" in stage
    if won in _NO and (stage_closed or closed in _YES or not stage):
        return False
    if stage_closed:
        return False
    return None


@dataclass
class LeadResult:
    won: bool = False
    lost: int = 0
    open: int = 0
    amount: float = 0.0
    close_date: date | None = None
    stage: str = ""

    @property
    def outcome(self) -> str | None:
        if self.won:
            return "won"
        return "lost" if self.lost and not self.open else None


@dataclass
class Summary:
    rows: int = 0
    leads: int = 0
    won: int = 0
    lost: int = 0
    still_open: int = 0
    unmatched: int = 0
    problems: list[str] = field(default_factory=list)


def _problem(summary: Summary, text: str) -> None:
    if len(summary.problems) < MAX_PROBLEMS:
        summary.problems.append(text)


def _amount(raw: str) -> float:
    try:
        return float(imports.parse_number(raw)) if raw.strip() else 0.0
    except ValueError:
        return 0.0


def _close_date(raw: str) -> date | None:
    try:
        return textformats.parse_date(raw) if raw.strip() else None
    except ValueError:
        return None


def _leads_for(emails: set[str], externals: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Lead ids by e-mail and by external id, read in chunks (a bounded number of queries per 500 keys)."""
    by_email: dict[str, int] = {}
    by_external: dict[str, int] = {}
    emails_list, externals_list = sorted(emails), sorted(externals)
    for i in range(0, len(emails_list), CHUNK):
        by_email |= dict(Lead.objects.filter(email__in=emails_list[i : i + CHUNK]).values_list("email", "pk"))
    for i in range(0, len(externals_list), CHUNK):
        rows = LeadIdentity.objects.filter(
            kind=IdentityKind.EXTERNAL, value__in=externals_list[i : i + CHUNK]
        )
        by_external |= dict(rows.values_list("value", "lead_id"))
    return by_email, by_external


def read(data: bytes) -> tuple[Summary, dict[int, LeadResult]]:
    """Each matched lead's result from the file, and what was counted."""
    try:
        parsed = imports.parse(data)
    except imports.CsvError as error:
        raise OpportunityFileError(str(error)) from error
    columns = columns_of(parsed.headers)
    records = [(number, imports.as_record(parsed.headers, values)) for number, values in parsed.rows]
    emails = (
        {normalise_email(r.get(columns.email, "")) for _, r in records} - {""} if columns.email else set()
    )
    externals = (
        {r.get(columns.external, "").strip() for _, r in records} - {""} if columns.external else set()
    )
    by_email, by_external = _leads_for(emails, externals)
    summary = Summary(rows=len(records))
    results: dict[int, LeadResult] = defaultdict(LeadResult)
    for number, record in records:
        email = normalise_email(record.get(columns.email, "")) if columns.email else ""
        external = record.get(columns.external, "").strip() if columns.external else ""
        if not (email or external):
            summary.unmatched += 1
            _problem(summary, _("Row %(row)d: no e-mail and no id.") % {"row": number})
            continue
        lead_id = by_email.get(email) or by_external.get(external)
        if lead_id is None:
            summary.unmatched += 1
            _problem(
                summary,
                _("Row %(row)d: no lead has the e-mail or id “%(key)s”.")
                % {"row": number, "key": email or external},
            )
            continue
        result = results[lead_id]
        ended = row_result(record, columns)
        if ended is None:
            summary.still_open += 1
            result.open += 1
            continue
        amount = _amount(record.get(columns.amount, "")) if columns.amount else 0.0
        if ended:
            result.amount = (result.amount if result.won else 0.0) + amount
            result.won = True
        else:
            result.lost += 1
            if not result.won:
                result.amount += amount
        closed_on = _close_date(record.get(columns.close_date, "")) if columns.close_date else None
        if closed_on and (result.close_date is None or closed_on > result.close_date):
            result.close_date = closed_on
        result.stage = (record.get(columns.stage, "") if columns.stage else "").strip()[:100] or result.stage
    return summary, results


def attributes_for(result: LeadResult) -> dict[str, Any]:
    values: dict[str, Any] = {"outcome_won": result.outcome, "outcome_source": CRM_SOURCE}
    if result.amount:
        values["outcome_amount"] = round(result.amount, 2)
    if result.close_date:
        values["outcome_close_date"] = result.close_date.isoformat()
    if result.stage:
        values["outcome_stage"] = result.stage
    return values


@transaction.atomic
def opportunities_import(*, data: bytes, filename: str, user: Any, now: datetime) -> OpportunityImport:
    """Read a CRM opportunity export into the matched leads' known results (never into their score)."""
    summary, results = read(data)
    decided = {lead_id: result for lead_id, result in results.items() if result.outcome is not None}
    ids = sorted(decided)
    for i in range(0, len(ids), CHUNK):
        leads = list(Lead.objects.select_for_update().filter(pk__in=ids[i : i + CHUNK]).order_by("pk"))
        for lead in leads:
            lead.attributes = {**(lead.attributes or {}), **attributes_for(decided[lead.pk])}
            lead.updated_at = now
        Lead.objects.bulk_update(leads, ["attributes", "updated_at"])
    summary.leads = len(decided)
    summary.won = sum(1 for r in decided.values() if r.outcome == "won")
    summary.lost = summary.leads - summary.won
    record = OpportunityImport.objects.create(
        filename=filename[:255], imported_by=user, imported_at=now, rows=summary.rows, leads=summary.leads,
        won=summary.won, lost=summary.lost, still_open=summary.still_open, unmatched=summary.unmatched,
        problems=summary.problems,
    )  # fmt: skip
    audit_record(actor=user, action="opportunities_import", target=record, at=now,
                 changes={"leads": (None, summary.leads), "won": (None, summary.won), "lost": (None, summary.lost)},
                 reason=f"{summary.rows} rows from {filename[:100]}")  # fmt: skip
    return record
