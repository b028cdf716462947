"""A segment change applied in the background (leads.segments.job) and the owner rule on a move
(leads.segmenting.lead_place): progress on the page, a dead worker resumed, one job however often Apply is
pressed, queries bounded per chunk; an owner outside the new team releases the lead, one inside keeps it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from leads import jobs, services
from leads.history_words import reason_words
from leads.models import Lead, LeadEvent, RescoreJob
from leads.scoring import leads_rescore
from leads.segments import job as segment_job
from leads.tests.test_jobs import WorkerKilled, after_the_lease, kill_after
from leads.tests.test_segment_screen import LOWER_BAR, form_data
from leads.tests.test_segment_sla import START
from sla.models import AgreementVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_japanese(people: dict[str, Any], make_lead: Any) -> list[Lead]:
    """Seven open leads of small Japanese companies: in SMB global now, Enterprise Japan's once its bar is 100."""
    leads = [make_lead(now=START, country="Japan", employees=120 + i) for i in range(7)]
    leads_rescore(lead_ids=[lead.pk for lead in leads], now=START)
    assert set(Lead.objects.values_list("segment_id", flat=True)) == {people["default"].pk}
    return leads


def apply_lower_bar(client: Any, japan: Any) -> Any:
    return client.post(reverse("leads:segment", args=[japan.pk]), form_data(japan, LOWER_BAR, action="apply"))


def in_japan(people: dict[str, Any]) -> int:
    return Lead.objects.filter(segment=people["japan"]).count()


def test_apply_moves_the_leads_in_a_background_job_whose_progress_the_page_polls(
    people, small_japanese, login, monkeypatch
):
    monkeypatch.setattr(segment_job, "MOVE_CHUNK", 3)
    japan = people["japan"]
    client = login(people["jp-salesmanager"])
    # when Japan's manager applies a lower bar (the worker has not run yet)
    response = apply_lower_bar(client, japan)
    job = RescoreJob.objects.get(agreement__isnull=True)
    # then the request only queued the move, and the page shows its progress, polling
    assert in_japan(people) == 0
    page = client.get(response["Location"]).content.decode()
    assert "Its open leads move in the background" in page
    assert "Moving open leads to their segments: 0 of 7." in page
    assert f'hx-get="{reverse("leads:segment_job", args=[job.pk])}"' in page
    # when the worker runs it
    services.rescore_job_run(job_id=job.pk, now_func=lambda: START)
    # then every lead moved, on record, and the polled status says how many, and stops polling
    assert in_japan(people) == 7
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.SEGMENT, to_value="Enterprise Japan").count() == 7
    status = client.get(reverse("leads:segment_job", args=[job.pk]), headers={"HX-Request": "true"})
    body = status.content.decode()
    assert "<html" not in body and "7 leads moved segment" in body and "hx-trigger" not in body
    # and another team's manager cannot follow it
    other = login(people["salesmanager"])
    assert other.get(reverse("leads:segment_job", args=[job.pk])).status_code == 404


def test_a_second_apply_while_the_job_runs_joins_it_instead_of_starting_another(
    people, small_japanese, login, make_lead
):
    japan = people["japan"]
    tiny = make_lead(now=START, country="Japan", employees=60)
    leads_rescore(lead_ids=[tiny.pk], now=START)
    client = login(people["jp-salesmanager"])
    # given an applied change whose job has not finished
    apply_lower_bar(client, japan)
    # when the manager presses Apply again (twice), then lowers the bar further to 50 employees
    apply_lower_bar(client, japan)
    apply_lower_bar(client, japan)
    lower = [("country", "equals", "Japan"), ("employees", "gte", "50")]
    client.post(reverse("leads:segment", args=[japan.pk]), form_data(japan, lower, action="apply"))
    # then there is one job, holding each lead once (the one the further change moves added)
    job = RescoreJob.objects.get(agreement__isnull=True)
    assert (job.total, len(job.pending), job.status) == (8, 8, "queued")
    # and running it moves each lead once
    services.rescore_job_run(job_id=job.pk, now_func=lambda: START)
    job.refresh_from_db()
    assert (job.status, job.done, job.moved) == ("done", 8, 8)
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.SEGMENT).count() == 8


def test_a_move_whose_worker_died_is_resumed_by_the_watchdog_and_moves_each_lead_once(
    people, small_japanese, login, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(segment_job, "MOVE_CHUNK", 3)
    apply_lower_bar(login(people["jp-salesmanager"]), people["japan"])
    job = RescoreJob.objects.get(agreement__isnull=True)
    # given its worker killed after the first chunk committed
    kill_after(monkeypatch, services, "segment_job_chunk", chunks=1)
    with pytest.raises(WorkerKilled):
        services.rescore_job_run(job_id=job.pk, now_func=lambda: START)
    monkeypatch.undo()
    monkeypatch.setattr(segment_job, "MOVE_CHUNK", 3)
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("running", 3, 7)
    assert in_japan(people) == 3
    # when the watchdog finds it silent after the lease (and the task runs, eager here)
    with django_capture_on_commit_callbacks(execute=True):
        result = jobs.jobs_watchdog(now=after_the_lease())
    # then it resumed after the committed chunk and finished: every lead moved once
    assert result.resumed == [("rescore", job.pk)]
    job.refresh_from_db()
    assert (job.status, job.done, job.moved, job.attempts, job.pending) == ("done", 7, 7, 2, [])
    assert in_japan(people) == 7
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.SEGMENT).count() == 7


