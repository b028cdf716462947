"""CSV imports of leads: upload, mapping, preview, the chunked run (inline or in Celery) and rejected rows.

The file's bytes live on the ImportJob, so any worker can read them. Rows are processed in chunks, each chunk
its own transaction: a row is written whole or, when it has any error, not at all; the job's counters move
with the chunk, so a run that stops resumes where it stopped.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath, PureWindowsPath
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils.translation import gettext as _

from alignment import csvsafe
from alignment.audit import audit_record
from alignment.models import UserPreference
from leads import jobs
from leads.bulkwrite import rows_insert, rows_update, values_insert
from leads.intake import imports
from leads.intake.imports import ColumnMap, CsvError, ParsedCsv, RowError
from leads.models import IdentityKind, ImportedLead, ImportJob, Lead, LeadIdentity
from leads.notifications import recipient_locale
from leads.scoring.demands import demands_record
from leads.services import EDITABLE_FIELDS, LeadData, lead_facts_apply, lead_upsert
from leads.signals import import_job_queued

log = logging.getLogger(__name__)

CHUNK = 500
INLINE_LIMIT = 2000  # files with fewer rows are imported during the request; larger ones in a Celery task
ALLOWED_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ""}
UPDATE_FIELDS = ["email", *EDITABLE_FIELDS, "attributes", "attribute_seen_at", "updated_at"]
EXTERNAL = IdentityKind.EXTERNAL.value


class ImportStateError(Exception):
    """The import cannot do that now (already started, mapping unusable, ...); the message says why."""


def size_text(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}".replace(".0 ", " ")
        size /= 1024
    raise AssertionError("unreachable")


def job_file(job: ImportJob) -> ParsedCsv:
    return imports.parse(bytes(job.data), job.encoding or None)


def import_encoding_set(*, job_id: int, encoding: str) -> ImportJob:
    """Read a not-yet-started file with another encoding (the detected one was wrong). Raises CsvError when
    the file is not readable that way, ImportStateError once the import has started."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ImportJob.Status.UPLOADED:
            raise ImportStateError(_("This import has started: its encoding can no longer change."))
        if encoding and encoding not in imports.ENCODINGS:
            raise CsvError(_("Unknown encoding “%(encoding)s”.") % {"encoding": encoding})
        parsed = imports.parse(bytes(job.data), encoding or None)
        job.encoding = parsed.encoding
        job.total_rows = len(parsed.rows)
        job.mapping = imports.mapping_to_json(imports.suggest_mapping(parsed.headers, job.preset or "auto"))
        job.save(update_fields=["encoding", "total_rows", "mapping"])
    return job


def job_mapping(job: ImportJob, parsed: ParsedCsv) -> ColumnMap:
    return imports.mapping_from_json(job.mapping or {}, parsed.headers)


