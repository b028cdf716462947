"""Celery task for CSV imports: a thin wrapper around leads.import_services.import_run."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task
def import_run_task(job_id: int) -> int:
    from leads.import_services import import_run

    return import_run(job_id=job_id, now_func=timezone.now).processed_rows
