from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from leads import services
from leads.queue import sla_breaches_scan

log = logging.getLogger(__name__)


@shared_task
def rescore_job_run(job_id: int) -> int:
    return services.rescore_job_run(job_id=job_id, now_func=timezone.now).done


@shared_task
def jobs_watchdog() -> int:
    """Beat sends it every 30 s: jobs whose worker went silent are queued again to resume, or failed."""
    from leads.jobs import jobs_watchdog as watchdog

    result = watchdog(now=timezone.now())
    return len(result.resumed) + len(result.failed)


@shared_task
def leads_rescore_aged() -> int:
    return services.leads_rescore_aged(now=timezone.now())


@shared_task
def sla_breach_scan() -> int:
    return len(sla_breaches_scan(now=timezone.now()).breaches)


# Celery discovers `tasks` modules only; the import task lives beside the import code.
from leads.intake.import_tasks import import_run_task  # noqa: E402, F401
