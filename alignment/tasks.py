import socket

from celery import shared_task
from django.utils import timezone

from alignment.models import WorkerHeartbeat


@shared_task
def worker_heartbeat() -> str:
    """Record that a worker is alive; beat sends it every minute and the health page reads it."""
    hostname = socket.gethostname()
    WorkerHeartbeat.objects.update_or_create(hostname=hostname, defaults={"seen_at": timezone.now()})
    return hostname


# Celery discovers `tasks` modules only; the outbox's tasks live beside the outbox.
from alignment.outbox import (  # noqa: E402, F401
    outbox_deliver_many_task,
    outbox_deliver_task,
    outbox_sweep_task,
)
