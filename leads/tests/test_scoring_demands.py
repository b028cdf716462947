"""Ingest stores, workers judge (leads/scoring/demands.py): with a broker, a batch is stored and its leads wait
as rows until a scoring worker judges them; a trigger event puts its lead first; rows a dead worker left are
swept up. Without a broker (the other tests) the same judgement happens before the batch returns."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from alignment.celery import app as celery_app
from leads import tasks
from leads.intake import ingest
from leads.intake.import_services import import_create, import_start
from leads.models import Lead, ScoringDemand, State, Tier
from leads.scoring import demands
from sla.models import Side
from sla.services import agreement_change, agreement_draft_create, agreement_propose, agreement_sign
from sla.tests.segment_factory import japan_segment_create

pytestmark = pytest.mark.django_db


def identify(user_id: str, email: str, employees: int = 250) -> dict:
    traits = {"email": email, "company": "Acme", "employees": employees, "title": "VP Sales"}
    return {"type": "identify", "userId": user_id, "traits": traits, "messageId": f"i-{user_id}"}


def track(user_id: str, event: str, message_id: str) -> dict:
    return {"type": "track", "userId": user_id, "event": event, "messageId": message_id}


@pytest.fixture
def with_broker(monkeypatch):
    """Tasks go to a broker instead of running in-process; what would be sent is recorded."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        tasks.scoring_run,
        "apply_async",
        lambda kwargs=None, queue="celery", **_: sent.append((queue, kwargs or {})),
    )
    monkeypatch.setattr(tasks.scoring_run, "delay", lambda **kwargs: sent.append(("celery", kwargs)))
    celery_app.conf.task_always_eager = False
    yield sent
    celery_app.conf.task_always_eager = True


def test_with_a_broker_a_batch_is_stored_now_and_judged_by_a_worker_after_commit(
    agreement, with_broker, django_capture_on_commit_callbacks
):
    # given a broker; when a batch with a demo request (a trigger) and a page view of someone else arrives
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest.events_ingest(
            messages=[
                identify("u1", "ada@acme.example"),
                track("u1", "Demo Requested", "t1"),
                identify("u2", "bob@beta.example"),
                track("u2", "Email Opened", "t2"),
            ],
            now=timezone.now(),
        )
    # then both are stored, not yet judged, and wait as rows; the demo request's lead on the hot queue, the
    # page view's in an ordinary run
    ada, bob = Lead.objects.get(email="ada@acme.example"), Lead.objects.get(email="bob@beta.example")
    assert (result.activities, result.became_mql) == (2, [])
    assert ada.state == State.NEW and ada.scored_at is None
    assert dict(ScoringDemand.objects.values_list("lead_id", "hot")) == {ada.pk: True, bob.pk: False}
    assert with_broker == [("hot", {"hot_ids": [ada.pk]}), ("celery", {})]
    # when the hot worker runs the task it was sent
    scored, more = demands.demands_work(now_func=timezone.now, hot_ids=[ada.pk], budget_seconds=60)
    # then the demo request made Ada a hot MQL, and Bob waits for the ordinary run (not for the hot worker)
    ada.refresh_from_db()
    assert (scored, more) == (1, False)
    assert (ada.state, ada.tier) == (State.MQL, Tier.HOT)
    assert Lead.objects.get(pk=bob.pk).scored_at is None
    # when a bulk worker runs the ordinary task / then Bob is judged and nobody waits any more
    assert demands.demands_work(now_func=timezone.now, budget_seconds=60) == (1, False)
    assert Lead.objects.get(pk=bob.pk).scored_at is not None
    assert not ScoringDemand.objects.exists()


def test_a_hot_run_takes_other_hot_leads_waiting_but_never_an_ordinary_batch(agreement, with_broker):
    # given three leads waiting: two hot (the second one's own task still queued behind) and an ordinary one
    now = timezone.now()
    leads = [
        Lead.objects.create(email=f"p{n}@acme.example", created_at=now, updated_at=now) for n in range(3)
    ]
    ScoringDemand.objects.bulk_create(
        [ScoringDemand(lead=lead, since=now, hot=n < 2) for n, lead in enumerate(leads)]
    )
    # when the hot worker runs the first one's task
    scored, more = demands.demands_work(now_func=timezone.now, hot_ids=[leads[0].pk], budget_seconds=60)
    # then both hot leads are judged, the ordinary one is left to a bulk worker, and no run is asked for
    assert (scored, more) == (2, False)
    assert list(ScoringDemand.objects.values_list("lead_id", "hot")) == [(leads[2].pk, False)]


