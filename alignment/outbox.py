"""The transactional outbox: every notification is a row written in the transaction that caused it, delivered
after commit, retried with exponential backoff, and swept up periodically, so neither a broker outage, a dead
worker nor a failing receiver loses one, and none is sent twice.

- `outbox_put` (inside the caller's transaction) writes one message per (event, channel, recipient); its key is
  unique, so a repeated announcement of the same event adds nothing.
- After commit, one `outbox_deliver_many_task` is queued for all the messages the transaction wrote (a breach
  scan's batch of a thousand alerts is one job, not a thousand). If the broker is down that fails quietly: the
  rows are there.
- `message_deliver` locks the row (skipping it when another worker holds it), sends it unless it is already
  sent, and records the attempt; a failure schedules the next try (30 s, 1 min, 2 min, ... capped at 6 h).
- `outbox_sweep` (beat, every minute) delivers whatever is due and was left behind.
- After OUTBOX_MAX_ATTEMPTS the message is marked failed and shown on /system/deliveries/ with a retry button.
"""

from __future__ import annotations

import hashlib
import logging
import time
import urllib.error
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from alignment import channels
from alignment.copywrite import copy_applies, rows_insert_new
from alignment.models import DeliveryAttempt, OutboxMessage

log = logging.getLogger(__name__)
Channel = OutboxMessage.Channel
Status = OutboxMessage.Status
EARLY_SLACK = timedelta(seconds=5)  # a retry may arrive a moment before its slot


_MESSAGE_FIELDS = ("key", "event", "channel", "recipient", "payload", "status", "attempts", "next_attempt_at",
                   "last_error", "created_at", "sent_at")  # fmt: skip


def max_attempts() -> int:
    return int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 10))


def backoff_seconds(attempts: int) -> int:
    """Seconds to wait after `attempts` failed tries: 30, 60, 120, ... capped at 6 hours."""
    base = int(getattr(settings, "OUTBOX_BACKOFF_SECONDS", 30))
    return min(base * 2 ** max(attempts - 1, 0), 6 * 3600)


def message_key(event_ref: str, channel: str, recipient: str) -> str:
    """`event_ref` names the event (`sla.breached:12`); channel and recipient make the key per delivery."""
    key = f"{event_ref}:{channel}:{recipient}"
    if len(key) > 255:
        key = f"{key[:190]}…{hashlib.sha256(key.encode()).hexdigest()[:60]}"
    return key


@dataclass(frozen=True)
class Item:
    """One message to write: `ref` names the event occurrence (`sla.breached:12`)."""

    event: str
    ref: str
    channel: str
    recipient: str
    payload: dict[str, Any]


def outbox_put_many(items: list[Item], *, now: datetime) -> int:
    """Write messages in the current transaction (three queries however many) and queue their delivery for
    after the commit. A message whose key exists already is not written again: nothing is sent twice.
    Returns how many were new."""
    wanted = {message_key(item.ref, item.channel, str(item.recipient)): item for item in items}
    if not wanted:
        return 0
    known = set(OutboxMessage.objects.filter(key__in=list(wanted)).values_list("key", flat=True))
    new = [
        OutboxMessage(
            key=key,
            event=item.event,
            channel=item.channel,
            recipient=str(item.recipient)[:255],
            payload=item.payload,
            next_attempt_at=now,
            created_at=now,
        )  # fmt: skip
        for key, item in wanted.items()
        if key not in known
    ]
    if not new:
        return 0
    if copy_applies(len(new)):  # PostgreSQL, a large batch: COPY, and the new ids come back from the INSERT
        ids = rows_insert_new(OutboxMessage, new, _MESSAGE_FIELDS)
    else:
        OutboxMessage.objects.bulk_create(new, ignore_conflicts=True)  # a concurrent writer's row wins
        ids = list(
            OutboxMessage.objects.filter(
                key__in=[m.key for m in new], created_at=now, attempts=0
            ).values_list("pk", flat=True)
        )
    _enqueue_after_commit(ids)
    return len(new)


def outbox_put(
    *, event: str, ref: str, channel: str, recipient: str, payload: dict[str, Any], now: datetime
) -> bool:
    """One message (see outbox_put_many); False when this (event, channel, recipient) was already written."""
    return bool(outbox_put_many([Item(event, ref, channel, str(recipient), payload)], now=now))


