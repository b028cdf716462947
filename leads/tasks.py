from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError
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


@shared_task(acks_late=True)
def scoring_run(hot_ids: list[int] | None = None) -> int:
    """Score waiting leads (leads/scoring/demands.py): sent to the `hot` queue with `hot_ids`, those and other
    hot leads only; otherwise batches for a short while, and if rows still wait, the next run is queued (so a
    hot task queued meanwhile runs between two on a worker that consumes both queues)."""
    from leads.scoring.demands import demands_work

    try:
        scored, more = demands_work(now_func=timezone.now, hot_ids=hot_ids or ())
    except OperationalError:  # a deadlock or lost connection: the rows are still there, run again shortly
        log.warning("scoring run stopped on a database error; queued again", exc_info=True)
        if hot_ids:
            scoring_run.apply_async(kwargs={"hot_ids": hot_ids}, queue="hot", countdown=1)
        else:
            scoring_run.apply_async(countdown=1)
        return 0
    if more:
        scoring_run.delay()
    return scored


@shared_task
def scoring_sweep() -> int:
    """Beat: queue scoring runs for leads left waiting (a lost task, a dead worker)."""
    from leads.scoring.demands import demands_sweep

    runs = demands_sweep(now=timezone.now())
    for _ in range(runs):
        scoring_run.delay()
    return runs


@shared_task
def hot_notices_sweep() -> int:
    """Beat: hot leads whose notice a dead worker did not write are announced (leads/notifications.py)."""
    from leads.notifications import hot_notices_sweep as sweep

    return sweep(now=timezone.now())


@shared_task
def leads_rescore_aged() -> int:
    return services.leads_rescore_aged(now=timezone.now())


@shared_task
def sla_breach_scan() -> int:
    return len(sla_breaches_scan(now=timezone.now()).breaches)


@shared_task
def activity_partitions_maintain() -> dict[str, list[str]]:
    """Beat, every 6 hours: month partitions made ahead, and old months aged out (leads/partitions.py)."""
    from leads.partitions import partitions_maintain

    done = partitions_maintain(now=timezone.now())
    return {"created": done.created, "dropped": [f"{d.month:%Y-%m}" for d in done.dropped]}


# Celery discovers `tasks` modules only; the import task lives beside the import code.
from leads.intake.import_tasks import import_run_task  # noqa: E402, F401
