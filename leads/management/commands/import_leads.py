"""python manage.py import_leads FILE [--mapping hubspot|salesforce|xeducation|auto]: the upload path, synchronously."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leads.intake import import_services, imports
from leads.intake.imports import CsvError

SHOWN = 20


class Command(BaseCommand):
    help = "Import leads from a CSV file (HubSpot, Salesforce, the X Education data set or any CSV)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument(
            "--mapping",
            choices=list(imports.PRESETS),
            default="auto",
            help="which system's column names to recognise (default: auto)",
        )

    def handle(self, *args: Any, file: Path, mapping: str, **options: Any) -> None:
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}") from error
        started = time.perf_counter()
        try:
            job = import_services.import_create(
                user=None, filename=file.name, data=data, preset=mapping, now=timezone.now()
            )
            job = import_services.import_start(job_id=job.pk, user=None, now_func=timezone.now, inline=True)
        except (CsvError, import_services.ImportStateError) as error:
            raise CommandError(str(error)) from error
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"{file.name}: {job.processed_rows:,} of {job.total_rows:,} rows read in {seconds:.1f} s — "
            f"{job.imported:,} imported, {job.updated:,} updated, {job.rejected:,} rejected."
        )
        errors = [e for e in job.errors if not e.get("note")]
        notes = [e for e in job.errors if e.get("note")]
        for title, items in (("Rejected", errors), ("Notes", notes)):
            if not items:
                continue
            self.stdout.write(f"{title}:")
            for item in items[:SHOWN]:
                self.stdout.write(f"  {imports.RowError(**item)}")
            if len(items) > SHOWN:
                self.stdout.write(f"  … and {len(items) - SHOWN:,} more")
        if job.status != job.Status.DONE:
            raise CommandError(f"The import stopped: {job.failure} (resume it at {job.get_absolute_url()})")
        self.stdout.write(self.style.SUCCESS(f"Done: import {job.pk}, {job.get_absolute_url()}"))
