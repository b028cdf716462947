"""The hand-over is the lead's, written in the event batch's own transaction (leads.HandOver); feedback's cycle
for it is opened after commit, so a bug there never fails a batch, and the missing cycle is repaired later."""

from __future__ import annotations

import logging

import pytest
from django.utils import timezone

from feedback import services
from feedback.models import Cycle
from feedback.tasks import cycles_repair
from leads.intake import ingest
from leads.models import HandOver, Lead, State
from leads.tests.test_api import identify, track

pytestmark = pytest.mark.django_db


def test_a_failing_cycle_does_not_fail_the_batch_and_is_repaired(
    agreement, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    # given feedback's cycle opening is broken
    def broken(**kwargs):
        raise RuntimeError("a feedback bug")

    monkeypatch.setattr(services, "cycles_open", broken)
    # when a batch makes a lead a hot MQL (and commits)
    now = timezone.now()
    with (
        caplog.at_level(logging.ERROR, logger="feedback.receivers"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = ingest.events_ingest(messages=[identify(), track()], now=now)
    # then the batch is stored and the lead handed over with its hand-over record, the failure is logged, and
    # no cycle exists yet
    lead = Lead.objects.get()
    assert result.became_mql == [lead.pk] and lead.state == State.MQL
    assert lead.activities.count() == 1
    hand_over = HandOver.objects.get()
    assert (hand_over.lead_id, hand_over.number, hand_over.ended_at) == (lead.pk, 1, None)
    assert "opening hand-over cycles failed" in caplog.text
    assert not Cycle.objects.exists()

    # when the repair runs once feedback works again
    monkeypatch.undo()
    assert cycles_repair() == 1
    # then the lead has its cycle, keyed to the hand-over and frozen as it was handed over, and a second run
    # finds nothing to do
    cycle = Cycle.objects.get()
    assert (cycle.hand_over_id, cycle.lead_id, cycle.number, cycle.handed_over_at, cycle.tier, cycle.score) == (
        hand_over.pk, lead.pk, 1, lead.mql_at, lead.tier, lead.score,
    )  # fmt: skip
    assert cycle.rules.filter(kind="trigger").exists()
    assert cycles_repair() == 0


def test_the_cycle_opens_once_the_batch_commits(agreement, django_capture_on_commit_callbacks):
    # when a batch hands a lead over
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        ingest.events_ingest(messages=[identify(), track()], now=timezone.now())
        # then inside the batch's transaction only the lead's own record exists
        assert HandOver.objects.count() == 1 and not Cycle.objects.exists()
    # and once it commits, the cycle for that hand-over is open
    for callback in after_commit:
        callback()
    cycle = Cycle.objects.get(closed_at__isnull=True)
    assert (cycle.lead_id, cycle.hand_over_id) == (Lead.objects.get().pk, HandOver.objects.get().pk)
    assert services.cycles_repair(now=timezone.now()) == 0


def test_a_reps_first_action_opens_a_cycle_still_missing(agreement, rep):
    # given a hand-over whose cycle was not opened (the commit's callbacks did not run)
    lead = Lead.objects.get(
        pk=ingest.events_ingest(messages=[identify(), track()], now=timezone.now()).became_mql[0]
    )
    from leads.queue import lead_claim

    lead_claim(lead_id=lead.pk, rep=rep, now=timezone.now())
    assert not Cycle.objects.exists()
    # when the rep logs a call
    services.contact_log(
        lead_id=lead.pk, user=rep, channel="call", connected=True, note="", now=timezone.now()
    )
    # then the call is on the hand-over's cycle, opened then, with the claim the lead had
    cycle = Cycle.objects.get()
    assert (cycle.hand_over_id, cycle.owner_id, cycle.contacts.count()) == (
        HandOver.objects.get().pk,
        rep.pk,
        1,
    )
    assert cycle.claimed_at is not None
