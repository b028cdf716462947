"""Write accepted Segment messages into leads: one transaction per batch, a bounded number of queries.

The batch is resolved in memory first. Every message names a person by e-mail, userId and/or anonymousId; the
ids already known are read in two queries, the leads they point to are locked in primary-key order, and the
messages are walked in order: a message whose ids point to no lead starts one, a message that links ids of two
leads (an identify carrying the anonymousId of earlier visits) merges them when that cannot join two different
people. Then new leads, identities and activities are written in bulk and the touched leads recorded as waiting
for the agreement's judgement (leads/scoring/demands.py), which a scoring worker gives after commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q

from leads import services
from leads.activity_store import activities_insert, message_ids_stored
from leads.bulkwrite import rows_insert, rows_update
from leads.intake.problems import problems_record
from leads.intake.segment import Message, parse_batch
from leads.models import Activity, IdentityKind, Lead, LeadIdentity, State
from leads.scoring.demands import Event, demands_record
from leads.scoring.rescore import attributes_of

EMAIL = "email"
ATTEMPTS = 3  # a lost race (a lead or id created, or merged away, by a concurrent batch) is retried
# PostgreSQL: lock_not_available (lock_timeout), deadlock_detected; SQLite: the database is locked.
BUSY_PG_CODES = {"55P03", "40P01"}


class IngestBusy(Exception):
    """The database could not take the batch now (a lock wait timed out); the client should retry later."""


class _Stale(Exception):
    """A lead read at the start of the batch was merged away before it could be locked."""


@dataclass
class IngestResult:
    messages: int = 0
    activities: int = 0  # activities written
    duplicates: int = 0  # messages whose messageId was already stored (a retried delivery)
    ignored: int = 0  # accepted message types Alignment does not store (screen, group, alias)
    leads_created: int = 0
    leads_merged: int = 0
    rescored: int = 0
    became_mql: list[int] = field(default_factory=list)
    became_hot: list[int] = field(default_factory=list)


def events_ingest(
    *, messages: Sequence[Message | Mapping[str, Any]], now: datetime, source: str = "api"
) -> IngestResult:
    """Store a batch once: activities, identities, lead fields, merges; then rescore the leads touched.

    `messages` are parsed messages (leads.intake.segment.parse_batch), or raw Segment message dicts, which are
    validated here first (segment.PayloadError names the bad ones; nothing is written then).
    Retried deliveries are harmless: an activity whose messageId is stored is skipped, and identify only sets
    what it already set. A database lock wait that times out raises IngestBusy (the API answers 429).
    """
    if not all(isinstance(message, Message) for message in messages):
        messages = parse_batch({"batch": list(messages)}, received_at=now)
    for attempt in range(ATTEMPTS):
        try:
            return _ingest(messages, now, source)
        except (IntegrityError, _Stale):
            if attempt == ATTEMPTS - 1:
                raise
        except OperationalError as error:
            if _is_busy(error):
                raise IngestBusy(str(error)) from error
            raise
    raise AssertionError("unreachable")


def _is_busy(error: OperationalError) -> bool:
    code = getattr(getattr(error, "__cause__", None), "sqlstate", None)
    return (
        code in BUSY_PG_CODES
        or "database is locked" in str(error)
        or "database table is locked" in str(error)
    )


@dataclass(eq=False)
class _Person:
    """A lead as the batch sees it: an existing row (pk) or one to create, and what the batch says of it."""

    pk: int | None
    email: str = ""
    user_ids: set[str] = field(default_factory=set)
    advanced: bool = False  # handed over to sales at some point: it must survive a merge
    merged_into: _Person | None = None

    def root(self) -> _Person:
        person = self
        while person.merged_into is not None:
            person = person.merged_into
        return person


def _can_join(a: _Person, b: _Person) -> bool:
    """Two leads may be merged unless that would join two different e-mails or two different userIds."""
    return not (a.email and b.email and a.email != b.email) and not (a.user_ids and b.user_ids)


def _fits(person: _Person, message: Message) -> bool:
    """Whether a lead may be the person a message names by userId or e-mail (it has no other of either)."""
    return (not message.user_id or not person.user_ids or message.user_id in person.user_ids) and (
        not message.email or not person.email or person.email == message.email
    )


def _survivor(a: _Person, b: _Person, order: dict[int, int]) -> _Person:
    """Keep a stored lead over a new one, then one sales has worked, then one with an e-mail, then the older."""

    def rank(p: _Person) -> tuple[bool, bool, bool, int]:
        return (
            p.pk is not None,
            p.advanced,
            bool(p.email),
            -(p.pk if p.pk is not None else 10**18 + order[id(p)]),
        )

    return max((a, b), key=rank)


def _ingest(messages: Sequence[Message], now: datetime, source: str) -> IngestResult:
    result = IngestResult(messages=len(messages))
    recorded = [m for m in messages if m.recorded]
    result.ignored = len(messages) - len(recorded)
    with transaction.atomic():
        _set_lock_timeout()
        fresh, result.duplicates = _fresh(recorded)
        if not fresh:
            return result
        keys = _keys_of(fresh)
        known = _known_keys(keys)
        locked = _lock(set(known.values()))
        people: dict[int, _Person] = {}
        if locked:
            with_user_id: dict[int, set[str]] = {}
            for lead_id, value in LeadIdentity.objects.filter(
                lead_id__in=locked, kind=IdentityKind.USER_ID
            ).values_list("lead_id", "value"):
                with_user_id.setdefault(lead_id, set()).add(value)
            for pk, lead in locked.items():
                people[pk] = _Person(
                    pk=pk,
                    email=lead.email,
                    user_ids=with_user_id.get(pk, set()),
                    advanced=lead.state != State.NEW,
                )
        walk = _Walk(people={key: people[pk] for key, pk in known.items()})
        for message in fresh:
            walk.take(message)
        _write(walk, locked, now, source, result)
    return result


def _set_lock_timeout() -> None:
    if connection.vendor == "postgresql":
        timeout = int(getattr(settings, "INGEST_LOCK_TIMEOUT_MS", 3000))
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{timeout}ms"])


def _fresh(messages: list[Message]) -> tuple[list[Message], int]:
    """The messages not delivered before: a messageId stored as an activity, or repeated in this batch, is dropped."""
    ids = [m.message_id for m in messages if m.message_id and m.activity_type]
    stored = message_ids_stored(ids)
    seen: set[str] = set()
    fresh = []
    for message in messages:
        if message.message_id:
            if message.message_id in stored or message.message_id in seen:
                continue
            seen.add(message.message_id)
        fresh.append(message)
    return fresh, len(messages) - len(fresh)


def _message_keys(message: Message) -> list[tuple[str, str]]:
    """The ids naming the person, strongest first: userId, then e-mail, then anonymousId."""
    keys = []
    if message.user_id:
        keys.append((IdentityKind.USER_ID.value, message.user_id))
    if message.email:
        keys.append((EMAIL, message.email))
    if message.anonymous_id:
        keys.append((IdentityKind.ANONYMOUS_ID.value, message.anonymous_id))
    return keys


def _keys_of(messages: list[Message]) -> set[tuple[str, str]]:
    return {key for message in messages for key in _message_keys(message)}


def _known_keys(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Which stored lead each id names: one query for e-mails, one for userIds and anonymousIds."""
    known: dict[tuple[str, str], int] = {}
    emails = [value for kind, value in keys if kind == EMAIL]
    if emails:
        for pk, email in Lead.objects.filter(email__in=emails).values_list("pk", "email"):
            known[(EMAIL, email)] = pk
    ids = Q()
    for kind in (IdentityKind.USER_ID, IdentityKind.ANONYMOUS_ID):
        values = [value for key_kind, value in keys if key_kind == kind]
        if values:
            ids |= Q(kind=kind, value__in=values)
    if ids:
        for lead_id, kind, value in LeadIdentity.objects.filter(ids).values_list("lead_id", "kind", "value"):
            known[(kind, value)] = lead_id
    return known