def import_create(
    *, user: Any, filename: str, data: bytes, preset: str, now: datetime, encoding: str = ""
) -> ImportJob:
    """Keep an uploaded file with the mapping its preset suggests. Raises CsvError for anything not a lead CSV."""
    if preset not in imports.PRESETS:
        raise CsvError(
            _("Unknown mapping “%(preset)s”: choose one of %(presets)s.")
            % {"preset": preset, "presets": ", ".join(imports.PRESETS)}
        )
    name = PureWindowsPath(filename or "upload.csv").name  # a browser may send C:\\...\\file.csv
    if PurePath(name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise CsvError(
            _("“%(name)s” is not a CSV or Excel (.xlsx) file. Export or save it as one first.")
            % {"name": name}
        )
    if len(data) > imports.MAX_BYTES:
        raise CsvError(
            _("The file is %(size)s; the limit is %(limit)s. Split it into smaller files.")
            % {"size": size_text(len(data)), "limit": size_text(imports.MAX_BYTES)}
        )
    if encoding and encoding not in imports.ENCODINGS:
        raise CsvError(_("Unknown encoding “%(encoding)s”.") % {"encoding": encoding})
    parsed = imports.parse(data, encoding or None)
    mapping = imports.suggest_mapping(parsed.headers, preset)
    return ImportJob.objects.create(
        filename=name[:255],
        encoding=parsed.encoding if parsed.encoding != "xlsx" else "",
        data=data,
        mapping=imports.mapping_to_json(mapping),
        preset=preset,
        total_rows=len(parsed.rows),
        created_by=user if getattr(user, "is_authenticated", False) else None,
        created_at=now,
    )


@transaction.atomic
def import_mapping_save(*, job_id: int, mapping: Mapping[str, Any]) -> ImportJob:
    """Store the column mapping the user chose; only before the import starts (a resumed one keeps its own)."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status != ImportJob.Status.UPLOADED:
        raise ImportStateError(
            _("This import is already %(status)s.") % {"status": job.get_status_display().lower()}
        )
    parsed = job_file(job)
    columns = imports.mapping_from_json(
        {h: c.to_json() if isinstance(c, imports.ColumnMapping) else c for h, c in mapping.items()},
        parsed.headers,
    )
    if problems := imports.mapping_problems(columns):
        raise ImportStateError(" ".join(problems))
    job.mapping = imports.mapping_to_json(columns)
    job.save(update_fields=["mapping"])
    return job


# --- preview ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    row: int
    status: str  # new, update, rejected
    lead: dict[str, Any] | None
    errors: list[RowError]
    notes: list[RowError]


@dataclass(frozen=True)
class ImportPreview:
    rows: list[PreviewRow]
    total_rows: int
    valid_rows: int
    rejected_rows: int
    noted_rows: int
    encoding: str
    delimiter: str
    detected_preset: str
    mapping: ColumnMap

    @property
    def new_in_preview(self) -> int:
        return sum(1 for row in self.rows if row.status == "new")

    @property
    def updates_in_preview(self) -> int:
        return sum(1 for row in self.rows if row.status == "update")


def import_preview(job: ImportJob, limit: int = 20) -> ImportPreview:
    """The first `limit` rows as they would be imported (new lead or update) with their errors, and the
    whole file's counts of valid and rejected rows."""
    parsed = job_file(job)
    mapping = job_mapping(job, parsed)
    context = imports.file_context(
        parsed.records(), mapping, known_sources=_known_sources(), decimal_mark=parsed.decimal_mark
    )
    shown: list[tuple[int, dict[str, Any] | None, list[RowError]]] = []
    valid = rejected = noted = 0
    for number, record in parsed.records():
        lead, problems = imports.validate_row(number, record, mapping, context=context)
        valid += lead is not None
        rejected += lead is None
        noted += any(p.note for p in problems)
        if len(shown) < limit:
            shown.append((number, lead, problems))
    emails = {lead["email"] for _, lead, _ in shown if lead and lead["email"]}
    externals = {lead["identities"].get(EXTERNAL) for _, lead, _ in shown if lead} - {None}
    stored_emails = set(Lead.objects.filter(email__in=emails).values_list("email", flat=True))
    stored_ids = set(
        LeadIdentity.objects.filter(kind=EXTERNAL, value__in=externals).values_list("value", flat=True)
    )
    rows = []
    for number, lead, problems in shown:
        notes = [p for p in problems if p.note]
        if lead is None:
            status = "rejected"
        elif notes or lead["email"] in stored_emails or lead["identities"].get(EXTERNAL) in stored_ids:
            status = "update"
        else:
            status = "new"
        rows.append(PreviewRow(number, status, lead, [p for p in problems if not p.note], notes))
    return ImportPreview(
        rows=rows,
        total_rows=len(parsed.rows),
        valid_rows=valid,
        rejected_rows=rejected,
        noted_rows=noted,
        encoding=parsed.encoding,
        delimiter=parsed.delimiter_name,
        detected_preset=imports.detect_preset(parsed.headers),
        mapping=mapping,
    )


def _known_sources() -> dict[str, int]:
    rows = Lead.objects.exclude(source="").values("source").annotate(n=Count("id")).order_by()
    return {row["source"]: row["n"] for row in rows}


# --- running ----------------------------------------------------------------------------------------------


def _require_startable(job: ImportJob) -> None:
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.FAILED):
        raise ImportStateError(
            _("This import is already %(status)s.") % {"status": job.get_status_display().lower()}
        )


