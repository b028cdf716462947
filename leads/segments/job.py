"""Applying a segment change in the background: a `RescoreJob` without an agreement, over the leads that move.

Apply (or a change of precedence) saves the segment, counts the open leads that now belong elsewhere
(`leads.segments.moves.moves_under`) and hands their ids to one job; the segment page polls its progress. The
job is the activation's rescore machinery (`leads.jobs`: lease, heartbeat, watchdog resuming a dead worker's
run): each chunk moves the next ids through scoring (`leads_rescore` → `lead_place`, a `segment` event each)
and, in the same transaction, drops them from `pending` and counts them, so a resumed run redoes nothing.

Only one segment change runs at a time (a partial unique constraint says so): a second Apply while one runs
adds the leads it moves that the running job does not hold yet, and starts nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from leads.models import Lead, RescoreJob
from leads.scoring import leads_rescore
from leads.signals import rescore_job_queued

MOVE_CHUNK = 500
REASON = "segment change"
ACTIVE = (RescoreJob.Status.QUEUED, RescoreJob.Status.RUNNING)


def segment_job_start(
    *, segment_id: int, lead_ids: tuple[int, ...] | list[int], now: datetime
) -> RescoreJob | None:
    """The job moving these leads: the one already running (with any lead it lacked added), or a new one.
    None when nothing moves and nothing runs."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _join_or_create(segment_id, sorted(set(lead_ids)), now)
        except IntegrityError:  # another Apply created the job at the same instant: join it
            continue
    return None


def _join_or_create(segment_id: int, ids: list[int], now: datetime) -> RescoreJob | None:
    running = RescoreJob.objects.select_for_update().filter(agreement__isnull=True, status__in=ACTIVE).first()
    if running is not None:
        pending = set(running.pending)
        added = [pk for pk in ids if pk not in pending]
        if added:
            running.pending = sorted(pending.union(added))
            running.total += len(added)
            running.save(update_fields=["pending", "total"])
        return running
    if not ids:
        return None
    job = RescoreJob.objects.create(
        agreement=None, segment_id=segment_id, reason=REASON, pending=ids, total=len(ids), created_at=now,
        heartbeat_at=now,
    )  # fmt: skip
    rescore_job_queued.send(sender=Lead, job_id=job.pk)
    return job


def segment_job_chunk(job_id: int, now: datetime) -> bool:
    """Move the next chunk of the job's leads; False when none is left (or the job is no longer this run's)."""
    with transaction.atomic():
        job = RescoreJob.objects.select_for_update().only("status", "pending").get(pk=job_id)
        if job.status != RescoreJob.Status.RUNNING or not job.pending:
            return False
        ids = job.pending[:MOVE_CHUNK]
        result = leads_rescore(lead_ids=ids, now=now, reason="segment changed")
        RescoreJob.objects.filter(pk=job_id).update(
            pending=job.pending[len(ids) :], done=F("done") + len(ids), moved=F("moved") + result.moved,
            changed=F("changed") + result.changed, heartbeat_at=now,
        )  # fmt: skip
    return True


def segment_job_shown(job_id: Any = None) -> RescoreJob | None:
    """The segment-change job a segment page shows: the one asked for (`?job=`), else the one running."""
    jobs = RescoreJob.objects.filter(agreement__isnull=True)
    if job_id is not None and str(job_id).isdigit():
        return jobs.filter(pk=int(job_id)).first()
    return jobs.filter(status__in=ACTIVE).first()
