"""Celery task for CSV imports: a thin wrapper around leads.intake.import_services.import_run."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from leads.intake.import_services import import_run


@shared_task(name="leads.import_tasks.import_run_task")  # the name it was queued under before intake/ existed
def import_run_task(job_id: int) -> int:
    return import_run(job_id=job_id, now_func=timezone.now).processed_rows