def _lock(pks: set[int]) -> dict[int, Lead]:
    """Lock the stored leads the batch touches, in primary-key order (as leads_rescore does: no deadlocks)."""
    if not pks:
        return {}
    # the stored judgement (breakdown) is not read here: a scoring worker rewrites it
    rows = Lead.objects.select_for_update().filter(pk__in=pks).defer("breakdown").order_by("pk")
    leads = {lead.pk: lead for lead in rows}
    if len(leads) != len(pks):
        raise _Stale()
    return leads


class _Walk:
    """The batch's messages taken in order, deciding which lead each one belongs to."""

    def __init__(self, people: dict[tuple[str, str], _Person]) -> None:
        self.by_key = people
        self.order: dict[int, int] = {}
        self.new: list[_Person] = []
        self.merges: list[tuple[_Person, _Person]] = []  # (keep, merge), both stored leads
        self.identities: list[tuple[tuple[str, str], _Person]] = []
        self.activities: list[tuple[Message, _Person]] = []
        self.updates: list[tuple[Message, _Person]] = []
        self.problems: list[tuple[Message, _Person]] = []  # fields set aside, recorded on the lead

    def take(self, message: Message) -> None:
        keys = _message_keys(message)
        found: list[_Person] = []
        for key in keys:
            person = self.by_key.get(key)
            if person is None:
                continue
            root = person.root()
            if key[0] == IdentityKind.ANONYMOUS_ID and not _fits(root, message):
                continue  # a shared browser: this anonymousId was someone else's, whom the message does not name
            if root not in found:
                found.append(root)
        if found:
            target = found[0]
            for other in found[1:]:
                if _can_join(target, other):
                    target = self._merge(target, other)
        else:
            target = _Person(pk=None)
            self.order[id(target)] = len(self.order)
            self.new.append(target)
        for kind, value in keys:
            if (kind, value) in self.by_key:
                continue
            if kind == EMAIL:
                if target.email:
                    continue  # a lead's e-mail is never replaced by another (lead_upsert's rule too)
                target.email = value
            else:
                if kind == IdentityKind.USER_ID:
                    target.user_ids.add(value)
                self.identities.append(((kind, value), target))
            self.by_key[(kind, value)] = target
        if message.activity_type:
            self.activities.append((message, target))
        if message.fields or message.custom or message.defaults:
            self.updates.append((message, target))
        if message.problems:
            self.problems.append((message, target))

    def _merge(self, a: _Person, b: _Person) -> _Person:
        keep = _survivor(a, b, self.order)
        merge = b if keep is a else a
        merge.merged_into = keep
        keep.email = keep.email or merge.email
        keep.user_ids |= merge.user_ids
        keep.advanced = keep.advanced or merge.advanced
        if keep.pk is not None and merge.pk is not None:
            self.merges.append((keep, merge))
        return keep


