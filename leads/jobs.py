"""Background jobs that survive their worker: a lease with a heartbeat, and a watchdog that resumes or fails.

A job (an activation's rescore, a CSV import) runs in chunks, each its own transaction that also moves the
job's progress and heartbeat, so whatever committed is never redone and the progress shown is always true.
A worker takes a job by leasing it (status `running`, `heartbeat_at` now, one more attempt). If the worker
dies — SIGKILL, out of memory, the machine gone, PostgreSQL restarted under it — the heartbeat stops, and the
watchdog (Celery beat, `leads.tasks.jobs_watchdog`) queues the job again after `JOB_LEASE_SECONDS`; the next
run resumes after the last committed chunk. After `JOB_MAX_ATTEMPTS` runs it is marked failed instead, and the
page shows a retry button. Celery's late acks and `reject_on_worker_lost` redeliver the task too; a second
delivery finds a live lease and returns at once.

A run that stops on an exception records it on a fresh database connection: the one it was using may be the
very thing that broke. A database error is transient (the job is queued again); anything else fails it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.db.models import Q
from django.dispatch import Signal

from leads.models import ImportJob, Lead, RescoreJob
from leads.signals import import_job_queued, rescore_job_queued

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
LEASE_FIELDS = ("status", "heartbeat_at", "attempts", "started_at")  # never the import's file


@dataclass(frozen=True)
class JobKind:
    name: str
    model: type[models.Model]
    error_field: str  # where the reason it stopped is written
    queued: Signal  # leads.receivers turns it into the Celery task that runs the job, after commit


RESCORE = JobKind("rescore", RescoreJob, "error", rescore_job_queued)
IMPORT = JobKind("import", ImportJob, "failure", import_job_queued)
KINDS = (RESCORE, IMPORT)


def lease_seconds() -> int:
    return int(getattr(settings, "JOB_LEASE_SECONDS", 60))


def max_attempts() -> int:
    return int(getattr(settings, "JOB_MAX_ATTEMPTS", 5))


def job_lease(kind: JobKind, *, job_id: int, now: datetime) -> bool:
    """Take the job for this worker. False when there is nothing to do: finished, not started by anyone,
    or held by a worker whose heartbeat is fresh (a redelivered duplicate of a task that is still running)."""
    with transaction.atomic():
        job = kind.model.objects.select_for_update().only(*LEASE_FIELDS).filter(pk=job_id).first()
        if job is None or job.status not in (QUEUED, RUNNING):
            return False
        if job.status == RUNNING and job.heartbeat_at and job.heartbeat_at > now - _lease():
            return False
        job.status, job.heartbeat_at, job.attempts = RUNNING, now, job.attempts + 1
        job.started_at = job.started_at or now
        job.save(update_fields=["status", "heartbeat_at", "attempts", "started_at"])
    return True


def job_queue(kind: JobKind, *, job_id: int, now: datetime) -> None:
    """Queue the job's task after commit; the heartbeat stamps when, so the watchdog knows a lost message."""
    kind.model.objects.filter(pk=job_id).update(status=QUEUED, heartbeat_at=now)
    kind.queued.send(sender=Lead, job_id=job_id)


def job_retry(kind: JobKind, *, job_id: int, now: datetime) -> bool:
    """A person asked to run a failed job again: it resumes where it stopped with a fresh count of attempts."""
    with transaction.atomic():
        updated = kind.model.objects.filter(pk=job_id, status=FAILED).update(
            status=QUEUED, heartbeat_at=now, attempts=0, finished_at=None, **{kind.error_field: ""}
        )
        if updated:
            kind.queued.send(sender=Lead, job_id=job_id)
    return bool(updated)


