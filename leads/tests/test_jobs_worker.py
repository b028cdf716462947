"""A real Celery worker SIGKILLed in the middle of a rescore: the watchdog resumes the job on another worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from alignment.celery import app as celery_app
from alignment.tests.test_celery_worker import ROOT, _require_services, _test_database_url
from leads import jobs
from leads.models import Lead, RescoreJob
from leads.services import RESCORE_CHUNK
from leads.tasks import rescore_job_run

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def start_worker(queue: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "CELERY_TASK_ALWAYS_EAGER": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "alignment", "worker", "--pool=solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--loglevel=WARNING", "-n", f"{queue}-{uuid.uuid4().hex[:4]}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def wait_until(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_mid_rescore_leaves_a_job_the_watchdog_resumes_on_another_worker(
    agreement, monkeypatch
):
    _require_services()
    # given more open leads than one chunk, and a lock on a lead of the second chunk so the worker stops there
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(email=f"w{i}@acme.example", employees=50 + i, created_at=now, updated_at=now)
        for i in range(RESCORE_CHUNK + 200)
    )
    in_second_chunk = Lead.objects.order_by("pk").values_list("pk", flat=True)[RESCORE_CHUNK + 10]
    queue = f"test-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = False, queue
    workers = [start_worker(queue)]
    try:
        job = RescoreJob.objects.create(agreement=agreement, reason="test", total=Lead.objects.count(),
                                        created_at=now, heartbeat_at=now)  # fmt: skip
        with transaction.atomic():
            Lead.objects.select_for_update().get(pk=in_second_chunk)
            rescore_job_run.apply_async(args=[job.pk], queue=queue)
            # when the worker has committed the first chunk and is blocked in the second
            wait_until(lambda: RescoreJob.objects.get(pk=job.pk).done == RESCORE_CHUNK, "the first chunk")
            # and it is SIGKILLed there
            os.killpg(workers[0].pid, signal.SIGKILL)
            workers[0].wait(timeout=20)
        # then the job is left running with true progress
        job.refresh_from_db()
        assert (job.status, job.done, job.attempts) == ("running", RESCORE_CHUNK, 1)
        # when another worker is up and the watchdog runs after the lease has passed
        workers.append(start_worker(queue))
        result = jobs.jobs_watchdog(now=timezone.now() + timedelta(seconds=jobs.lease_seconds() + 1))
        assert result.resumed == [("rescore", job.pk)]
        # then the new worker resumes after the first chunk and finishes every lead, each counted once
        wait_until(lambda: RescoreJob.objects.get(pk=job.pk).status == "done", "the resumed job")
        job.refresh_from_db()
        assert (job.done, job.total, job.attempts) == (RESCORE_CHUNK + 200, RESCORE_CHUNK + 200, 2)
        assert not Lead.objects.exclude(scored_with=agreement).exists()
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = True, "celery"
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=20)
