"""A real Celery worker process, the real broker, the real database: a task sent through it has its effect."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from alignment.celery import app as celery_app
from alignment.models import WorkerHeartbeat
from alignment.tasks import worker_heartbeat

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _require_services() -> None:
    missing = []
    if connection.vendor != "postgresql":
        missing.append("DATABASE_URL pointing at PostgreSQL")
    if not settings.CELERY_BROKER_URL:
        missing.append("CELERY_BROKER_URL")
    if missing:
        message = f"needs {' and '.join(missing)}"
        if os.environ.get("ALIGNMENT_REQUIRE_SERVICES"):
            pytest.fail(f"CI requires the real services but this run {message}")
        pytest.skip(message)


def _test_database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_a_task_sent_through_the_broker_runs_in_a_worker_and_writes_to_postgresql():
    _require_services()
    # given a worker process on its own queue, against the test database
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "alignment", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--loglevel=INFO", "-n", f"{queue}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    celery_app.conf.task_always_eager = False
    try:
        assert not WorkerHeartbeat.objects.exists()
        # when the heartbeat task is sent through the broker (not run in this process)
        worker_heartbeat.apply_async(queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
            assert worker.poll() is None, f"worker died: {worker.stdout.read() if worker.stdout else ''}"
            time.sleep(0.25)
        # then the worker ran it and its row is in PostgreSQL
        beat = WorkerHeartbeat.objects.get()
        assert beat.hostname
    finally:
        celery_app.conf.task_always_eager = True
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
