"""The lead's lifecycle (leads.lifecycle.rules): property tests over random sequences of actions, and the
stored State kept equal to the rules' states. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leads.lifecycle import rules as life
from leads.models import CLOSED_STATES, HANDED_OVER_STATES, QUALIFIABLE_STATES, State
from leads.queue.clocks import ClockState, running_clocks

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DUE = START + timedelta(days=365)

# an action, or new activity arriving (which scoring may turn into a hand-over)
steps = st.lists(st.sampled_from([*life.Action, "activity"]), max_size=40)


def clock_state(lead: life.Life) -> ClockState:
    stop = lead.stopped_at
    due = DUE if lead.deadlines_set else None
    return ClockState(
        state=lead.state.value,
        claim_due_at=due,
        first_contact_due_at=due,
        accept_due_at=due,
        outcome_due_at=due,
        claimed_at=stop(life.Stop.CLAIM),
        first_contact_at=stop(life.Stop.FIRST_CONTACT),
        decided_at=stop(life.Stop.DECISION),
        outcome_at=stop(life.Stop.OUTCOME),
    )


def run(actions: list[str]):
    """Play the actions the rules allow (others are refused and change nothing), as scoring and the services
    do: new activity hands the lead over only when the rules allow it and some activity still counts."""
    lead, cycles, activity = life.Life(), [], []
    at = START
    for action in actions:
        at += timedelta(minutes=7)
        if action == "activity":
            activity.append(at)
            action = life.Action.HAND_OVER
        since = life.counts_since(
            lead.state,
            decided_at=lead.stopped_at(life.Stop.DECISION),
            outcome_at=lead.stopped_at(life.Stop.OUTCOME),
        )
        counted = [when for when in activity if since is None or when > since]
        if action == life.Action.HAND_OVER and not life.may_hand_over(
            lead.state, since=since, new_activity=len(counted)
        ):
            continue  # as scoring: no hand-over
        try:
            after = life.step(lead, action, at)
        except life.NotAllowed:
            continue
        chosen = life.MOVES[life.Action(action)]
        if chosen.new_cycle:
            cycles.append({"opened": at, "closed": None})
        if after.state not in life.WITH_SALES and cycles and cycles[-1]["closed"] is None:
            cycles[-1]["closed"] = at
        lead = after
        yield action, lead, cycles, counted, since


@settings(max_examples=300, deadline=None)
@given(steps)
def test_a_lead_has_at_most_one_open_cycle_and_it_is_open_exactly_while_sales_has_the_lead(actions):
    for _, lead, cycles, _, _ in run(actions):
        open_cycles = [cycle for cycle in cycles if cycle["closed"] is None]
        assert len(open_cycles) <= 1
        assert bool(open_cycles) == (lead.state in life.WITH_SALES)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_clocks_run_only_where_the_state_says_and_stop_for_good_once_stopped(actions):
    for action, lead, _, _, _ in run(actions):
        running = {clock for clock, _ in running_clocks(clock_state(lead))}
        assert running <= {clock.value for clock in life.clocks_running_in(lead.state)}
        if lead.state not in life.WITH_SALES:
            assert running == set()
        if lead.stopped_at(life.Stop.CLAIM):
            assert "claim" not in running
        if lead.stopped_at(life.Stop.DECISION):
            assert "accept" not in running
        if lead.state == life.State.MQL and not lead.owned and action == life.Action.HAND_OVER:
            assert running == {
                "claim",
                "first_contact",
                "accept",
                "outcome",
            }  # a fresh cycle: every clock runs


@settings(max_examples=300, deadline=None)
@given(steps)
def test_a_recycled_or_lost_lead_comes_back_only_on_new_activity(actions):
    previous = None
    for action, lead, _, counted, since in run(actions):
        if action == life.Action.HAND_OVER and previous in (life.State.RECYCLED, life.State.LOST):
            assert since is not None and counted and min(counted) > since
        previous = lead.state


def test_rejecting_hands_the_lead_back_and_it_waits_for_what_it_does_next():
    # given a lead handed over, claimed and rejected
    lead = life.step(life.Life(), life.Action.HAND_OVER, START)
    lead = life.step(lead, life.Action.CLAIM, START + timedelta(minutes=1))
    rejected_at = START + timedelta(minutes=2)
    lead = life.step(lead, life.Action.REJECT, rejected_at)
    # then it has no owner and no running clock, and activity up to the rejection no longer counts
    assert (lead.state, lead.owned) == (life.State.RECYCLED, False)
    assert running_clocks(clock_state(lead)) == []
    assert life.counts_since(lead.state, decided_at=lead.stopped_at(life.Stop.DECISION), outcome_at=None) == (
        rejected_at
    )
    # and a new hand-over starts a fresh cycle: no stops, no owner
    again = life.step(lead, life.Action.HAND_OVER, rejected_at + timedelta(days=3))
    assert (again.state, again.owned, again.stopped) == (life.State.MQL, False, ())


def test_refusals_say_why_in_the_users_words():
    assert life.allowed_actions(life.State.MQL) >= {life.Action.ACCEPT, life.Action.REJECT, life.Action.CLAIM}
    assert life.Action.WIN not in life.allowed_actions(life.State.SAL)
    try:
        life.move(life.Action.ACCEPT, life.State.SAL)
    except life.NotAllowed as error:
        assert str(error) == "Only an MQL can be accepted; this lead is Accepted (SAL)."
    else:
        raise AssertionError("accepting an accepted lead was allowed")


def test_the_stored_states_are_the_lifecycles():
    assert [(state.value, state.label) for state in State] == [
        (state.value, life.LABELS[state]) for state in life.State
    ]
    assert set(CLOSED_STATES) == life.CLOSED
    assert set(HANDED_OVER_STATES) == life.WITH_SALES
    assert set(QUALIFIABLE_STATES) == life.QUALIFIABLE


# --- the SLA engine's clock rules (pause, status update, ladder, reject minimum) ----------------------------------

moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(state=st.sampled_from(list(life.State)))
def test_a_paused_lead_runs_no_clock_and_status_updates_run_only_once_accepted(state):
    assert life.clocks_running(state, paused=True) == frozenset()
    assert life.clocks_running(state, paused=False) == life.clocks_running_in(state)
    assert (life.Clock.STATUS_UPDATE in life.clocks_running_in(state)) == (
        state in {life.State.SAL, life.State.SQL}
    )


@settings(max_examples=200, deadline=None)
@given(
    due=moments, paused_from=moments, wait=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60))
)
def test_resuming_moves_a_deadline_later_by_exactly_the_wait_and_never_earlier(due, paused_from, wait):
    shifted = life.shift(due, paused_from=paused_from, resumed_at=paused_from + wait)
    assert shifted == due + wait and shifted >= due
    assert life.shift(None, paused_from=paused_from, resumed_at=paused_from + wait) is None


@settings(max_examples=200, deadline=None)
@given(
    detected=moments,
    delays=st.lists(st.integers(min_value=0, max_value=10_000), max_size=6).map(sorted),
)
def test_ladder_steps_fall_due_in_order_and_end(detected, delays):
    dues = [life.ladder_due(detected, delays, fired=fired) for fired in range(len(delays))]
    assert all(due is not None and due >= detected for due in dues)
    assert dues == sorted(dues)
    assert life.ladder_due(detected, delays, fired=len(delays)) is None


@given(attempts=st.integers(min_value=0, max_value=20), minimum=st.integers(min_value=0, max_value=20))
def test_reject_is_refused_exactly_below_the_minimum(attempts, minimum):
    refusal = life.reject_refusal(attempts=attempts, minimum=minimum)
    assert (refusal is None) == (attempts >= minimum)
    if refusal:
        assert f"at least {minimum}" in refusal and f"{attempts} logged" in refusal


@given(state=st.sampled_from(list(life.State)), allowed=st.booleans(), paused=st.booleans())
def test_only_a_lead_with_sales_may_wait_on_the_customer_once(state, allowed, paused):
    assert life.may_pause(state, allowed_by_terms=allowed, paused=paused) == (
        allowed and not paused and state in life.WITH_SALES
    )
