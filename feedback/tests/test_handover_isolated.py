"""A bug in feedback's hand-over bookkeeping does not fail an event batch; the missing cycle is repaired later."""

from __future__ import annotations

import logging

import pytest
from django.utils import timezone

from feedback import services
from feedback.models import Cycle
from feedback.tasks import cycles_repair
from leads.intake import ingest
from leads.models import Lead, State
from leads.tests.test_api import identify, track

pytestmark = pytest.mark.django_db


def test_a_failing_cycle_does_not_fail_the_batch_and_is_repaired(agreement, monkeypatch, caplog):
    # given feedback's cycle opening is broken
    def broken(**kwargs):
        raise RuntimeError("a feedback bug")

    monkeypatch.setattr(services, "cycles_open", broken)
    # when a batch makes a lead a hot MQL
    now = timezone.now()
    with caplog.at_level(logging.ERROR, logger="feedback.receivers"):
        result = ingest.events_ingest(messages=[identify(), track()], now=now)
    # then the batch is stored and the lead handed over, the failure is logged, and no cycle exists yet
    lead = Lead.objects.get()
    assert result.became_mql == [lead.pk] and lead.state == State.MQL
    assert lead.activities.count() == 1
    assert "opening hand-over cycles failed" in caplog.text
    assert not Cycle.objects.exists()

    # when the repair runs once feedback works again
    monkeypatch.undo()
    assert cycles_repair() == 1
    # then the lead has its cycle, frozen as it was handed over, and a second run finds nothing to do
    cycle = Cycle.objects.get()
    assert (cycle.lead_id, cycle.handed_over_at, cycle.tier, cycle.score) == (
        lead.pk,
        lead.mql_at,
        lead.tier,
        lead.score,
    )
    assert cycle.rules.filter(kind="trigger").exists()
    assert cycles_repair() == 0


def test_without_a_failure_the_cycle_opens_in_the_same_batch(agreement):
    ingest.events_ingest(messages=[identify(), track()], now=timezone.now())
    assert Cycle.objects.filter(lead=Lead.objects.get(), closed_at__isnull=True).count() == 1
    assert services.cycles_repair(now=timezone.now()) == 0
