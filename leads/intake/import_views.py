"""CSV import pages: history, upload, column mapping, preview, start, progress (htmx polling), result."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import localize
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alignment.roles import Role, role_required
from leads.intake import import_services, imports
from leads.intake.forms_import import EncodingForm, MappingForm, UploadForm
from leads.intake.import_services import ImportStateError
from leads.intake.imports import CsvError
from leads.intake.problem_words import failure_words
from leads.models import ImportJob

IMPORTERS = frozenset({Role.MARKETER, Role.MARKETING_MANAGER, Role.SALES_MANAGER, Role.ADMIN})
SHOWN_ERRORS = 100
STARTABLE = (ImportJob.Status.UPLOADED, ImportJob.Status.FAILED)
IN_PROGRESS = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


@role_required(IMPORTERS)
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    jobs = ImportJob.objects.select_related("created_by").defer("data", "mapping", "errors")
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    return render(request, "leads/imports/list.html", {"page": page, "jobs": page.object_list})


@role_required(IMPORTERS)
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > imports.MAX_BYTES:
                raise CsvError(
                    f"The file is {import_services.size_text(upload.size)}; the limit is "
                    f"{import_services.size_text(imports.MAX_BYTES)}. Split it into smaller files."
                )
            job = import_services.import_create(
                user=request.user,
                filename=upload.name,
                data=upload.read(),
                preset=form.cleaned_data["preset"],
                now=timezone.now(),
                encoding=form.cleaned_data.get("encoding") or "",
            )
        except CsvError as error:
            form.add_error("file", str(error))
        else:
            return redirect("leads:import_mapping", pk=job.pk)
    return render(request, "leads/imports/new.html", {"form": form}, status=422 if form.is_bound else 200)


@role_required(IMPORTERS)
@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    if job.status != ImportJob.Status.UPLOADED:
        messages.info(request, "This import has started: its mapping can no longer change.")
        return redirect(job)
    parsed = import_services.job_file(job)
    current = import_services.job_mapping(job, parsed)
    columns = [(header, current[header], parsed.samples(header)) for header in parsed.headers]
    form = MappingForm(request.POST or None, columns=columns)
    if request.method == "POST" and form.is_valid():
        try:
            import_services.import_mapping_save(job_id=job.pk, mapping=form.mapping())
        except ImportStateError as error:
            form.add_error(None, str(error))
        else:
            return redirect("leads:import_preview", pk=job.pk)
    return render(
        request,
        "leads/imports/mapping.html",
        {
            "job": job,
            "form": form,
            "parsed": parsed,
            "detected": imports.PRESETS.get(imports.detect_preset(parsed.headers), ""),
            "preset_label": imports.PRESETS.get(job.preset, job.preset),
            "encoding_form": _encoding_form(job, parsed),
        },
        status=422 if form.is_bound else 200,
    )


@role_required(IMPORTERS)
@require_GET
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    if job.status not in STARTABLE:
        return redirect(job)
    preview = import_services.import_preview(job)
    return render(
        request,
        "leads/imports/preview.html",
        {
            "job": job,
            "preview": preview,
            "in_background": job.total_rows >= import_services.INLINE_LIMIT,
            "inline_limit": import_services.INLINE_LIMIT,
            "detected": imports.PRESETS.get(preview.detected_preset, ""),
            "encoding_form": _encoding_form(job, import_services.job_file(job)),
        },
    )


def _encoding_form(job: ImportJob, parsed: imports.ParsedCsv) -> EncodingForm | None:
    """The "read it as…" control: only for a CSV whose import has not started."""
    if parsed.encoding == "xlsx" or job.status != ImportJob.Status.UPLOADED:
        return None
    form = EncodingForm(initial={"encoding": job.encoding if job.encoding in imports.ENCODINGS else ""})
    form.detected_label = parsed.encoding_label
    return form


@role_required(IMPORTERS)
@require_POST
def import_encoding(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-read the file with the encoding the user chose (the preview showed the detected one was wrong)."""
    job = get_object_or_404(ImportJob.objects.defer("data"), pk=pk)
    form = EncodingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the listed encodings."))
        return redirect("leads:import_preview", pk=job.pk)
    try:
        job = import_services.import_encoding_set(job_id=job.pk, encoding=form.cleaned_data["encoding"])
    except (CsvError, ImportStateError) as error:
        messages.error(request, str(error))
    else:
        label = imports.encoding_label(job.encoding)
        messages.success(request, _("The file is now read as %(encoding)s.") % {"encoding": label})
    return redirect("leads:import_preview", pk=job.pk)


@role_required(IMPORTERS)
@require_POST
def import_start(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.defer("data"), pk=pk)
    try:
        job = import_services.import_start(job_id=job.pk, user=request.user, now_func=timezone.now)
    except ImportStateError as error:
        messages.error(request, str(error))
        return redirect(job)
    if job.status == ImportJob.Status.DONE:
        messages.success(
            request,
            _("Imported %(file)s: %(new)s new, %(updated)s updated, %(rejected)s rejected.")
            % {
                "file": job.filename,
                "new": intcomma(job.imported),
                "updated": intcomma(job.updated),
                "rejected": intcomma(job.rejected),
            },  # fmt: skip
        )
    elif job.status == ImportJob.Status.FAILED:
        messages.error(
            request, _("The import stopped: %(failure)s") % {"failure": failure_words(job.failure)}
        )
    return redirect(job)


def _status_context(job: ImportJob) -> dict[str, Any]:
    problems = job.errors or []
    errors = [p for p in problems if not p.get("note")]
    notes = [p for p in problems if p.get("note")]
    return {
        "job": job,
        "in_progress": job.status in IN_PROGRESS,
        "startable": job.status in STARTABLE,
        "errors": errors[:SHOWN_ERRORS],
        "more_errors": max(0, len(errors) - SHOWN_ERRORS),
        "notes": notes[:SHOWN_ERRORS],
        "more_notes": max(0, len(notes) - SHOWN_ERRORS),
        "preset_label": imports.PRESETS.get(job.preset, job.preset),
        "took": _duration(job),
        "encoding_label": imports.encoding_label(job.encoding) if job.encoding else "",
    }


def _duration(job: ImportJob) -> str:
    if not (job.started_at and job.finished_at):
        return ""
    seconds = max(0.0, (job.finished_at - job.started_at).total_seconds())
    if seconds < 60:
        return _("%(seconds)s seconds") % {"seconds": localize(round(seconds, 1))}
    minutes, rest = divmod(round(seconds), 60)
    return _("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": rest}


@role_required(IMPORTERS)
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("created_by").defer("data"), pk=pk)
    return render(request, "leads/imports/detail.html", _status_context(job))


@role_required(IMPORTERS)
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The status card alone: polled every second while the import runs, then it shows the result."""
    job = get_object_or_404(ImportJob.objects.select_related("created_by").defer("data"), pk=pk)
    return render(request, "leads/imports/detail.html#import-status", _status_context(job))


@role_required(IMPORTERS)
@require_GET
def import_errors_csv(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk)
    response = HttpResponse(import_services.import_rejected_csv(job), content_type="text/csv; charset=utf-8")
    stem = PurePath(job.filename).stem or "import"
    response["Content-Disposition"] = content_disposition_header(True, f"{stem}-rejected-rows.csv")
    return response
