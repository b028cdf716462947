"""Incremental scoring: what a lead's last scoring kept of its activity (`leads.ScoringState`), read back and
stored again, so the next scoring reads only the activities stored since instead of the whole history.

The evaluator stays `sla.criteria.evaluate`; `sla.criteria.retain` says what to keep, and the property test
(sla/tests/test_criteria.py, test_incremental_evaluation_equals_full_evaluation) shows that judging the kept
activities plus newer ones gives what the whole history gives. A state is used only when that holds: same
agreement version, same counting start (`life.counts_since`), a scoring instant not before the state's, and
every activity stored since dated after the latest one kept. Otherwise the lead's whole history is read, as
before, and its state is kept anew.

Activities of a lead are stored while its row is locked (ingest, import), like scoring, so an activity id at
or below `after_id` was read by the scoring that wrote the state; a merge moves older activities to the kept
lead, so it drops that lead's state (`states_drop`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from leads.bulkwrite import values_insert
from leads.models import ScoringState
from sla.criteria import Activity as Fact

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLUMNS = ["lead", "version_id", "since", "at", "after_id", "latest_at", "facts", "left_out"]


@dataclass
class Kept:
    version_id: int
    since: datetime | None
    at: datetime
    after_id: int
    latest_at: datetime | None
    facts: list[Fact]
    left_out: dict[str, int]

    def usable(self, *, version_id: int, since: datetime | None, now: datetime, new: list[Fact]) -> bool:
        """Whether judging `facts` + `new` (the activities stored since, counted from `since`) is judging the
        whole history (sla.criteria.retain's condition)."""
        return (
            self.version_id == version_id
            and self.since == since
            and now >= self.at
            and (self.latest_at is None or all(fact.occurred_at > self.latest_at for fact in new))
        )


def states_read(lead_ids: Iterable[int], *, version_ids: Iterable[int]) -> dict[int, Kept]:
    """The states of these leads kept for one of these agreement versions (those that have one)."""
    ids = list(lead_ids)
    if not ids:
        return {}
    rows = ScoringState.objects.filter(version_id__in=set(version_ids))
    if connection.vendor == "postgresql":
        # The ids as one array: a thousand placeholders cost five times the query (an activation's rescore
        # asks for every chunk and finds none). The documents as text, parsed by json.loads (the field's own
        # loader is slower).
        rows = rows.filter(lead_id__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
        rows = rows.annotate(_facts=Cast("facts", TextField()), _left_out=Cast("left_out", TextField()))
        rows = rows.values_list(*_COLUMNS[:-2], "_facts", "_left_out")
    else:
        rows = rows.filter(lead_id__in=ids).values_list(*_COLUMNS)
    kept = {}
    for lead_id, version_id, since, at, after_id, latest_at, facts, left_out in rows:
        if isinstance(facts, str):
            facts, left_out = json.loads(facts), json.loads(left_out)
        kept[lead_id] = Kept(
            version_id=version_id,
            since=since,
            at=at,
            after_id=after_id,
            latest_at=latest_at,
            facts=[_fact(item) for item in facts],
            left_out=left_out,
        )
    return kept


def states_write(states: dict[int, Kept]) -> None:
    """Store these leads' states (replacing any they had), in the caller's transaction."""
    if not states:
        return
    ScoringState.objects.filter(lead_id__in=list(states)).delete()
    values_insert(
        ScoringState,
        _COLUMNS,
        [
            (
                lead_id,
                kept.version_id,
                kept.since,
                kept.at,
                kept.after_id,
                kept.latest_at,
                [_item(fact) for fact in kept.facts],
                kept.left_out,
            )
            for lead_id, kept in states.items()
        ],
    )


def states_drop(lead_ids: Iterable[int]) -> None:
    """Forget these leads' states: their next scoring reads the whole history."""
    ScoringState.objects.filter(lead_id__in=list(lead_ids)).delete()


def _item(fact: Fact) -> list:
    micros = (fact.occurred_at - _EPOCH) // timedelta(microseconds=1)
    return [fact.id, fact.type, micros, dict(fact.properties)]


def _fact(item: list) -> Fact:
    activity_id, type_, micros, properties = item
    return Fact(
        id=activity_id, type=type_, occurred_at=_EPOCH + timedelta(microseconds=micros), properties=properties
    )
