"""Apply the active agreement to leads: the ORM feeds sla.criteria.evaluate and stores what it says."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from alignment.copywrite import copy_applies, rows_insert, rows_update
from leads.bulkwrite import rows_update as values_update
from leads.exceptions import NoRepAvailable
from leads.lifecycle import rules as life
from leads.lifecycle.hand_overs import hand_overs_record
from leads.models import Activity, Lead, LeadEvent, Tier
from leads.normalise import LEAD_FIELDS, lead_attributes
from leads.queue.assignment import lead_assign_round_robin
from leads.queue.clocks import stamp_clocks
from leads.rules import Rules
from leads.scoring.state import Kept, states_read, states_write
from leads.segmenting import Teams, lead_place, owner_names_fill, segment_book
from leads.signals import lead_became_hot, leads_handed_over
from sla.criteria import Activity as Fact
from sla.criteria import Evaluation, MqlCriteria, evaluate, retain

SCORE_FIELDS = [
    "state", "tier", "score", "fit_score", "engagement_score", "breakdown", "scored_with", "scored_at",
    "rescore_at", "last_activity_at", "mql_at", "handoff_reason", "claim_due_at", "first_contact_due_at", "accept_due_at",
    "outcome_due_at", "sla_clock", "sla_due_at", "next_sla_check_at", "updated_at", "owner", "claimed_at", "first_contact_at", "decided_at",
    "outcome_at", "status_update_due_at", "paused_at", "segment",
]  # fmt: skip
DEADLINE_FIELDS = {
    "claim": "claim_due_at",
    "first_contact": "first_contact_due_at",
    "accept": "accept_due_at",
    "outcome": "outcome_due_at",
}


@dataclass
class RescoreResult:
    scored: int = 0
    became_mql: list[int] = field(default_factory=list)
    became_hot: list[int] = field(default_factory=list)
    moved: int = 0  # leads that changed segment (leads.segmenting.lead_place)

    @property
    def changed(self) -> int:
        return len(self.became_mql) + len(self.became_hot)


def facts_for(lead_ids: Iterable[int], *, after: Mapping[int, int] | None = None) -> dict[int, list[Fact]]:
    """The leads' activities (only those with an id above `after[lead]` for the leads in `after`), in one
    query, in id order. Properties come as JSON text and are parsed once per distinct text:
    the same few documents ({"path": "/pricing"}, {}) recur across thousands of activities, and evaluate()
    only reads them. On PostgreSQL the instant comes as microseconds since the epoch: Django's time-zone-aware
    timestamp loader parses each one with a regular expression, which cost more than evaluating the lead."""
    ids = list(lead_ids)
    facts: dict[int, list[Fact]] = defaultdict(list)
    parsed: dict[str | None, Any] = {}
    for lead_id, activity_id, type_, occurred_at, text in _activity_rows(ids, after or {}):
        try:
            properties = parsed[text]
        except KeyError:
            if len(parsed) > 10_000:
                parsed.clear()
            properties = parsed[text] = (json.loads(text) if text else None) or {}
        facts[lead_id].append(Fact(activity_id, type_, occurred_at, properties))
    for lead_facts in facts.values():
        lead_facts.sort(key=_fact_id)
    return facts


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_fact_id = attrgetter("id")


def _activity_rows(
    ids: list[int], after: Mapping[int, int]
) -> Iterator[tuple[int, int, str, datetime, str | None]]:
    if not ids:
        return
    if connection.vendor != "postgresql":
        rows = (
            Activity.objects.filter(lead_id__in=ids)
            .annotate(_properties=Cast("properties", TextField()))
            .values_list("lead_id", "id", "type", "occurred_at", "_properties")
        )
        if after:
            rows = rows.filter(id__gt=min(after.get(pk, 0) for pk in ids))
        yield from (row for row in rows.iterator(chunk_size=5000) if row[1] > after.get(row[0], 0))
        return
    table = Activity._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.lead_id, a.id, a.type, (EXTRACT(EPOCH FROM a.occurred_at) * 1000000)::bigint,"
            f" a.properties::text FROM {table} a"
            " JOIN unnest(%s::bigint[], %s::bigint[]) AS w(lead_id, after) ON a.lead_id = w.lead_id"
            " WHERE a.id > w.after",
            [ids, [after.get(pk, 0) for pk in ids]],
        )
        while rows := cursor.fetchmany(5000):
            for lead_id, activity_id, type_, micros, text in rows:
                yield lead_id, activity_id, type_, _EPOCH + micros * _MICROSECOND, text


def attributes_of(lead: Lead) -> dict[str, Any]:
    return lead_attributes({name: getattr(lead, name) for name in LEAD_FIELDS}, lead.attributes or {})


def leads_rescore(
    *,
    lead_ids: Iterable[int],
    now: datetime,
    rules: Rules | None = None,
    reason: str = "activity",
    keep_states: bool = True,
) -> RescoreResult:
    """Re-evaluate these leads against the active agreement, move states (→ MQL with tier) and set SLA clocks.

    Rows are locked in primary-key order, so two ingest batches touching the same leads never interleave.
    Hot leads are announced after commit. Leads are judged on their scoring state when they have a usable one
    (leads/scoring/state.py); `keep_states` keeps a new one where it leaves activity out (an activation's bulk
    rescore does not: a worker keeps it at the lead's next change, after one read of the whole history).
    """
    given = rules
    ids = sorted(set(lead_ids))
    result = RescoreResult()
    if not ids:
        return result
    book = segment_book()  # each lead's segment decides its agreement (leads.segmenting)
    with transaction.atomic():
        leads = _locked(ids, rules)
        events: list[LeadEvent] = []
        teams = Teams()
        placed = [
            (lead, lead_place(lead, book, given=given, now=now, events=events, teams=teams)) for lead in leads
        ]
        result.moved = sum(event.kind == LeadEvent.Kind.SEGMENT for event in events)
        owner_names_fill(events)
        facts, left_out = _facts_to_judge(placed, now)
        auto_assign: list[int] = []
        states: dict[int, Kept] = {}
        deadlines: dict[tuple[int, str], dict[str, datetime]] = {}  # _set_deadlines: one reckoning per tier
        for lead, rules in placed:
            lead_facts, after_id = facts.get(lead.pk, ([], 0))
            lead.last_activity_at = max(
                (
                    f.occurred_at
                    for f in lead_facts
                    if lead.last_activity_at is None or f.occurred_at > lead.last_activity_at
                ),
                default=lead.last_activity_at,
            )
            if rules is None:
                lead.updated_at = now
                continue
            evaluation, waits = judge(lead, lead_facts, rules.criteria, now, left_out=left_out.get(lead.pk))
            if keep_states:
                kept = _kept(lead, lead_facts, rules, now, after_id, left_out.get(lead.pk))
                if kept is not None:
                    states[lead.pk] = kept
            may_hand_over = life.allowed(life.Action.HAND_OVER, lead.state) and not waits
            events += _store_judgement(
                lead, evaluation, rules, now, reason, result, deadlines, may_hand_over=may_hand_over
            )
            result.scored += 1
            if rules.terms.auto_assign and result.became_mql and result.became_mql[-1] == lead.pk:
                auto_assign.append(lead.pk)
        states_write(states)
        _write_back(leads)
        rows_insert(LeadEvent, events)
        if result.became_mql:
            handed = set(result.became_mql)
            hand_overs = hand_overs_record([lead for lead in leads if lead.pk in handed], at=now)
            leads_handed_over.send(
                sender=Lead, lead_ids=result.became_mql, hand_over_ids=[h.pk for h in hand_overs], at=now
            )
        if auto_assign:
            _auto_assign(auto_assign, now)
        if result.became_hot:
            lead_became_hot.send(sender=Lead, lead_ids=result.became_hot, at=now)
    return result


@dataclass
class RescoreChunk:
    last_pk: int | None  # the cursor to resume after; None when no lead was left after `after`
    scored: int
    result: RescoreResult


def leads_rescore_chunk(
    *, leads: QuerySet, rules: Rules, now: datetime, after: int, size: int, reason: str
) -> RescoreChunk:
    """Rescore the next `size` leads of `leads` (any queryset of leads: every open lead, one segment's) after
    primary key `after`, with `rules` (the version to apply). The bulk path of an activation's rescore job; the
    caller holds the transaction that also moves the job's cursor.

    One evaluator on every database: sla.criteria.evaluate, fed by two set-based reads (the leads, locked in
    primary-key order, and all their activities in one query) and written back in one statement (COPY into a
    temporary table and one UPDATE ... FROM on PostgreSQL, see alignment.copywrite)."""
    ids = list(leads.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:size])
    if not ids:
        return RescoreChunk(last_pk=None, scored=0, result=RescoreResult())
    result = leads_rescore(lead_ids=ids, now=now, rules=rules, reason=reason, keep_states=False)
    return RescoreChunk(last_pk=ids[-1], scored=len(ids), result=result)


def _locked(ids: list[int], rules: Rules | None) -> list[Lead]:
    """The leads, locked in primary-key order. Many of them on PostgreSQL: the ids go as one array (a list of
    thousands of placeholders costs more to build than to run), and the stored breakdown, replaced anyway, is
    not read (the COPY write-back reads only what it writes)."""
    leads = Lead.objects.select_for_update().order_by("pk")
    if rules is None or not copy_applies(len(ids)):
        return list(leads.filter(pk__in=ids))
    table = connection.ops.quote_name(Lead._meta.db_table)
    return list(
        leads.defer("breakdown").filter(pk__in=RawSQL(f"SELECT id FROM {table} WHERE id = ANY(%s)", [ids]))
    )


def _write_back(leads: list[Lead]) -> None:
    """The judged rows, in one statement. PostgreSQL: COPY + UPDATE ... FROM for many rows, UPDATE ... FROM
    jsonb_to_recordset for a worker's batch (psycopg escapes each element of a parameter array with a regex:
    41% of a rescore, half of a worker's batch, when the breakdowns went through bulk_create); SQLite:
    INSERT ... ON CONFLICT (id) DO UPDATE, ~10x faster there than bulk_update."""
    if copy_applies(len(leads)):
        rows_update(Lead, leads, SCORE_FIELDS)
    elif connection.vendor == "postgresql":
        values_update(Lead, leads, SCORE_FIELDS)
    else:
        Lead.objects.bulk_create(
            leads, update_conflicts=True, unique_fields=["id"], update_fields=SCORE_FIELDS
        )


def judge(
    lead: Lead,
    facts: list[Fact],
    criteria: MqlCriteria,
    now: datetime,
    *,
    evidence: bool = True,
    left_out: Mapping[str, int] | None = None,
) -> tuple[Evaluation, bool]:
    """The lead's evaluation on the activity that counts, and whether it waits for new activity before it may
    be handed over again (life.may_hand_over). Scoring stores it; the what-if (feedback.whatif) asks it of a
    draft. `facts` is the whole history, or what the lead's scoring state kept of it plus the activities
    stored since, with the state's `left_out` counts (leads.scoring.state)."""
    since = _since(lead)
    counting = _counting(facts, since)
    waits = life.waits_for_activity(since=since, new_activity=len(counting))
    evaluation = evaluate(criteria, attributes_of(lead), counting, now, evidence=evidence, left_out=left_out)
    return evaluation, waits


def _since(lead: Lead) -> datetime | None:
    return life.counts_since(lead.state, decided_at=lead.decided_at, outcome_at=lead.outcome_at)


def _facts_to_judge(
    placed: list[tuple[Lead, Rules | None]], now: datetime
) -> tuple[dict[int, tuple[list[Fact], int]], dict[int, dict[str, int]]]:
    """Per lead, the activities to judge and the last activity id read, and the `left_out` counts of the leads
    judged on their scoring state: its kept activities plus those stored since, when that is judging the
    whole history (Kept.usable); the whole history otherwise. Two or three queries for any number of leads."""
    rules_of = {lead.pk: rules for lead, rules in placed if rules is not None}
    since_of = {lead.pk: _since(lead) for lead, _ in placed}
    states = {
        pk: kept
        for pk, kept in states_read(
            rules_of, version_ids={rules.version.pk for rules in rules_of.values()}
        ).items()
        if kept.usable(version_id=rules_of[pk].version.pk, since=since_of[pk], now=now, new=[])
    }  # an activation's rescore finds none: the state was kept for another version
    newer = facts_for(states, after={pk: kept.after_id for pk, kept in states.items()}) if states else {}
    facts: dict[int, tuple[list[Fact], int]] = {}
    left_out: dict[int, dict[str, int]] = {}
    for pk, kept in states.items():
        new = newer.get(pk, [])
        if kept.usable(
            version_id=rules_of[pk].version.pk, since=since_of[pk], now=now, new=_counting(new, since_of[pk])
        ):
            facts[pk] = ([*kept.facts, *new], max((fact.id for fact in new), default=kept.after_id))
            left_out[pk] = kept.left_out
    whole = facts_for(lead.pk for lead, _ in placed if lead.pk not in facts)
    for lead_id, lead_facts in whole.items():
        facts[lead_id] = (lead_facts, max(fact.id for fact in lead_facts))
    return facts, left_out


def _kept(
    lead: Lead,
    facts: list[Fact],
    rules: Rules,
    now: datetime,
    after_id: int,
    left_out: Mapping[str, int] | None,
) -> Kept:
    """What the lead's next scoring needs of these activities (sla.criteria.retain)."""
    since = _since(lead)
    kept, counts = retain(rules.criteria, _counting(facts, since), now, left_out=left_out)
    return Kept(
        version_id=rules.version.pk,
        since=since,
        at=now,
        after_id=after_id,
        latest_at=max((fact.occurred_at for fact in kept), default=None),
        facts=kept,
        left_out=counts,
    )


def _counting(facts: list[Fact], since: datetime | None) -> list[Fact]:
    """The activity that counts: all of it, except for a lead handed back (recycled) or lost, whose earlier
    activity already led to a hand-over sales turned down (life.counts_since). It qualifies again only on
    what it did since."""
    if since is None:
        return facts
    return [fact for fact in facts if fact.occurred_at > since]


def _store_judgement(
    lead: Lead,
    evaluation: Evaluation,
    rules: Rules,
    now: datetime,
    reason: str,
    result: RescoreResult,
    deadlines: dict[tuple[int, str], dict[str, datetime]],
    *,
    may_hand_over: bool,
) -> list[LeadEvent]:
    lead.score, lead.fit_score, lead.engagement_score = (
        evaluation.total,
        evaluation.fit,
        evaluation.engagement,
    )
    lead.breakdown = evaluation.to_dict()
    lead.scored_with_id = rules.version.pk  # the id: the related-object descriptor cost as much as the rest
    lead.scored_at = lead.updated_at = now
    lead.rescore_at = evaluation.next_change_at
    events = []
    why = _why(evaluation)
    if life.allowed(life.Action.HAND_OVER, lead.state):
        lead.tier = Tier.NONE
        if evaluation.is_mql and may_hand_over:
            to = life.next_state(life.Action.HAND_OVER, lead.state).value
            events.append(_event(lead, LeadEvent.Kind.STATE, lead.state, to, now, why, reason, evaluation))
            lead.state, lead.mql_at, lead.tier = to, now, str(evaluation.tier)
            lead.handoff_reason = why
            # a new cycle (life.MOVES[HAND_OVER].new_cycle): fresh clocks and no owner, even for a recycled lead
            lead.owner = lead.claimed_at = lead.first_contact_at = lead.decided_at = lead.outcome_at = None
            lead.status_update_due_at = lead.paused_at = None
            _set_deadlines(lead, rules, now, deadlines)
            result.became_mql.append(lead.pk)
            if lead.tier == Tier.HOT:
                result.became_hot.append(lead.pk)
    elif (
        life.allowed(life.Action.HEAT, lead.state)
        and lead.owner_id is None
        and lead.tier == Tier.WARM
        and evaluation.tier == "hot"
    ):
        # A trigger fired on a warm lead nobody has claimed yet: it jumps the queue with the hot clock.
        events.append(_event(lead, LeadEvent.Kind.TIER, Tier.WARM, Tier.HOT, now, why, reason, evaluation))
        lead.tier = Tier.HOT
        _set_deadlines(lead, rules, now, deadlines, only_sooner=True)
        result.became_hot.append(lead.pk)
    return events


def _set_deadlines(
    lead: Lead,
    rules: Rules,
    now: datetime,
    deadlines: dict[tuple[int, str], dict[str, datetime]],
    *,
    only_sooner: bool = False,
) -> None:
    """The tier's deadlines from `now`. They depend only on the version's terms, the tier and `now`, so a batch
    reckons them once per version and tier in `deadlines` (business-hours calendar arithmetic, milliseconds
    each: it was most of a hand-over's scoring)."""
    reckoned = deadlines.get((rules.version.pk, lead.tier))
    if reckoned is None:
        reckoned = deadlines[(rules.version.pk, lead.tier)] = rules.terms.deadlines(tier=lead.tier, start=now)
    for key, due in reckoned.items():
        name = DEADLINE_FIELDS.get(key)
        if name and not (only_sooner and getattr(lead, name) and getattr(lead, name) <= due):
            setattr(lead, name, due)
    stamp_clocks(lead)


def _why(evaluation: Evaluation) -> str:
    if evaluation.triggers:
        return "; ".join(hit.reason for hit in evaluation.triggers)[:500]
    return f"score {evaluation.total}"


def _event(
    lead: Lead,
    kind: str,
    before: str,
    after: str,
    now: datetime,
    why: str,
    reason: str,
    evaluation: Evaluation,
) -> LeadEvent:
    return LeadEvent(
        lead=lead,
        at=now,
        kind=kind,
        from_value=str(before),
        to_value=str(after),
        actor_label="scoring",
        reason=why,
        data={"trigger": reason, "score": evaluation.total, "tier": str(evaluation.tier)},
    )


def _auto_assign(lead_ids: list[int], now: datetime) -> None:
    """The terms say new MQLs are assigned round-robin; with nobody available they wait in the shared queue."""
    for lead_id in lead_ids:
        try:
            lead_assign_round_robin(lead_id=lead_id, now=now, reason="new MQL, assigned round-robin")
        except NoRepAvailable:
            return