def import_start(
    *, job_id: int, user: Any, now_func: Callable[[], datetime], inline: bool | None = None
) -> ImportJob:
    """Queue the import: small files (or `inline`) run now, larger ones in a Celery task after commit.

    A failed import starts again where it stopped.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().defer("data").get(pk=job_id)
        _require_startable(job)
        parsed_mapping = imports.mapping_from_json(job.mapping or {}, list((job.mapping or {}).keys()))
        if problems := imports.mapping_problems(parsed_mapping):
            raise ImportStateError(" ".join(problems))
        resumed = job.status == ImportJob.Status.FAILED
        job.status, job.failure, job.heartbeat_at, job.attempts = ImportJob.Status.QUEUED, "", now_func(), 0
        job.save(update_fields=["status", "failure", "heartbeat_at", "attempts"])
        audit_record(
            actor=user,
            action="leads.import_resumed" if resumed else "leads.import_started",
            target=job,
            reason=f"{job.total_rows:,} rows",
            at=now_func(),
        )
        if inline is None:
            inline = job.total_rows < INLINE_LIMIT
        if not inline:
            import_job_queued.send(sender=Lead, job_id=job.pk)
            return job
    return import_run(job_id=job.pk, now_func=now_func)


def import_run(*, job_id: int, now_func: Callable[[], datetime]) -> ImportJob:
    """Import every row not yet processed, chunk by chunk, then mark the job done (or why it stopped).

    The run holds the job's lease (leads.jobs): a worker killed mid-file leaves the committed chunks and the
    count of processed rows true, and the watchdog queues the job again to resume after them.
    """
    if not jobs.job_lease(jobs.IMPORT, job_id=job_id, now=now_func()):
        return ImportJob.objects.defer("data").get(pk=job_id)
    job = ImportJob.objects.get(pk=job_id)
    try:
        # row problems are written in the words of the person who uploaded the file, whichever worker runs it
        with recipient_locale(UserPreference.objects.filter(user_id=job.created_by_id).first()):
            parsed = job_file(job)
            mapping = job_mapping(job, parsed)
            context = imports.file_context(
                parsed.records(), mapping, known_sources=_known_sources(), decimal_mark=parsed.decimal_mark
            )
            records = list(parsed.records())
            while (done := _processed(job.pk)) < len(records):
                if not _import_chunk(
                    job.pk, done, records[done : done + CHUNK], mapping, context, now_func()
                ):
                    break
    except Exception as error:
        log.exception("Import %s stopped", job.pk)
        jobs.job_stopped(jobs.IMPORT, job_id=job.pk, error=_with_progress(error, job.pk), now=now_func())
        return ImportJob.objects.defer("data").get(pk=job.pk)
    now = now_func()
    finished = jobs.job_finish(jobs.IMPORT, job_id=job.pk, now=now)
    job = ImportJob.objects.defer("data").get(pk=job.pk)
    if finished:  # once, even if a redelivered task ran alongside
        audit_record(
            actor="import",
            action="leads.import_finished",
            target=job,
            changes={
                "imported": (0, job.imported),
                "updated": (0, job.updated),
                "rejected": (0, job.rejected),
            },
            at=now,
        )
    return job


def _with_progress(error: Exception, job_id: int) -> Exception:
    """The error, its message prefixed with how far the import got (when the database can still say)."""
    try:
        done = _processed(job_id)
    except Exception:  # the connection is broken; jobs.job_stopped writes on a fresh one
        return error
    error.args = (f"Stopped after {done:,} rows: {error}", *error.args[1:])
    return error


def _processed(job_id: int) -> int:
    return ImportJob.objects.values_list("processed_rows", flat=True).get(pk=job_id)


@dataclass
class ChunkResult:
    created: int = 0
    updated: int = 0
    touched: set[int] = field(default_factory=set)
    created_ids: set[int] = field(default_factory=set)
    errors: list[RowError] = field(default_factory=list)


def _import_chunk(
    job_id: int,
    offset: int,
    chunk: Sequence[tuple[int, dict[str, str]]],
    mapping: ColumnMap,
    context: imports.FileContext,
    now: datetime,
) -> bool:
    """Write one chunk with the job's progress and heartbeat; False when the job is no longer running."""
    problems: list[RowError] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    for number, record in chunk:
        lead, row_problems = imports.validate_row(number, record, mapping, context=context)
        problems += row_problems
        if lead is not None:
            valid.append((number, lead))
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().only("errors", "processed_rows", "status").get(pk=job_id)
        if job.status != ImportJob.Status.RUNNING:
            return False
        if job.processed_rows != offset:
            return True  # a redelivered task running alongside did this chunk already
        try:
            with transaction.atomic():
                result = leads_upsert_bulk(valid, now=now)
        except IntegrityError:
            # Someone else wrote one of these leads meanwhile: go row by row, each retrying as an update.
            result = _upsert_one_by_one(valid, now=now)
        # Which leads this import made or changed: its result links to them (first word wins: created stays)
        values_insert(
            ImportedLead,
            ["job", "lead", "created"],
            [(job_id, pk, pk in result.created_ids) for pk in result.touched],
            ignore_conflicts=True,
        )
        # judged by a scoring worker after commit (in-process: now), as events are
        demands_record(result.touched, now=now, reason="import")
        problems += result.errors
        rejected = len({p.row for p in problems if not p.note})
        ImportJob.objects.filter(pk=job_id).update(
            processed_rows=F("processed_rows") + len(chunk),
            imported=F("imported") + result.created,
            updated=F("updated") + result.updated,
            rejected=F("rejected") + rejected,
            errors=[*(job.errors or []), *(p.to_json() for p in problems)],
            heartbeat_at=now,
        )
    return True