class _AfterCommit:
    """The ids a transaction wrote, queued as one job when it commits."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def __call__(self) -> None:
        _enqueue(self.ids)


def _enqueue_after_commit(ids: list[int]) -> None:
    """Add to the delivery job of this transaction (of this very savepoint: a job a rollback discarded, or one
    registered in another block, is not reused)."""
    connection = transaction.get_connection()
    pending = getattr(connection, "_outbox_after_commit", None)
    here = set(connection.savepoint_ids)
    if pending is not None and any(
        entry[1] is pending and entry[0] == here for entry in connection.run_on_commit
    ):
        pending.ids.extend(ids)
        return
    pending = connection._outbox_after_commit = _AfterCommit()
    pending.ids.extend(ids)
    transaction.on_commit(pending)  # outside a transaction this runs at once


def _enqueue(message_ids: list[int]) -> None:
    """Queue the deliveries: one job for the messages one transaction wrote. A broker outage (or any failure
    here) must not fail the request that committed the state change: the messages are stored, and the sweeper
    delivers them once a worker runs again."""
    if not message_ids:
        return
    try:
        outbox_deliver_many_task.delay(message_ids)
    except Exception:
        log.warning("outbox: could not queue messages %s; the sweeper will deliver them", message_ids[:20])


@dataclass(frozen=True)
class Delivery:
    status: str  # sent, retry, failed, already sent, not due, busy
    retry_in: int | None = None


def message_deliver(*, message_id: int, now: datetime, force: bool = False) -> Delivery:
    """Try one message once. The row is locked while it is sent, so two workers (a retry and the sweeper) never
    send it both; a sent message is never sent again."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=message_id).first()
        if message is None:
            return Delivery("busy")
        if message.status == Status.SENT:
            return Delivery("already sent")
        if message.status == Status.FAILED and not force:
            return Delivery("failed")
        if message.next_attempt_at > now + EARLY_SLACK and not force:
            return Delivery("not due")
        started = time.monotonic()
        status_code: int | None = None
        error = ""
        give_up = False
        try:
            with transaction.atomic():  # an in-app write that fails must not poison the attempt's record
                status_code = channels.deliver(message)
        except channels.Undeliverable as exc:
            error, give_up = str(exc), True
        except urllib.error.HTTPError as exc:
            status_code, error = exc.code, f"HTTP {exc.code} {exc.reason}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
        message.attempts += 1
        DeliveryAttempt.objects.create(
            message=message, at=now, ok=not error, status_code=status_code, error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )  # fmt: skip
        message.last_error = error
        if not error:
            message.status, message.sent_at = Status.SENT, now
            message.save(update_fields=["status", "sent_at", "attempts", "last_error"])
            return Delivery("sent")
        if give_up or message.attempts >= max_attempts():
            message.status = Status.FAILED
            message.save(update_fields=["status", "attempts", "last_error"])
            log.error("outbox: gave up on %s after %s attempts: %s", message.key, message.attempts, error)
            return Delivery("failed")
        wait = backoff_seconds(message.attempts)
        message.status = Status.PENDING
        message.next_attempt_at = now + timedelta(seconds=wait)
        message.save(update_fields=["status", "attempts", "last_error", "next_attempt_at"])
        return Delivery("retry", retry_in=wait)


def outbox_sweep(*, now: datetime, limit: int = 200) -> int:
    """Deliver what is due and was left behind (a lost enqueue, a dead worker, a retry whose task was lost).
    Returns how many were sent."""
    stale = timedelta(seconds=int(getattr(settings, "OUTBOX_STALE_SECONDS", 30)))
    due = list(
        OutboxMessage.objects.filter(status=Status.PENDING, next_attempt_at__lte=now - stale)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(message_deliver(message_id=pk, now=now).status == "sent" for pk in due)


def message_retry(*, message_id: int, now: datetime) -> OutboxMessage:
    """An operator's retry of a failing message: due now, with a fresh count of attempts."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message_id)
        if message.status != Status.SENT:
            message.status, message.next_attempt_at, message.attempts = Status.PENDING, now, 0
            message.save(update_fields=["status", "next_attempt_at", "attempts"])
            _enqueue_after_commit([message.pk])
    return message


@shared_task(bind=True, max_retries=12, acks_late=True)
def outbox_deliver_task(self, message_id: int) -> str:
    """Deliver one message; on failure retry on the message's backoff (database errors too). In-process
    (eager) runs never wait: the sweeper takes over, so a request is never held up by a slow receiver."""
    try:
        result = message_deliver(message_id=message_id, now=timezone.now())
    except DatabaseError as error:
        if self.request.is_eager:
            log.warning("outbox: database error delivering %s; the sweeper retries", message_id)
            return "database error"
        raise self.retry(exc=error, countdown=backoff_seconds(self.request.retries + 1)) from error
    if result.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=result.retry_in)
    return result.status


@shared_task(bind=True, max_retries=12, acks_late=True)
def outbox_deliver_many_task(self, message_ids: list[int]) -> dict[str, int]:
    """Deliver the messages one transaction wrote, each once (message_deliver locks and checks each row, so a
    redelivered job sends nothing twice). A message that failed is retried on its own backoff by
    `outbox_deliver_task`; a database error retries the whole job (what was sent is skipped). In-process
    (eager) runs never wait: the sweeper takes over."""
    statuses: dict[str, int] = {}
    for message_id in message_ids:
        try:
            result = message_deliver(message_id=message_id, now=timezone.now())
        except DatabaseError as error:
            if self.request.is_eager:
                log.warning("outbox: database error delivering %s; the sweeper retries", message_id)
                return statuses
            raise self.retry(exc=error, countdown=backoff_seconds(self.request.retries + 1)) from error
        statuses[result.status] = statuses.get(result.status, 0) + 1
        if result.retry_in is not None and not self.request.is_eager:
            outbox_deliver_task.apply_async((message_id,), countdown=result.retry_in)
    return statuses


@shared_task
def outbox_sweep_task() -> int:
    return outbox_sweep(now=timezone.now())
