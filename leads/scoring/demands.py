"""Ingest stores, workers judge: the leads whose facts changed wait as `ScoringDemand` rows until scored.

- `demands_record` (inside the transaction that stored the facts: an event batch, an import chunk) writes one
  row per touched lead (a lead already waiting keeps its row) and asks for a scoring run after commit. An event
  that may fire one of the agreement's triggers marks its lead `hot`: it is scored first, by its own task on
  the `hot` queue, so a demo request is in the queue within a second even while bulk traffic flows in. That
  task judges hot leads only (a worker kept for the `hot` queue, `-Q hot`, is then never busy with a bulk
  batch when a trigger arrives); the batch's other leads get an ordinary run on the default queue.
- `demands_score` takes waiting rows (hot first, `SCORING_HOT_BATCH` at a time, then the oldest; `FOR UPDATE
  SKIP LOCKED` on PostgreSQL, so any number of workers share the work without waiting for each other), scores
  their leads with `leads_rescore` and deletes the rows, all in one transaction: a worker that dies leaves its
  rows to the next.
- `demands_sweep` (beat) queues runs for rows nobody took for `SCORING_STALE_SECONDS` (a lost broker message,
  a dead worker).
- With no broker (tests, plain runserver) tasks run in-process: the touched leads are judged by the same
  `_judge` before the storing transaction commits (no row is written), so a caller sees its leads judged at
  once.

Why this is safe against a batch arriving while its lead is being scored: the storing transaction and the
scoring both lock the lead row (ingest before it writes activities, `leads_rescore` before it reads them), and
a demand insert never waits for a worker's lock (`ON CONFLICT DO NOTHING`). Either the worker locks the lead
first, scores it and deletes the row before the batch writes (the batch then inserts a fresh row), or it waits
for the batch to commit and reads its activities.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from celery import current_app
from django.conf import settings
from django.db import connection, transaction

from leads.bulkwrite import values_insert
from leads.models import Lead, ScoringDemand
from leads.rules import Rules, RulesInForce, active_rules
from leads.scoring.rescore import RescoreResult, leads_rescore
from leads.signals import scoring_demanded
from sla.criteria import may_trigger


class Event(NamedTuple):
    """An activity a batch stored, as the hot path sees it: `previous_at` is the lead's last activity known
    before the batch (None for a new lead); `attributes` the lead's as the batch left them (None: unknown)."""

    lead_id: int
    type: str
    properties: dict
    occurred_at: datetime
    previous_at: datetime | None
    attributes: Mapping[str, Any] | None = None


def batch_size() -> int:
    return int(getattr(settings, "SCORING_BATCH", 50))


def hot_batch_size() -> int:
    """Hot leads taken per transaction: few, so each is in the queue soon and none waits behind many."""
    return int(getattr(settings, "SCORING_HOT_BATCH", 10))


def stale_seconds() -> int:
    return int(getattr(settings, "SCORING_STALE_SECONDS", 30))


def scoring_rules(lead_ids: Iterable[int]) -> list[tuple[Rules | None, list[int]]]:
    """Which agreement judges which leads: the one place that decides it (today the active agreement judges
    every lead). Returns (rules, lead ids) groups, ids sorted; rules None when no agreement is active."""
    ids = sorted(set(lead_ids))
    return [(active_rules(), ids)] if ids else []


def hot_events(in_force: Iterable[Rules], events: Iterable[Event], *, now: datetime) -> set[int]:
    """The leads among these events whose event may fire a trigger of an agreement in force
    (sla.criteria.may_trigger, with the lead's attributes when known). Every agreement is asked, not only
    the lead's own: a lead that may fire under its segment's terms is never left out, and one whose
    attributes fail every such trigger's gates or condition (a pricing-page view of a lead too small for
    the pricing trigger) does not jump the queue."""
    criteria = [rules.criteria for rules in in_force]
    return {
        event.lead_id
        for event in events
        if any(
            may_trigger(
                each,
                event.type,
                event.properties or {},
                occurred_at=event.occurred_at,
                previous_at=event.previous_at,
                now=now,
                attributes=event.attributes,
            )
            for each in criteria
        )
    }


def in_process() -> bool:
    """True when Celery runs tasks in-process (no broker: tests, plain runserver)."""
    return bool(current_app.conf.task_always_eager)


def demands_record(
    lead_ids: Collection[int],
    *,
    now: datetime,
    events: Iterable[Event] = (),
    reason: str = "activity",
) -> RescoreResult:
    """Ask for these leads to be judged, in the caller's transaction; `events` (lead id, activity type,
    ...) are what the batch stored: a lead whose event may fire a trigger is judged first. In-process
    the leads are judged now, by the same `_judge` a worker runs (the result says what changed); with a broker
    a worker does it after commit (an empty result)."""
    ids = sorted(set(lead_ids))
    if not ids:
        return RescoreResult()
    if in_process():
        result = RescoreResult()
        _judge(scoring_rules(ids), now=now, reason=reason, into=result)
        return result
    events = list(events)
    hot = hot_events(RulesInForce.load().all(), events, now=now) if events else set()
    inserted = values_insert(
        ScoringDemand,
        ["lead", "hot", "since", "reason"],
        [(pk, pk in hot, now, reason) for pk in ids],
        ignore_conflicts=True,
        returning=True,
    )
    hot_ids = sorted(hot)
    # a hot lead already waiting keeps its row, made hot; PostgreSQL's RETURNING names the rows just inserted, so
    # the usual new row costs no second statement (SQLite's bulk insert does not say which it skipped)
    new = set(inserted) if connection.vendor == "postgresql" else set()
    waiting_hot = [pk for pk in hot_ids if pk not in new]
    if waiting_hot:
        _mark_hot(waiting_hot)
    scoring_demanded.send(sender=Lead, hot_ids=hot_ids, others=len(hot_ids) < len(ids))
    return RescoreResult()