def test_a_lead_waiting_when_more_events_arrive_waits_once_and_is_judged_on_all_of_them(
    agreement, with_broker
):
    # given a lead waiting after a first batch (its company size passes the agreement's gate)
    first = timezone.now() - timedelta(seconds=1)
    ingest.events_ingest(messages=[identify("u1", "ada@acme.example", employees=250)], now=first)
    # when a demo request of the same person arrives before any worker ran
    ingest.events_ingest(messages=[track("u1", "Demo Requested", "t1")], now=first + timedelta(seconds=1))
    # then the lead waits once, now first in line, and one worker run judges it on both batches
    lead = Lead.objects.get()
    assert list(ScoringDemand.objects.values_list("lead_id", "hot", "since")) == [(lead.pk, True, first)]
    demands.demands_work(now_func=timezone.now, budget_seconds=60)
    lead.refresh_from_db()
    assert (lead.state, lead.tier, lead.employees) == (State.MQL, Tier.HOT, 250)
    assert not ScoringDemand.objects.exists()


def test_a_trigger_event_jumps_the_queue_only_for_a_lead_whose_attributes_let_it_fire(agreement, with_broker):
    # given the starter agreement: a demo request fires for companies of 10+ (its gate), a pricing-page view
    # for companies of 100+ (its condition)
    pricing = {"type": "page", "properties": {"path": "/pricing"}}
    # when a batch brings demo requests and pricing views of people of each size (sizes set in the same batch)
    ingest.events_ingest(
        messages=[
            identify("small", "small@acme.example", employees=5),
            track("small", "Demo Requested", "t1"),
            identify("mid", "mid@acme.example", employees=50),
            track("mid", "Demo Requested", "t2"),
            {**pricing, "userId": "mid", "messageId": "p1"},
            identify("big", "big@acme.example", employees=500),
            {**pricing, "userId": "big", "messageId": "p2"},
        ],
        now=timezone.now(),
    )
    # then the demo request of the company of 50 and the pricing view of the company of 500 put their leads
    # first; the company of 5 (no trigger can fire for it) waits in line with the others
    hot = dict(ScoringDemand.objects.values_list("lead__email", "hot"))
    assert hot == {"small@acme.example": False, "mid@acme.example": True, "big@acme.example": True}
    # and the judgement agrees: the hot ones are hot MQLs, the small one is not handed over
    demands.demands_work(now_func=timezone.now, budget_seconds=60)
    judged = dict(Lead.objects.values_list("email", "tier"))
    assert judged == {"small@acme.example": "", "mid@acme.example": "hot", "big@acme.example": "hot"}


def test_a_trigger_only_a_segments_own_agreement_has_still_puts_its_lead_first(
    agreement, with_broker, marketing_manager, sales_manager
):
    # given Enterprise Japan with its own agreement in force, whose pricing trigger watches the Japanese page
    japan = japan_segment_create()
    draft = agreement_draft_create(user=marketing_manager, now=timezone.now(), segment=japan)

    def japanese_pricing(content: dict) -> dict:
        pricing = next(t for t in content["mql"]["triggers"] if t["activity"] == "page")
        pricing["where"]["value"] = "/ja/pricing"
        return content

    agreement_change(version_id=draft.pk, user=marketing_manager, change=japanese_pricing, now=timezone.now())
    agreement_propose(version_id=draft.pk, user=marketing_manager, now=timezone.now())
    for user, side in ((marketing_manager, Side.MARKETING), (sales_manager, Side.SALES)):
        agreement_sign(version_id=draft.pk, user=user, now=timezone.now(), side=side)
    # when a Japanese enterprise views the Japanese pricing page (which the default agreement does not watch)
    traits = {"email": "ken@nihon.example", "country": "Japan", "employees": 800, "title": "VP Sales"}
    ingest.events_ingest(
        messages=[
            {"type": "identify", "userId": "ken", "traits": traits, "messageId": "i-ken"},
            {"type": "page", "userId": "ken", "properties": {"path": "/ja/pricing"}, "messageId": "p1"},
        ],
        now=timezone.now(),
    )
    # then the lead is first in line, and its segment's agreement makes it a hot MQL
    assert list(ScoringDemand.objects.values_list("hot", flat=True)) == [True]
    demands.demands_work(now_func=timezone.now, budget_seconds=60)
    assert list(Lead.objects.values_list("segment_id", "tier")) == [(japan.pk, "hot")]


def test_a_worker_takes_hot_leads_first_and_at_most_a_batch_per_transaction(agreement, with_broker, settings):
    # given ten leads waiting, the last one hot, and batches of four
    settings.SCORING_BATCH = 4
    now = timezone.now()
    leads = [
        Lead.objects.create(email=f"p{n}@acme.example", created_at=now, updated_at=now) for n in range(10)
    ]
    ScoringDemand.objects.bulk_create(
        [
            ScoringDemand(lead=lead, since=now + timedelta(seconds=n), hot=n == 9)
            for n, lead in enumerate(leads)
        ]
    )
    # when four are taken
    demands.demands_score(now=now, limit=4)
    # then the hot lead (committed on its own) and the three oldest were judged; the rest still wait
    judged = set(Lead.objects.filter(scored_at__isnull=False).values_list("pk", flat=True))
    assert judged == {leads[9].pk, leads[0].pk, leads[1].pk, leads[2].pk}
    assert ScoringDemand.objects.count() == 6


