"""Jobs that survive their worker (leads.jobs): a worker killed mid-job, a broken connection, the watchdog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads import jobs, services
from leads.intake import import_services
from leads.intake.import_services import ImportStateError, import_create, import_start
from leads.models import ImportJob, Lead, RescoreJob
from leads.scoring.rescore import attributes_of, facts_for
from leads.services import rescore_job_start
from sla.criteria import evaluate

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """SIGKILL: nothing after this line runs, no except clause sees it, nothing is marked."""


def kill_after(monkeypatch, module, name: str, chunks: int) -> None:
    """The worker dies right after `chunks` chunks have committed."""
    real = getattr(module, name)
    calls = {"n": 0}

    def dying(*args, **kwargs):
        if calls["n"] == chunks:
            raise WorkerKilled
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, dying)


def after_the_lease(seconds: int = 1):
    return timezone.now() + timedelta(seconds=jobs.lease_seconds() + seconds)


@pytest.fixture
def open_leads(agreement, make_lead):
    now = timezone.now()
    leads = [
        make_lead(now=now, employees=250, seniority="director", activities=[("demo_request", now, {})]),
        make_lead(now=now, employees=20),
        make_lead(now=now, employees=500, industry="software"),
        make_lead(now=now, employees=120, activities=[("page_view", now, {"url": "/pricing"})]),
        make_lead(now=now, employees=5),
    ]
    Lead.objects.update(score=-999, scored_with=None)  # stale verdicts the job must replace
    return leads


def assert_scored_fresh(version) -> None:
    """Every open lead carries what evaluating the version on its facts says now (nothing left stale)."""
    rules = services.Rules.of(version)
    now = timezone.now()
    leads = list(Lead.objects.order_by("pk"))
    facts = facts_for([lead.pk for lead in leads])
    for lead in leads:
        fresh = evaluate(rules.criteria, attributes_of(lead), facts.get(lead.pk, []), now)
        assert (lead.scored_with_id, lead.score) == (version.pk, fresh.total), lead.email


def test_a_rescore_whose_worker_died_mid_way_is_resumed_by_the_watchdog_and_scores_every_lead_right(
    agreement, open_leads, monkeypatch, django_capture_on_commit_callbacks
):
    # given an activation's rescore in chunks of 2 whose worker is killed after the first chunk
    monkeypatch.setattr(services, "RESCORE_CHUNK", 2)
    job = rescore_job_start(version=agreement, reason="test", now=timezone.now())
    kill_after(monkeypatch, services, "_rescore_chunk", chunks=1)
    with pytest.raises(WorkerKilled):
        services.rescore_job_run(job_id=job.pk, now_func=timezone.now)
    monkeypatch.undo()
    monkeypatch.setattr(services, "RESCORE_CHUNK", 2)
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("running", 2, 5)
    # when the task is redelivered while the lease is still fresh
    services.rescore_job_run(job_id=job.pk, now_func=timezone.now)
    # then it does not run twice alongside
    job.refresh_from_db()
    assert (job.status, job.done, job.attempts) == ("running", 2, 1)
    # when the watchdog runs after the lease has passed (and the task runs, eager here)
    with django_capture_on_commit_callbacks(execute=True):
        result = jobs.jobs_watchdog(now=after_the_lease())
    # then it was resumed after the committed chunk and finished with true progress and right scores
    assert result.resumed == [("rescore", job.pk)]
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.percent, job.attempts) == ("done", 5, 5, 100, 2)
    assert_scored_fresh(agreement)


def test_an_import_killed_at_a_chunk_resumes_without_duplicates(
    monkeypatch, django_capture_on_commit_callbacks
):
    # given an import in chunks of 2 rows whose worker dies after the first chunk (500/N in real life)
    monkeypatch.setattr(import_services, "CHUNK", 2)
    rows = "".join(f"p{i}@x.example,Co {i}\r\n" for i in range(5))
    job = import_create(user=None, filename="a.csv", data=f"Email,Company\r\n{rows}".encode(), preset="auto",
                        now=timezone.now())  # fmt: skip
    kill_after(monkeypatch, import_services, "_import_chunk", chunks=1)
    with pytest.raises(WorkerKilled):
        import_start(job_id=job.pk, user=None, now_func=timezone.now, inline=True)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.imported) == ("running", 2, 2)
    # when someone starts it again while its lease is fresh, then it is "already running"
    with pytest.raises(ImportStateError, match="already running"):
        import_start(job_id=job.pk, user=None, now_func=timezone.now)
    # when the watchdog finds its heartbeat stale
    monkeypatch.undo()
    monkeypatch.setattr(import_services, "CHUNK", 2)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.jobs_watchdog(now=after_the_lease())
    # then it resumed after row 2 and every person is there once
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.imported, job.updated, job.attempts) == ("done", 5, 5, 0, 2)
    assert sorted(Lead.objects.values_list("email", flat=True)) == [f"p{i}@x.example" for i in range(5)]


def test_a_job_whose_worker_keeps_dying_is_failed_not_running_forever_and_a_manager_retries_it(
    agreement,
    open_leads,
    monkeypatch,
    settings,
    login,
    rep,
    sales_manager,
    django_capture_on_commit_callbacks,
):
    # given a rescore whose worker dies on its first chunk every time, with two attempts allowed
    settings.JOB_MAX_ATTEMPTS = 2
    job = rescore_job_start(version=agreement, reason="test", now=timezone.now())
    kill_after(monkeypatch, services, "_rescore_chunk", chunks=0)
    with pytest.raises(WorkerKilled):
        services.rescore_job_run(job_id=job.pk, now_func=timezone.now)
    # when the watchdog resumes it and the worker dies again
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_watchdog(now=after_the_lease()).resumed == [("rescore", job.pk)]
    # and the watchdog finds it silent once more
    result = jobs.jobs_watchdog(now=after_the_lease())
    assert (result.resumed, result.failed) == ([], [("rescore", job.pk)])
    # then after two runs the watchdog gives up and says why
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("failed", 2)
    assert "stopped answering 2 times" in job.error
    monkeypatch.undo()
    # and the agreement page shows it with a retry button, to managers only
    panel = login(sales_manager).get(f"/leads/rescoring/?version={agreement.pk}").content.decode()
    assert "stopped answering" in panel and "Retry" in panel
    assert "Retry" not in login(rep).get(f"/leads/rescoring/?version={agreement.pk}").content.decode()
    url = reverse("leads:rescore_retry", args=[job.pk])
    assert login(rep).post(url).status_code == 403
    assert login(sales_manager).get(url).status_code == 405
    # when a sales manager retries it (the POST needs the CSRF token)
    client = Client(enforce_csrf_checks=True)
    client.force_login(sales_manager)
    assert client.post(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = login(sales_manager).post(url, headers={"HX-Request": "true"})
    # then it ran again to the end and the panel says so
    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 5)
    assert (
        "All 5 open leads were rescored"
        in login(sales_manager).get(f"/leads/rescoring/?version={agreement.pk}").content.decode()
    )
    assert_scored_fresh(agreement)
    # and retrying a finished job is refused plainly
    assert login(sales_manager).post(url).status_code == 409


@pytest.mark.django_db(transaction=True)
def test_a_job_stopped_by_a_broken_connection_is_recorded_on_a_fresh_one_and_resumed(
    agreement, open_leads, monkeypatch
):
    # given a connection that breaks mid-chunk: every query on it fails until it is replaced
    broken = {"on": False}

    def wrapper(execute, sql, params, many, context):
        if broken["on"]:
            raise InterfaceError("connection already closed")
        return execute(sql, params, many, context)

    real_close = connection.close

    def close():
        broken["on"] = False
        real_close()

    monkeypatch.setattr(connection, "close", close)
    real_rescore = services.leads_rescore_chunk

    def outage(**kwargs):
        broken["on"] = True
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "leads_rescore_chunk", outage)
    job = RescoreJob.objects.create(agreement=agreement, reason="test", total=5, created_at=timezone.now(),
                                    status="queued", heartbeat_at=timezone.now())  # fmt: skip
    # when the job runs into it
    with connection.execute_wrapper(wrapper):
        services.rescore_job_run(job_id=job.pk, now_func=timezone.now)
        # then the stop was written anyway (on a new connection): paused, to resume, not stuck running
        job.refresh_from_db()
    assert job.status == "queued" and "Paused on a database error" in job.error
    # when the database is back and the watchdog sends it again after the lease
    monkeypatch.setattr(services, "leads_rescore_chunk", real_rescore)
    jobs.jobs_watchdog(now=after_the_lease())
    # then it finished (tasks run in-process in tests; on_commit runs at once outside a transaction)
    job.refresh_from_db()
    assert (job.status, job.done, job.attempts) == ("done", 5, 2)
    assert_scored_fresh(agreement)


def test_a_queued_job_whose_message_was_lost_with_the_broker_is_sent_again(
    agreement, open_leads, django_capture_on_commit_callbacks
):
    # given a job queued while the broker lost its message (Redis restarted without persistence)
    job = rescore_job_start(version=agreement, reason="test", now=timezone.now())
    assert RescoreJob.objects.get(pk=job.pk).status == "queued"
    # when the watchdog looks before the lease has passed, then it leaves it alone
    assert jobs.jobs_watchdog(now=timezone.now()).resumed == []
    # when it looks after, then the job is sent again and runs
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.jobs_watchdog(now=after_the_lease()).resumed == [("rescore", job.pk)]
    assert RescoreJob.objects.get(pk=job.pk).status == "done"


def test_a_failed_import_is_not_touched_by_the_watchdog():
    # given a finished and a failed import
    now = timezone.now() - timedelta(days=1)
    for status in ("done", "failed"):
        ImportJob.objects.create(filename=f"{status}.csv", data=b"Email\r\n", status=status, created_at=now,
                                 heartbeat_at=now)  # fmt: skip
    # when the watchdog runs, then neither is resumed or changed
    result = jobs.jobs_watchdog(now=timezone.now())
    assert (result.resumed, result.failed) == ([], [])
    assert sorted(ImportJob.objects.values_list("status", flat=True)) == ["done", "failed"]