def _judge(
    groups: list[tuple[Rules | None, list[int]]], *, now: datetime, reason: str, into: RescoreResult
) -> None:
    for rules, group in groups:
        result = leads_rescore(lead_ids=group, now=now, rules=rules, reason=reason)
        into.scored += result.scored
        into.became_mql += result.became_mql
        into.became_hot += result.became_hot


def _mark_hot(lead_ids: list[int]) -> None:
    """A lead already waiting becomes hot; a row a worker holds is left alone (it is being scored anyway)."""
    waiting = ScoringDemand.objects.filter(lead_id__in=lead_ids, hot=False)
    if connection.features.has_select_for_update_skip_locked:
        waiting = ScoringDemand.objects.filter(
            lead_id__in=waiting.select_for_update(skip_locked=True).values("lead_id")
        )
    waiting.update(hot=True)


def demands_score(
    *, now: datetime, lead_ids: Iterable[int] | None = None, limit: int | None = None
) -> RescoreResult:
    """Take waiting leads (these `lead_ids`, or the hot then the oldest), score them and delete their rows, in
    batches of `SCORING_BATCH`, each its own transaction; at most `limit` leads (None: every one waiting)."""
    total = RescoreResult()
    wanted = None if lead_ids is None else sorted(set(lead_ids))
    done = 0
    while limit is None or done < limit:
        size = batch_size() if limit is None else min(batch_size(), limit - done)
        if wanted is not None:
            chunk, wanted = wanted[:size], wanted[size:]
            if not chunk:
                break
        else:
            chunk = None
        taken = _score_batch(now=now, lead_ids=chunk, size=size, into=total)
        done += taken
        if wanted is None and not taken:
            break
    return total


def _score_batch(
    *, now: datetime, lead_ids: list[int] | None, size: int, into: RescoreResult, hot_only: bool = False
) -> int:
    with transaction.atomic():
        rows = ScoringDemand.objects.select_for_update(skip_locked=True).order_by("-hot", "since")
        if lead_ids is not None:
            taken = list(rows.filter(lead_id__in=lead_ids).values_list("lead_id", "reason", "hot")[:size])
        else:  # hot leads first, a few at a time and committed on their own, not after a batch of ordinary ones
            taken = list(
                rows.filter(hot=True).values_list("lead_id", "reason", "hot")[: min(size, hot_batch_size())]
            )
            if not taken and not hot_only:
                taken = list(rows.values_list("lead_id", "reason", "hot")[:size])
        if not taken:
            return 0
        if taken[0][2]:
            taken = [row for row in taken if row[2]]
        by_reason: dict[str, list[int]] = {}
        for lead_id, reason, _ in taken:
            by_reason.setdefault(reason, []).append(lead_id)
        for reason, ids in sorted(by_reason.items()):
            _judge(scoring_rules(ids), now=now, reason=reason, into=into)
        ScoringDemand.objects.filter(lead_id__in=[row[0] for row in taken]).delete()
    return len(taken)


def demands_work(
    *, now_func: Callable[[], datetime], hot_ids: Iterable[int] = (), budget_seconds: float | None = None
) -> tuple[int, bool]:
    """A worker's run. A hot run (`hot_ids`: a task on the `hot` queue) judges these leads, then other hot leads
    waiting, never an ordinary batch: a worker kept for the `hot` queue must be free for the next trigger, and
    the batch that stored them queued an ordinary run for its other leads (hot rows left at the budget have
    their own hot tasks queued). Otherwise batches of waiting leads, hot first, for about `budget_seconds`
    (short, so a hot task queued meanwhile is not kept waiting). Returns (leads scored, whether ordinary rows
    still wait for another run)."""
    budget = budget_seconds if budget_seconds is not None else _budget()
    started = time.monotonic()
    hot_run = bool(hot_ids)
    scored = demands_score(now=now_func(), lead_ids=list(hot_ids), limit=None).scored if hot_run else 0
    while time.monotonic() - started < budget:
        taken = _score_batch(
            now=now_func(), lead_ids=None, size=batch_size(), into=RescoreResult(), hot_only=hot_run
        )
        scored += taken
        if not taken:
            return scored, False
    return scored, not hot_run


def _budget() -> float:
    return float(getattr(settings, "SCORING_TASK_SECONDS", 0.5))


def demands_sweep(*, now: datetime) -> int:
    """How many scoring runs to queue for rows left waiting longer than `SCORING_STALE_SECONDS` (their task
    was lost with the broker, or their worker died); the caller queues them."""
    stale = ScoringDemand.objects.filter(since__lt=now - timedelta(seconds=stale_seconds())).count()
    return min(math.ceil(stale / batch_size()), 16)