def _write(walk: _Walk, locked: dict[int, Lead], now: datetime, source: str, result: IngestResult) -> None:
    touched: set[int] = set()
    # 1. Merges of stored leads (anonymous visits joining the lead an identify named).
    for keep, merge in walk.merges:
        reason = "identify linked their ids"
        services.lead_merge(keep=locked[keep.pk], merge=locked.pop(merge.pk), now=now, reason=reason)
        result.leads_merged += 1
        touched.add(keep.pk)
    # 2. New leads (created below in one statement) and trait updates, applied to the rows in memory first.
    creating = [person for person in walk.new if person.merged_into is None]
    rows = [Lead(email=person.email, created_at=now, updated_at=now) for person in creating]
    by_person = {id(person): row for person, row in zip(creating, rows, strict=True)}

    def lead_of(person: _Person) -> Lead:
        root = person.root()
        return by_person[id(root)] if root.pk is None else locked[root.pk]

    changed: dict[int, Lead] = {}
    fields: set[str] = {"updated_at"}
    for message, person in walk.updates:
        lead = lead_of(person)
        # identify traits: new values win, blanks never erase; UTM defaults only fill blanks
        names = services.lead_facts_apply(
            lead, fields=message.fields, custom=message.custom, fill=message.defaults, now=now
        )
        if names and lead.pk is not None:
            changed[lead.pk] = lead
            fields |= names | {"attribute_seen_at"}
    for person in walk.by_key.values():
        root = person.root()
        if root.pk is not None and root.email and not locked[root.pk].email:
            locked[root.pk].email = root.email
            changed[root.pk] = locked[root.pk]
            fields.add(EMAIL)
    if rows:
        rows_insert(Lead, rows, set_pks=True)
        result.leads_created = len(rows)
        touched.update(row.pk for row in rows)
    for pk, lead in changed.items():
        lead.updated_at = now
        touched.add(pk)
    if changed:
        rows_update(Lead, list(changed.values()), sorted(fields))
    # 3. Ids other systems know the leads by.
    identities = [
        LeadIdentity(lead=lead_of(person), kind=kind, value=value, created_at=now)
        for (kind, value), person in walk.identities
    ]
    rows_insert(LeadIdentity, identities)
    touched.update(identity.lead_id for identity in identities)
    # 4. Activities; a messageId stored meanwhile by a concurrent delivery is skipped (its receipt is taken).
    activities = [
        Activity(
            lead=lead_of(person),
            type=message.activity_type,
            properties=message.properties,
            occurred_at=message.occurred_at,
            received_at=now,
            source=source,
            message_id=message.message_id,
        )  # fmt: skip
        for message, person in walk.activities
    ]
    activities = activities_insert(activities)
    result.activities = len(activities)
    touched.update(activity.lead_id for activity in activities)
    # 5. What was set aside, shown on each lead (the rest of its message was stored above).
    problems_record(
        ((problem, lead_of(person).pk) for message, person in walk.problems for problem in message.problems),
        source=source,
        now=now,
    )
    # 6. Which leads wait for the agreement's judgement (MQL, tier, SLA clocks; hot leads notified): written
    # here, judged by a scoring worker after commit (in-process: before this returns). Events that may fire a
    # trigger put their lead first.
    if touched:
        previous = {pk: lead.last_activity_at for pk, lead in locked.items()}
        leads = {**{row.pk: row for row in rows}, **locked}  # as this batch left them (traits applied)
        attributes = {pk: attributes_of(leads[pk]) for pk in {a.lead_id for a in activities} if pk in leads}
        events = (
            Event(
                a.lead_id,
                a.type,
                a.properties,
                a.occurred_at,
                previous.get(a.lead_id),
                attributes.get(a.lead_id),
            )
            for a in activities
        )
        scored = demands_record(touched, now=now, events=events)
        result.rescored, result.became_mql, result.became_hot = (
            scored.scored,
            scored.became_mql,
            scored.became_hot,
        )
