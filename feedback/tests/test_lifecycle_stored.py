"""The lifecycle's invariants on stored leads: random sequences of what happens to a lead (activity, claim,
contact, accept, reject, qualify, lose, disqualify, a rescore with nothing new), played through the real
services, leave one open hand-over and one open cycle at most (open exactly while sales has the lead, each cycle
keyed to its hand-over), no clock running that the state stops, and a handed-back lead waiting for activity.
(leads/tests/test_lifecycle.py checks the same rules on the pure module.)"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback import services
from feedback.exceptions import OutcomeRefused
from feedback.models import Cycle, Reason
from feedback.reasons import ensure_default_reasons
from leads.exceptions import LeadError
from leads.lifecycle import rules as life
from leads.models import HandOver, Lead
from leads.queue import lead_claim
from leads.queue.clocks import clock_state, running_clocks
from leads.scoring import leads_rescore
from leads.services import ActivityData, LeadData, activities_record, lead_upsert

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
BANT = {key: {"met": True, "note": ""} for key in ("need", "authority", "timeframe", "budget")}
ACTIONS = ["activity", "rescore", "claim", "contact", "accept", "reject", "qualify", "lose", "disqualify"]


def _do(action: str, lead: Lead, rep, manager, at: datetime, reasons: dict[str, Reason], capture) -> None:
    """One step, as the rep (claim) or a sales manager (who may record on any lead, owned or not)."""
    if action in ("activity", "rescore"):
        if action == "activity":
            activities_record(lead=lead, activities=[ActivityData("demo_request", at, {})], now=at)
        with capture(execute=True):  # feedback opens its cycles after the commit
            leads_rescore(lead_ids=[lead.pk], now=at)
    elif action == "claim":
        lead_claim(lead_id=lead.pk, rep=rep, now=at)
    elif action == "contact":
        services.contact_log(lead_id=lead.pk, user=manager, channel="call", connected=True, note="", now=at)
    elif action == "accept":
        services.lead_accept(lead_id=lead.pk, user=manager, now=at)
    elif action == "reject":
        services.lead_reject(lead_id=lead.pk, user=manager, reason=reasons["rejection"], comment="", now=at)
    elif action == "qualify":
        services.lead_qualify(lead_id=lead.pk, user=manager, answers=BANT, now=at)
    elif action == "lose":
        services.lead_lose(lead_id=lead.pk, user=manager, reason=reasons["loss"], comment="", now=at)
    elif action == "disqualify":
        services.lead_disqualify(lead_id=lead.pk, user=manager, reason=reasons["disqualification"], comment="",
                                 now=at)  # fmt: skip


def _check(lead: Lead, before: str, action: str) -> None:
    state = life.State(lead.state)
    open_hand_overs = list(HandOver.objects.filter(lead=lead).open())
    open_cycles = list(Cycle.objects.filter(lead=lead).open())
    # one open hand-over and one open cycle at most, open exactly while sales has the lead
    assert len(open_hand_overs) <= 1 and len(open_cycles) <= 1
    assert bool(open_hand_overs) == (state in life.WITH_SALES) == bool(open_cycles)
    if open_cycles:
        assert open_cycles[0].hand_over_id == open_hand_overs[0].pk
    # every hand-over has its cycle, with the same number, numbered 1, 2, ... in turn
    pairs = list(HandOver.objects.filter(lead=lead).order_by("number").values_list("number", "cycle__number"))
    assert pairs == [(n, n) for n in range(1, len(pairs) + 1)]
    # no clock runs that the state stops
    running = {clock for clock, _ in running_clocks(clock_state(lead))}
    assert running <= {clock.value for clock in life.clocks_running_in(state)}
    # a lead handed back waits for new activity: a rescore with nothing new leaves it with marketing
    if action == "rescore" and before in (life.State.RECYCLED, life.State.LOST):
        assert state == before


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=14))
def test_random_lives_keep_the_lifecycles_invariants_in_the_database(
    actions, agreement, rep, sales_manager, django_capture_on_commit_callbacks
):
    ensure_default_reasons()
    reasons = {
        kind: Reason.objects.filter(kind=kind, needs_comment=False).first() for kind in Reason.Kind.values
    }
    with transaction.atomic():  # each example starts from the same database
        lead, _ = lead_upsert(data=LeadData(email="life@acme.example", fields={"employees": 20}), now=START)
        at = START
        for action in actions:
            at += timedelta(minutes=17)
            before = Lead.objects.get(pk=lead.pk).state
            with contextlib.suppress(OutcomeRefused, LeadError):  # refused: checked below like any other step
                _do(action, lead, rep, sales_manager, at, reasons, django_capture_on_commit_callbacks)
            lead.refresh_from_db()
            _check(lead, before, action)
        transaction.set_rollback(True)
