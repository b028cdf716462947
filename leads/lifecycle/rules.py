"""The lead's life in one place: states, the actions allowed from each, and what each does to the SLA clocks
and the owner. Pure Python (no Django): the services ask it before they write, the screens ask it what to offer.

    new ──hand_over──▶ mql ──accept──▶ sal ──qualify──▶ sql ──win──▶ won
                        │               │                 ├──lose──▶ lost ──(new activity) hand_over──▶ mql
                        │               └──disqualify─────┴──disqualify──▶ disqualified
                        └──reject──▶ recycled ──(new activity) hand_over──▶ mql

    On a lead with sales (mql, sal, sql): claim/assign (stop the claim clock), release, contact (stops first
    contact), opportunity (sql), and the SLA escalations (return to queue, reassign).

Clocks: hand_over starts a fresh cycle (all deadlines set, all stops cleared, no owner); claim and assign stop
the claim clock; the first contact stops first contact; accept and reject stop the accept clock ("decision");
reject and every outcome stop the outcome clock. Which clocks run is `running_clocks` (leads.queue.clocks),
read from the state and the stops.

Recycling: a rejected (recycled) or lost lead's earlier activity already led to a hand-over that sales turned
down; it qualifies again only on activity after that (`counts_since`).

The record: each hand_over writes a leads.HandOver (leads.lifecycle.hand_overs), ended when the lead leaves sales
(a move from WITH_SALES to a state outside it), so one is open exactly while the lead is with sales; feedback's
cycles are keyed to these. A merge keeps the life of the record that is with sales (`merge_takes_life`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class State(StrEnum):
    NEW = "new"
    MQL = "mql"
    SAL = "sal"
    SQL = "sql"
    RECYCLED = "recycled"
    WON = "won"
    LOST = "lost"
    DISQUALIFIED = "disqualified"


LABELS = {
    State.NEW: "New",
    State.MQL: "MQL",
    State.SAL: "Accepted (SAL)",
    State.SQL: "SQL",
    State.RECYCLED: "Recycled to marketing",
    State.WON: "Won",
    State.LOST: "Lost",
    State.DISQUALIFIED: "Disqualified",
}
WITH_SALES = frozenset({State.MQL, State.SAL, State.SQL})  # handed over, one open cycle
CLOSED = frozenset({State.WON, State.LOST, State.DISQUALIFIED})
# Scoring may hand these to sales: never handed over, handed back to marketing, or lost and active again.
QUALIFIABLE = frozenset({State.NEW, State.RECYCLED, State.LOST})


class Clock(StrEnum):
    CLAIM = "claim"
    FIRST_CONTACT = "first_contact"
    ACCEPT = "accept"
    OUTCOME = "outcome"
    # Recurring: once accepted, the owner reports on the lead every N business days (each update restarts it).
    STATUS_UPDATE = "status_update"


class Stop(StrEnum):
    """The events that stop clocks (a timestamp each on the lead)."""

    CLAIM = "claim"  # claimed_at: stops the claim clock
    FIRST_CONTACT = "first_contact"  # first_contact_at
    DECISION = "decision"  # decided_at: accepted or rejected, stops the accept clock
    OUTCOME = "outcome"  # outcome_at


class Action(StrEnum):
    HAND_OVER = "hand_over"  # scoring: the lead became an MQL (a new cycle)
    HEAT = "heat"  # scoring: a trigger fired on a warm MQL nobody claimed: hot, with the sooner deadlines
    CLAIM = "claim"
    ASSIGN = "assign"  # a manager, round-robin, or an escalation by reassignment
    RELEASE = "release"
    RETURN_TO_QUEUE = "return_to_queue"  # escalation: a missed deadline takes the lead from its owner
    CONTACT = "contact"
    ACCEPT = "accept"
    REJECT = "reject"
    QUALIFY = "qualify"
    OPPORTUNITY = "opportunity"
    WIN = "win"
    LOSE = "lose"
    DISQUALIFY = "disqualify"


@dataclass(frozen=True)
class Move:
    """What an action is allowed from and what it does."""

    action: Action
    allowed_from: frozenset[State]
    to: State | None = None  # None: the state does not change
    stops: tuple[Stop, ...] = ()
    clears_owner: bool = False
    new_cycle: bool = False  # fresh deadlines, every stop cleared, no owner
    refusal: str = "This lead is {state}: {action} is not possible now."


def _move(action: Action, allowed: Iterable[State], **kwargs: object) -> tuple[Action, Move]:
    return action, Move(action=action, allowed_from=frozenset(allowed), **kwargs)  # type: ignore[arg-type]


MOVES: dict[Action, Move] = dict(
    [
        _move(Action.HAND_OVER, QUALIFIABLE, to=State.MQL, new_cycle=True),
        _move(Action.HEAT, {State.MQL}),
        _move(
            Action.CLAIM,
            {State.MQL},
            stops=(Stop.CLAIM,),
            refusal="Only an MQL waiting in the queue can be claimed; this lead is {state}.",
        ),  # fmt: skip
        _move(
            Action.ASSIGN,
            WITH_SALES,
            stops=(Stop.CLAIM,),
            refusal="This lead is {state}; only leads handed to sales are assigned.",
        ),  # fmt: skip
        _move(Action.RELEASE, WITH_SALES, clears_owner=True),
        _move(Action.RETURN_TO_QUEUE, WITH_SALES, clears_owner=True),
        _move(
            Action.CONTACT,
            WITH_SALES,
            stops=(Stop.FIRST_CONTACT,),
            refusal="This lead is {state}: it is not with sales right now.",
        ),  # fmt: skip
        _move(
            Action.ACCEPT,
            {State.MQL},
            to=State.SAL,
            stops=(Stop.DECISION,),
            refusal="Only an MQL can be accepted; this lead is {state}.",
        ),  # fmt: skip
        _move(
            Action.REJECT,
            {State.MQL},
            to=State.RECYCLED,
            stops=(Stop.DECISION, Stop.OUTCOME),
            clears_owner=True,
            refusal="Only an MQL can be rejected; this lead is {state}.",
        ),  # fmt: skip
        _move(
            Action.QUALIFY,
            {State.SAL, State.SQL},
            to=State.SQL,
            refusal="Accept the lead before qualifying it.",
        ),  # fmt: skip
        _move(
            Action.OPPORTUNITY,
            {State.SQL},
            refusal="Qualify the lead (SQL) before opening an opportunity.",
        ),  # fmt: skip
        _move(
            Action.WIN,
            {State.SQL},
            to=State.WON,
            stops=(Stop.OUTCOME,),
            refusal="A deal is won from a qualified lead (SQL); this lead is {state}. "
            "Accept it and complete the checklist first.",
        ),  # fmt: skip
        _move(
            Action.LOSE,
            {State.SQL},
            to=State.LOST,
            stops=(Stop.OUTCOME,),
            refusal="Only a qualified lead (SQL) can be lost; this lead is {state}.",
        ),  # fmt: skip
        _move(
            Action.DISQUALIFY,
            {State.SAL, State.SQL},
            to=State.DISQUALIFIED,
            stops=(Stop.OUTCOME,),
            refusal="Accept the lead before disqualifying it; an MQL that is not for sales is rejected.",
        ),  # fmt: skip
    ]
)


class NotAllowed(Exception):
    """The action is not allowed from the lead's state; the message says why, in the user's words."""


def allowed(action: Action | str, state: State | str) -> bool:
    return State(state) in MOVES[Action(action)].allowed_from


def move(action: Action | str, state: State | str) -> Move:
    """The move `action` makes from `state`; raises NotAllowed (with the reason to show) if it is not allowed."""
    chosen = MOVES[Action(action)]
    if State(state) not in chosen.allowed_from:
        raise NotAllowed(chosen.refusal.format(state=LABELS[State(state)], action=chosen.action.value))
    return chosen


def allowed_actions(state: State | str) -> frozenset[Action]:
    """What may be done to a lead in this state (the screens offer these and nothing else)."""
    return frozenset(action for action, chosen in MOVES.items() if State(state) in chosen.allowed_from)


def next_state(action: Action | str, state: State | str) -> State:
    chosen = move(action, state)
    return chosen.to or State(state)


def clocks_running_in(state: State | str) -> frozenset[Clock]:
    """The clocks that may run in a state (each runs until its stop; none outside sales' hands)."""
    state = State(state)
    if state == State.MQL:
        return frozenset({Clock.CLAIM, Clock.FIRST_CONTACT, Clock.ACCEPT, Clock.OUTCOME})
    if state in (State.SAL, State.SQL):
        return frozenset({Clock.FIRST_CONTACT, Clock.OUTCOME, Clock.STATUS_UPDATE})
    return frozenset()


def clocks_running(state: State | str, *, paused: bool) -> frozenset[Clock]:
    """The clocks that run now: none while the lead waits on the customer (paused), else `clocks_running_in`."""
    return frozenset() if paused else clocks_running_in(state)


def may_pause(state: State | str, *, allowed_by_terms: bool, paused: bool) -> bool:
    """A lead with sales may wait on the customer if the agreement allows it and it is not already waiting."""
    return allowed_by_terms and not paused and State(state) in WITH_SALES


def shift(deadline: datetime | None, *, paused_from: datetime, resumed_at: datetime) -> datetime | None:
    """A deadline after a pause: moved later by the time the lead waited (a clock never loses time to it)."""
    if deadline is None or resumed_at <= paused_from:
        return deadline
    return deadline + (resumed_at - paused_from)


def warning_due(deadline: datetime, *, warn_before: timedelta) -> datetime | None:
    """When to warn of a deadline (None: warnings are off)."""
    return deadline - warn_before if warn_before > timedelta(0) else None


def ladder_due(detected_at: datetime, delays_minutes: Iterable[int], *, fired: int) -> datetime | None:
    """When the next escalation step falls due: `fired` steps have fired (None: the ladder is done)."""
    delays = list(delays_minutes)
    if fired >= len(delays):
        return None
    return detected_at + timedelta(minutes=delays[fired])


def reject_refusal(*, attempts: int, minimum: int) -> str | None:
    """Why a rep may not reject yet (None: they may): the agreement asks for `minimum` contact attempts first."""
    if attempts >= minimum:
        return None
    missing = minimum - attempts
    return (
        f"The agreement asks for at least {minimum} contact attempt{'s' if minimum != 1 else ''} before a "
        f"lead is rejected; {attempts} logged so far. Log {missing} more before rejecting."
    )


def counts_since(
    state: State | str, *, decided_at: datetime | None, outcome_at: datetime | None
) -> datetime | None:
    """Activity at or before this instant no longer counts towards a new hand-over (None: all of it counts).

    A recycled lead was turned down when it was rejected, a lost one when the deal was lost: what it did
    before led to a hand-over already, so it comes back to sales only on what it does afterwards.
    """
    state = State(state)
    if state == State.RECYCLED and decided_at:
        return decided_at
    if state == State.LOST and outcome_at:
        return outcome_at
    return None


def may_hand_over(state: State | str, *, since: datetime | None, new_activity: int) -> bool:
    """Whether scoring may hand this lead to sales now, if the criteria say it is an MQL.

    A lead handed back (`since` from `counts_since`) waits for new activity: however well it scores on what
    it is (fit), it comes back only when it does something again, so a new agreement with a lower threshold
    does not send every rejected lead back to sales.
    """
    return allowed(Action.HAND_OVER, state) and not waits_for_activity(since=since, new_activity=new_activity)


def waits_for_activity(*, since: datetime | None, new_activity: int) -> bool:
    """Handed back (`since` from `counts_since`) and nothing done since: no hand-over, whatever the score."""
    return since is not None and new_activity == 0


def merge_takes_life(*, keep: State | str, merge: State | str) -> bool:
    """Two records of one person are merged: whether the kept lead takes over the merged lead's life (state,
    owner, clocks, open hand-over). The one with sales wins, so a merge never takes a lead out of the queue
    nor leaves an open hand-over on a lead that is not with sales; if both are, the kept lead's life stays
    and the merged lead's hand-over ends at the merge."""
    return State(merge) in WITH_SALES and State(keep) not in WITH_SALES


@dataclass(frozen=True)
class Life:
    """A lead's life as the rules see it: state, whether it has an owner, and when each clock stopped."""

    state: State = State.NEW
    owned: bool = False
    stopped: tuple[tuple[Stop, datetime], ...] = ()
    deadlines_set: bool = False

    def stopped_at(self, stop: Stop) -> datetime | None:
        return dict(self.stopped).get(stop)


def step(life: Life, action: Action | str, at: datetime, *, owner: bool | None = None) -> Life:
    """The life after `action` at `at` (raises NotAllowed): what lead_progress and scoring do to a stored lead.

    `owner` says whether the action leaves an owner (claim and assign do); by default it is unchanged.
    """
    chosen = move(action, life.state)
    stopped = {} if chosen.new_cycle else dict(life.stopped)
    for stop in chosen.stops:
        stopped.setdefault(stop, at)
    owned = life.owned if owner is None else owner
    if chosen.clears_owner or chosen.new_cycle:
        owned = False
    if chosen.action in (Action.CLAIM, Action.ASSIGN):
        owned = True
    return Life(
        state=chosen.to or life.state,
        owned=owned,
        stopped=tuple(sorted(stopped.items())),
        deadlines_set=life.deadlines_set or chosen.new_cycle,
    )