def test_leads_a_dead_worker_left_waiting_are_swept_up(agreement, with_broker, settings):
    # given leads waiting for longer than SCORING_STALE_SECONDS (their task was lost, or its worker died)
    settings.SCORING_BATCH, settings.SCORING_STALE_SECONDS = 2, 30
    now = timezone.now()
    old, fresh = now - timedelta(seconds=31), now
    leads = [
        Lead.objects.create(email=f"p{n}@acme.example", created_at=now, updated_at=now) for n in range(4)
    ]
    ScoringDemand.objects.bulk_create(
        [ScoringDemand(lead=lead, since=old if n < 3 else fresh) for n, lead in enumerate(leads)]
    )
    # when beat's sweep runs / then it queues enough runs for the three stale rows (batches of two)
    assert tasks.scoring_sweep() == 2
    assert with_broker == [("celery", {}), ("celery", {})]
    # and a run judges every waiting lead
    demands.demands_score(now=now)
    assert Lead.objects.filter(scored_at__isnull=True).count() == 0 and not ScoringDemand.objects.exists()


def test_an_import_leaves_its_leads_waiting_for_a_worker_too(agreement, with_broker):
    # given a broker; when a small file is imported
    data = b"Email,Company,Employees\nada@acme.example,Acme,250\nbob@beta.example,Beta,20\n"
    job = import_create(user=None, filename="f.csv", data=data, preset="auto", now=timezone.now())
    job = import_start(job_id=job.pk, user=None, now_func=timezone.now, inline=True)
    # then both leads are in, waiting to be judged as imports
    assert (job.status, job.imported) == ("done", 2)
    assert set(ScoringDemand.objects.values_list("reason", flat=True)) == {"import"}
    demands.demands_score(now=timezone.now())
    assert Lead.objects.filter(scored_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_postgresql_take_different_leads_without_waiting_for_each_other(
    agreement, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED: PostgreSQL only (SQLite has one writer at a time)")
    # given four waiting leads, and a first worker holding two of them mid-judgement
    now = timezone.now()
    leads = [
        Lead.objects.create(email=f"p{n}@acme.example", created_at=now, updated_at=now) for n in range(4)
    ]
    ScoringDemand.objects.bulk_create([ScoringDemand(lead=lead, since=now) for lead in leads])
    holding, release = threading.Event(), threading.Event()
    real = demands.leads_rescore
    taken: dict[str, list[int]] = {}

    def slow(*, lead_ids, **kwargs):
        taken.setdefault(threading.current_thread().name, []).extend(lead_ids)
        if threading.current_thread().name == "first":
            holding.set()
            release.wait(10)
        return real(lead_ids=lead_ids, **kwargs)

    monkeypatch.setattr(demands, "leads_rescore", slow)

    def first() -> None:
        try:
            demands.demands_score(now=now, limit=2)
        finally:
            close_old_connections()
            connection.close()

    worker = threading.Thread(target=first, name="first")
    worker.start()
    assert holding.wait(10)
    # when a second worker runs meanwhile
    threading.current_thread().name, name = "second", threading.current_thread().name
    try:
        with transaction.atomic():
            demands.demands_score(now=now, limit=2)
    finally:
        threading.current_thread().name = name
        release.set()
        worker.join(10)
    # then it judged the two other leads at once, and all four are done
    assert sorted(taken["first"] + taken["second"]) == sorted(lead.pk for lead in leads)
    assert not set(taken["first"]) & set(taken["second"])
    assert not ScoringDemand.objects.exists()


def test_only_a_comeback_after_the_agreed_silence_puts_a_known_lead_first(agreement, with_broker):
    # given two known people: one silent for 200 days, one active yesterday (the starter's comeback: 180 days)
    now = timezone.now()
    for user_id, email, last in (("u1", "back@acme.example", 200), ("u2", "busy@acme.example", 1)):
        ingest.events_ingest(messages=[identify(user_id, email)], now=now)
        Lead.objects.filter(email=email).update(last_activity_at=now - timedelta(days=last))
    ScoringDemand.objects.all().delete()
    # when each opens an e-mail
    ingest.events_ingest(
        messages=[track("u1", "Email Opened", "t1"), track("u2", "Email Opened", "t2")], now=now
    )
    # then only the one coming back waits as hot
    hot = dict(ScoringDemand.objects.values_list("lead__email", "hot"))
    assert hot == {"back@acme.example": True, "busy@acme.example": False}


def test_a_scoring_run_stopped_by_a_database_error_queues_itself_again(monkeypatch):
    # given a scoring run that meets a deadlock
    from django.db import OperationalError

    queued: list[dict] = []
    monkeypatch.setattr(tasks.scoring_run, "apply_async", lambda **kwargs: queued.append(kwargs))

    def deadlock(**kwargs):
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(demands, "demands_work", deadlock)
    # when it runs / then it does not fail: it queues the next run, the rows still waiting for it
    assert tasks.scoring_run.run() == 0
    assert queued == [{"countdown": 1}]
    # and a hot run is queued again on the hot queue, with its leads
    assert tasks.scoring_run.run(hot_ids=[7]) == 0
    assert queued[1] == {"kwargs": {"hot_ids": [7]}, "queue": "hot", "countdown": 1}