def job_stopped(kind: JobKind, *, job_id: int, error: BaseException, now: datetime) -> str:
    """Record why a run stopped, on a fresh connection. A database error queues the job again (the watchdog
    sends it once the lease has passed) unless it has used up its attempts; any other error fails it.
    Returns the status written, or "" when even a fresh connection could not write it (the watchdog will)."""
    transient = isinstance(error, TRANSIENT_ERRORS)

    def write() -> str:
        job = kind.model.objects.filter(pk=job_id).values("status", "attempts").first()
        if job is None or job["status"] != RUNNING:
            return job["status"] if job else ""
        status = QUEUED if transient and job["attempts"] < max_attempts() else FAILED
        message = _why(error, transient=transient, attempts=job["attempts"], failed=status == FAILED)
        kind.model.objects.filter(pk=job_id, status=RUNNING).update(
            status=status,
            heartbeat_at=now,
            finished_at=now if status == FAILED else None,
            **{kind.error_field: message[:2000]},
        )
        return status

    return on_fresh_connection(write, default="")


def on_fresh_connection(write: Callable[[], Any], *, default: Any, tries: int = 5, wait: float = 1.0) -> Any:
    """Run `write` on a new database connection, retrying a few times while the database comes back.

    Django keeps a connection that failed mid-query around; after an outage every query on it fails, which is
    why a job that was marked failed "on the way out" stayed running. Inside a transaction (tests) the
    connection cannot be replaced, so `write` runs as it is.
    """
    for attempt in range(tries):
        if not connection.in_atomic_block:
            connection.close()
        try:
            return write()
        except TRANSIENT_ERRORS:
            if connection.in_atomic_block or attempt == tries - 1:
                log.warning("Could not record a job's stop; the watchdog will", exc_info=True)
                return default
            time.sleep(wait * (attempt + 1))
    return default


def _why(error: BaseException, *, transient: bool, attempts: int, failed: bool) -> str:
    text = str(error).strip() or type(error).__name__
    if not transient:
        return text
    if failed:
        return f"Stopped {attempts} times on a database error; last: {text}"
    return f"Paused on a database error, will resume: {text}"


@dataclass
class WatchdogResult:
    resumed: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, int]] = field(default_factory=list)


def jobs_watchdog(*, now: datetime) -> WatchdogResult:
    """Find jobs whose worker went silent (or whose queued message was lost with the broker) and queue them
    again, or fail those that have used up their attempts. Safe to run anywhere, any number of times."""
    result = WatchdogResult()
    stale = now - _lease()
    for kind in KINDS:
        ids = list(
            kind.model.objects.filter(status__in=(QUEUED, RUNNING))
            .filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for job_id in ids:
            with transaction.atomic():
                job = kind.model.objects.select_for_update().only(*LEASE_FIELDS).filter(pk=job_id).first()
                if job is None or job.status not in (QUEUED, RUNNING):
                    continue
                if job.heartbeat_at and job.heartbeat_at >= stale:
                    continue
                if job.status == RUNNING and job.attempts >= max_attempts():
                    message = (
                        f"The worker running it stopped answering {job.attempts} times "
                        f"(no heartbeat for {lease_seconds()} s); it was not resumed again."
                    )
                    kind.model.objects.filter(pk=job_id).update(
                        status=FAILED, finished_at=now, **{kind.error_field: message}
                    )
                    result.failed.append((kind.name, job_id))
                    log.warning("%s job %s failed: %s", kind.name, job_id, message)
                    continue
                job_queue(kind, job_id=job_id, now=now)
                result.resumed.append((kind.name, job_id))
                log.warning(
                    "%s job %s had no heartbeat since %s: queued again", kind.name, job_id, job.heartbeat_at
                )
    return result


def job_finish(kind: JobKind, *, job_id: int, now: datetime) -> bool:
    """Mark the job done, once (a redelivered run finishing alongside does not finish it twice)."""
    return bool(
        kind.model.objects.filter(pk=job_id, status=RUNNING).update(
            status=DONE, finished_at=now, heartbeat_at=now, **{kind.error_field: ""}
        )
    )


def _lease() -> timedelta:
    return timedelta(seconds=lease_seconds())