def leads_upsert_bulk(rows: Sequence[tuple[int, dict[str, Any]]], *, now: datetime) -> ChunkResult:
    """lead_upsert for many rows in a handful of queries, with the same rules: the e-mail names the lead,
    else the external id; blank values never erase known facts; a later row updates an earlier one.

    Raises IntegrityError when a concurrent writer created one of the same leads; the caller retries.
    """
    result = ChunkResult()
    emails = {lead["email"] for _, lead in rows if lead["email"]}
    externals = {lead["identities"][EXTERNAL] for _, lead in rows if lead["identities"].get(EXTERNAL)}
    email_ids = dict(Lead.objects.filter(email__in=emails).values_list("email", "pk"))
    external_ids = dict(
        LeadIdentity.objects.filter(kind=EXTERNAL, value__in=externals).values_list("value", "lead_id")
    )
    stored = {
        lead.pk: lead
        for lead in Lead.objects.select_for_update()
        .filter(pk__in={*email_ids.values(), *external_ids.values()})
        .order_by("pk")
    }
    by_email: dict[str, Lead] = {email: stored[pk] for email, pk in email_ids.items() if pk in stored}
    by_external: dict[str, Lead] = {value: stored[pk] for value, pk in external_ids.items() if pk in stored}
    new: list[Lead] = []
    changed: dict[int, Lead] = {}
    identities: list[tuple[Lead, str]] = []
    for number, data in rows:
        email, external = data["email"], data["identities"].get(EXTERNAL, "")
        named_by_email = by_email.get(email) if email else None
        named_by_id = by_external.get(external) if external else None
        if named_by_email is not None and named_by_id is not None and named_by_email is not named_by_id:
            # two people: writing either would overwrite the other's lead with this row's facts
            other = named_by_id.email or f"lead {named_by_id.pk}"
            message = _("The external id %(external)s belongs to another lead (%(other)s) than the e-mail "
                        "%(email)s: not imported, so neither lead is overwritten. Check which one this row is.") % {
                "external": external, "other": other, "email": email}  # fmt: skip
            result.errors.append(RowError(number, "", external, message))
            continue
        lead = named_by_email or named_by_id
        if lead is None:
            lead = Lead(email=email, created_at=now, updated_at=now)
            new.append(lead)
            result.created += 1
        else:
            result.updated += 1
            if email and not lead.email:
                lead.email = email
        lead_facts_apply(lead, fields=data["fields"], custom=data["custom"], now=now)
        lead.updated_at = now
        if lead.pk:
            changed[lead.pk] = lead
        if email:
            by_email.setdefault(email, lead)
        if external and external not in by_external:
            by_external[external] = lead
            identities.append((lead, external))
    # one server-bound statement per table (leads/bulkwrite.py): the locked rows written back, new ones added
    rows_insert(Lead, new, set_pks=True)
    rows_update(Lead, list(changed.values()), UPDATE_FIELDS)
    rows_insert(
        LeadIdentity,
        [LeadIdentity(lead=lead, kind=EXTERNAL, value=value, created_at=now) for lead, value in identities],
    )
    result.created_ids = {lead.pk for lead in new}
    result.touched = result.created_ids | set(changed)
    return result


def _upsert_one_by_one(rows: Sequence[tuple[int, dict[str, Any]]], *, now: datetime) -> ChunkResult:
    result = ChunkResult()
    for number, data in rows:
        try:
            lead, created = lead_upsert(data=LeadData(**data), now=now)
        except (IntegrityError, ValidationError) as error:
            message = "; ".join(getattr(error, "messages", None) or [str(error)])
            result.errors.append(
                RowError(number, "", "", _("Could not be saved: %(message)s") % {"message": message})
            )
            continue
        result.created += created
        result.updated += not created
        result.touched.add(lead.pk)
        if created:
            result.created_ids.add(lead.pk)
    return result


# --- after the run ----------------------------------------------------------------------------------------


def import_rejected_csv(job: ImportJob) -> bytes:
    """The rejected rows as they were in the file, plus "row" and "errors", ready to fix and import again."""
    parsed = job_file(job)
    reasons: dict[int, list[str]] = {}
    for problem in job.errors or []:
        if not problem.get("note"):
            where = f"{problem['column']}: " if problem.get("column") else ""
            reasons.setdefault(problem["row"], []).append(f"{where}{problem['message']}")
    out = io.StringIO(newline="")
    writer = csvsafe.writer(out)
    writer.writerow([*parsed.headers, "row", "errors"])
    width = len(parsed.headers)
    for number, values in parsed.rows:
        if number in reasons:
            padded = [*values[:width], *[""] * (width - len(values))]
            writer.writerow([*padded, number, "; ".join(reasons[number])])
    return out.getvalue().encode("utf-8-sig")