def test_a_chunk_takes_as_many_queries_for_five_leads_as_for_two(people, small_japanese, monkeypatch):
    # given a job over the seven leads, leased by a worker
    ids = [lead.pk for lead in small_japanese]
    japan = people["japan"]
    lower_the_bar(people)
    job = segment_job.segment_job_start(segment_id=japan.pk, lead_ids=ids, now=START)
    assert jobs.job_lease(jobs.RESCORE, job_id=job.pk, now=START)
    # when one chunk moves two leads and the next five
    counts = []
    for size in (2, 5):
        monkeypatch.setattr(segment_job, "MOVE_CHUNK", size)
        with CaptureQueriesContext(connection) as queries:
            assert segment_job.segment_job_chunk(job.pk, START)
        counts.append(len(queries))
    # then both cost the same number of queries
    assert counts[0] == counts[1]
    assert in_japan(people) == 7


def owned_small_japanese(people: dict[str, Any], make_lead: Any, owner: Any) -> Lead:
    lead = make_lead(now=START, country="Japan", employees=150)
    leads_rescore(lead_ids=[lead.pk], now=START)
    Lead.objects.filter(pk=lead.pk).update(owner=owner)
    return lead


def lower_the_bar(people: dict[str, Any]) -> None:
    japan = people["japan"]
    japan.conditions = [dict(c, value=100) if c["field"] == "employees" else c for c in japan.conditions]
    japan.save()


def test_a_lead_moving_to_a_team_its_owner_is_not_in_goes_back_to_that_teams_queue(people, make_lead):
    # given a small Japanese lead owned by an SMB global rep
    lead = owned_small_japanese(people, make_lead, people["rep"])
    # when Enterprise Japan's bar is lowered and scoring moves it there
    lower_the_bar(people)
    leads_rescore(lead_ids=[lead.pk], now=START)
    # then it is in Enterprise Japan's queue with no owner, on record
    lead.refresh_from_db()
    assert lead.segment == people["japan"] and lead.owner is None
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.OWNER)
    assert (event.from_value, event.to_value) == ("rep", "")
    assert event.reason == "moved to segment Enterprise Japan"
    with translation.override("ja"):  # and its history says so in the reader's language
        assert reason_words(event.reason) == "セグメント「Enterprise Japan」へ移動"


def test_an_owner_in_both_teams_keeps_the_lead_when_it_moves(people, make_lead):
    # given a rep in both teams owning a small Japanese lead
    both = people["rep2"]
    people["japan"].members.add(both)
    lead = owned_small_japanese(people, make_lead, both)
    # when it moves to Enterprise Japan
    lower_the_bar(people)
    leads_rescore(lead_ids=[lead.pk], now=START)
    # then it moved and kept its owner
    lead.refresh_from_db()
    assert lead.segment == people["japan"] and lead.owner == both
    assert not LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.OWNER).exists()


def test_retrying_a_failed_move_while_another_runs_is_refused_not_a_500(people, small_japanese, login):
    # given a failed segment change and a new one running
    ids = [lead.pk for lead in small_japanese]
    failed = segment_job.segment_job_start(segment_id=people["japan"].pk, lead_ids=ids[:3], now=START)
    RescoreJob.objects.filter(pk=failed.pk).update(status="failed", error="worker lost")
    segment_job.segment_job_start(segment_id=people["japan"].pk, lead_ids=ids[3:], now=START)
    # when a manager retries the failed one
    response = login(people["jp-salesmanager"]).post(reverse("leads:rescore_retry", args=[failed.pk]))
    # then it is refused with the reason, and stays failed until the other has finished
    assert (
        response.status_code == 409 and "Another segment change is moving leads" in response.content.decode()
    )
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_another_teams_manager_can_neither_follow_nor_retry_a_segments_runs(people, small_japanese, login):
    # given Enterprise Japan's failed segment change and a failed activation rescore of its agreement
    ids = [lead.pk for lead in small_japanese]
    moving = segment_job.segment_job_start(segment_id=people["japan"].pk, lead_ids=ids, now=START)
    version = AgreementVersion.objects.filter(segment=people["japan"], status="active").get()
    rescoring = RescoreJob.objects.create(agreement=version, reason="activated", total=7, created_at=START,
                                          heartbeat_at=START)  # fmt: skip
    RescoreJob.objects.filter(pk__in=[moving.pk, rescoring.pk]).update(status="failed", error="worker lost")
    smb_manager = login(people["salesmanager"])
    # when SMB global's sales manager presses Retry on either, or polls the activation's progress
    for job in (moving, rescoring):
        assert smb_manager.post(reverse("leads:rescore_retry", args=[job.pk])).status_code == 404
    status = smb_manager.get(reverse("leads:rescore_status"), {"version": version.pk})
    # then neither is theirs: not found, and both stay failed for Japan's managers to retry
    assert status.status_code == 404
    assert set(
        RescoreJob.objects.filter(pk__in=[moving.pk, rescoring.pk]).values_list("status", flat=True)
    ) == {"failed"}
    japan_manager = login(people["jp-salesmanager"])
    assert japan_manager.get(reverse("leads:rescore_status"), {"version": version.pk}).status_code == 200
    assert japan_manager.post(reverse("leads:rescore_retry", args=[rescoring.pk])).status_code == 302
    rescoring.refresh_from_db()
    assert rescoring.status != "failed"
