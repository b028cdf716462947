"""Writes on leads: upsert by identity, record activities, rescoring jobs, keys. Each one transactional."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from leads import jobs
from leads.activity_store import activities_insert
from leads.exceptions import LeadError
from leads.lifecycle import rules as life
from leads.lifecycle.hand_overs import hand_overs_move
from leads.models import (
    CLOSED_STATES,
    Activity,
    ApiToken,
    DataProblem,
    ImportedLead,
    Lead,
    LeadEvent,
    LeadIdentity,
    RescoreJob,
    ScoringState,
    SlaBreach,
    SlaWarning,
    WriteKey,
    normalise_email,
)
from leads.normalise import LEAD_FIELDS
from leads.scoring import Rules, active_rules, leads_rescore, leads_rescore_chunk
from leads.segments.job import segment_job_chunk
from leads.signals import lead_merging, rescore_job_queued
from sla.models import AgreementVersion

log = logging.getLogger(__name__)

RESCORE_CHUNK = 1000
EDITABLE_FIELDS = tuple(name for name in LEAD_FIELDS if name != "email")


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


KEY_TOUCH_EVERY = timedelta(minutes=1)  # a key's last_used_at is written at most this often


def keys_touch(keys: QuerySet[Any], now: datetime) -> None:
    """Note when a write key or API token was last used; a busy database skips it (the next minute's request will
    note it)."""
    with suppress(OperationalError):
        keys.update(last_used_at=now)


def write_key_create(*, name: str, now: datetime) -> tuple[WriteKey, str]:
    raw = f"wk_{secrets.token_urlsafe(24)}"
    key = WriteKey.objects.create(name=name, prefix=raw[:10], key_hash=key_hash(raw), created_at=now)
    return key, raw


def api_token_create(*, user: Any, name: str, now: datetime) -> tuple[ApiToken, str]:
    raw = f"at_{secrets.token_urlsafe(24)}"
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:10], key_hash=key_hash(raw), created_at=now
    )
    return token, raw


@dataclass(frozen=True)
class LeadData:
    """What a source knows about a person: identity, lead fields, custom attributes."""

    email: str = ""
    identities: Mapping[str, str] | None = None  # IdentityKind → value
    fields: Mapping[str, Any] | None = None  # lead fields (first_name, company, employees, ...)
    custom: Mapping[str, Any] | None = None  # custom attributes


def lead_find(*, email: str = "", identities: Mapping[str, str] | None = None) -> Lead | None:
    """The lead these ids name: e-mail first, then each identity."""
    email = normalise_email(email)
    if email:
        lead = Lead.objects.filter(email=email).first()
        if lead:
            return lead
    for kind, value in (identities or {}).items():
        if value:
            identity = LeadIdentity.objects.filter(kind=kind, value=str(value)).select_related("lead").first()
            if identity:
                return identity.lead
    return None


def lead_facts_apply(
    lead: Lead,
    *,
    fields: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    fill: Mapping[str, Any] | None = None,
    overwrite: bool = True,
    now: datetime | None = None,
) -> set[str]:
    """The one rule for what a source says about a lead, used by every upsert path (event ingest, CSV import,
    forms and `lead_upsert`, merges): blank values never erase known facts; with `overwrite` the new value wins,
    without it the known one does; `fill` values (e.g. UTM defaults) only fill blanks; the e-mail is identity,
    never a field here. Changes the lead in memory and returns the names that changed; the caller saves.

    When something changed it also notes in `attribute_seen_at` when each field or custom attribute first got a
    value (`now`, default the current time; the caller saves `attribute_seen_at` with the returned names), so a
    rule on an attribute written only after hand-off can be refused (`leads.attribute_timing`)."""
    changed: set[str] = set()
    for name, value in (fields or {}).items():
        known = getattr(lead, name, None) if name in EDITABLE_FIELDS else None
        if name not in EDITABLE_FIELDS or value in (None, "") or (not overwrite and known not in (None, "")):
            continue
        if known != value:
            setattr(lead, name, value)
            changed.add(name)
    for name, value in (fill or {}).items():
        if name in EDITABLE_FIELDS and value not in (None, "") and getattr(lead, name) in (None, ""):
            setattr(lead, name, value)
            changed.add(name)
    if custom:
        attributes = dict(lead.attributes or {})
        for name, value in custom.items():
            if value not in (None, "") and (overwrite or name not in attributes):
                attributes[name] = value
        if attributes != (lead.attributes or {}):
            lead.attributes = attributes
            changed.add("attributes")
    if changed:
        _note_first_seen(lead, now or timezone.now())
    return changed


def _note_first_seen(lead: Lead, now: datetime) -> bool:
    """Note `now` for each field or attribute that has a value and none noted yet; True when something was noted."""
    if "attribute_seen_at" in lead.get_deferred_fields():
        return False  # loaded without it (`only()`): nothing to compare with, and nothing to save
    seen = dict(lead.attribute_seen_at or {})
    stamp = now.isoformat()
    present = [name for name in EDITABLE_FIELDS if getattr(lead, name, None) not in (None, "")]
    present += [name for name, value in (lead.attributes or {}).items() if value not in (None, "")]
    for name in present:
        seen.setdefault(name, stamp)
    if seen == (lead.attribute_seen_at or {}):
        return False
    lead.attribute_seen_at = seen
    return True


def lead_upsert(*, data: LeadData, now: datetime, overwrite: bool = True) -> tuple[Lead, bool]:
    """Create the lead or update the one its e-mail or ids name. Returns (lead, created).

    Blank values never erase known facts; with `overwrite` False, known facts also win over new ones.
    Safe under concurrency: a lost race on the unique e-mail or identity retries as an update.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _upsert(data, now, overwrite)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _upsert(data: LeadData, now: datetime, overwrite: bool) -> tuple[Lead, bool]:
    email = normalise_email(data.email)
    lead = lead_find(email=email, identities=data.identities)
    created = lead is None
    if lead is None:
        lead = Lead(email=email, created_at=now, updated_at=now)
    elif email and not lead.email:
        lead.email = email
    lead_facts_apply(lead, fields=data.fields, custom=data.custom, overwrite=overwrite, now=now)
    lead.updated_at = now
    lead.full_clean(exclude=["scored_with", "owner"], validate_unique=False, validate_constraints=False)
    lead.save()
    for kind, value in (data.identities or {}).items():
        if value:
            LeadIdentity.objects.get_or_create(
                kind=kind, value=str(value), defaults={"lead": lead, "created_at": now}
            )
    return lead, created


@dataclass(frozen=True)
class ActivityData:
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any]
    message_id: str | None = None
    source: str = ""


def activities_record(*, lead: Lead, activities: Iterable[ActivityData], now: datetime) -> int:
    """Store activities once each: a message id already seen is skipped. Returns how many were new."""
    rows = [
        Activity(
            lead=lead,
            type=item.type,
            properties=dict(item.properties),
            occurred_at=item.occurred_at,
            received_at=now,
            source=item.source,
            message_id=item.message_id or None,
        )
        for item in activities
    ]
    if not rows:
        return 0
    return len(activities_insert(rows))


# A lead's life as the lifecycle sees it: what moves with the sales side of a merge (leads.lifecycle.rules.merge_life)
LIFE_FIELDS = (
    "state", "tier", "mql_at", "handoff_reason", "owner", "claim_due_at", "first_contact_due_at", "accept_due_at",
    "outcome_due_at", "claimed_at", "first_contact_at", "decided_at", "outcome_at", "status_update_due_at",
    "paused_at", "sla_clock", "sla_due_at", "next_sla_check_at",
)  # fmt: skip


@transaction.atomic
def lead_merge(*, keep: Lead, merge: Lead, now: datetime, reason: str) -> Lead:
    """Two records are one person (e.g. anonymous visits once identify links them): every row about `merge`
    moves to `keep`, then `merge` is deleted.

    leads' own rows move here: activities, ids, events, data problems, import links, SLA breaches and warnings (a
    breach or warning `keep` already has for the same clock and deadline is a duplicate and goes), and the
    hand-overs (leads.lifecycle.hand_overs.hand_overs_move: numbered after `keep`'s, one open at most). Other apps
    move theirs in their `lead_merging` receiver (feedback: cycles and contact attempts). If `merge` is with
    sales and `keep` is not, `keep` takes over its life (state, owner, clocks) with its open hand-over. Refused,
    with nothing written, if any row would still be deleted with `merge`.
    """
    if keep.pk == merge.pk:
        return keep
    Activity.objects.filter(lead=merge).update(lead=keep)
    ScoringState.objects.filter(
        lead=keep
    ).delete()  # older activities joined: the next scoring reads them all
    LeadIdentity.objects.filter(lead=merge).update(lead=keep)
    LeadEvent.objects.filter(lead=merge).update(lead=keep)
    DataProblem.objects.filter(lead=merge).update(lead=keep)
    _move_unique(ImportedLead, keep=keep, merge=merge, key=("job_id",))
    _move_unique(SlaBreach, keep=keep, merge=merge, key=("clock", "deadline"))
    _move_unique(SlaWarning, keep=keep, merge=merge, key=("clock", "deadline"))
    hand_overs_move(keep_id=keep.pk, merge_id=merge.pk, at=now)
    if life.merge_takes_life(keep=keep.state, merge=merge.state):
        LeadEvent.objects.create(
            lead=keep, at=now, kind=LeadEvent.Kind.STATE, from_value=keep.state, to_value=merge.state,
            actor_label="ingest", reason=f"merged with lead {merge.pk}, which was with sales",
        )  # fmt: skip
        for name in LIFE_FIELDS:
            setattr(keep, name, getattr(merge, name))
    lead_merging.send(sender=Lead, keep_id=keep.pk, merge_id=merge.pk, at=now)
    left = rows_about(merge)
    if left:
        raise LeadError(
            f"Lead {merge.pk} was not merged: its {', '.join(left)} would be deleted with it (no app moved them)."
        )
    # the kept lead's facts win; the merged lead's fill its blanks
    merged_fields = {name: getattr(merge, name) for name in EDITABLE_FIELDS}
    lead_facts_apply(keep, fields=merged_fields, custom=merge.attributes, overwrite=False, now=now)
    # a fact the merged lead had first was first seen when it had it
    seen = dict(keep.attribute_seen_at or {})
    for name, stamp in (merge.attribute_seen_at or {}).items():
        if name in seen and datetime.fromisoformat(stamp) < datetime.fromisoformat(seen[name]):
            seen[name] = stamp
    keep.attribute_seen_at = seen
    keep.updated_at = now
    keep.save()
    LeadEvent.objects.create(
        lead=keep, at=now, kind=LeadEvent.Kind.MERGE, from_value=str(merge.pk), to_value=str(keep.pk),
        actor_label="ingest", reason=reason,
    )  # fmt: skip
    merge.delete()
    return keep


def _move_unique(model: type[Any], *, keep: Lead, merge: Lead, key: tuple[str, ...]) -> None:
    """Move `merge`'s rows of a model unique per (lead, *key) to `keep`; a row `keep` already has is a duplicate."""
    kept = set(model.objects.filter(lead=keep).values_list(*key))
    duplicates = []
    for row in model.objects.filter(lead=merge).values_list("pk", *key):
        (duplicates if tuple(row[1:]) in kept else []).append(row[0])
    model.objects.filter(pk__in=duplicates).delete()
    model.objects.filter(lead=merge).update(lead=keep)


def rows_about(lead: Lead) -> list[str]:
    """The kinds of rows, in every installed app, that still point at `lead` (and would go with it on delete)."""
    left = []
    for relation in Lead._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one):
            continue
        manager = relation.related_model._base_manager
        if manager.filter(**{relation.field.name: lead.pk}).exists():
            left.append(str(relation.related_model._meta.verbose_name_plural))
    return left


def rescore_job_start(*, version: AgreementVersion, reason: str, now: datetime) -> RescoreJob:
    total = Lead.objects.open().in_segment_of(version).count()
    job = RescoreJob.objects.create(
        agreement=version, reason=reason, total=total, created_at=now, heartbeat_at=now
    )
    rescore_job_queued.send(sender=Lead, job_id=job.pk)
    return job


def rescore_job_run(*, job_id: int, now_func: Any) -> RescoreJob:
    """Rescore every open lead in chunks after the job's cursor, resuming where an earlier run stopped.

    Each chunk is one transaction holding the job's row: the leads' new scores, the cursor, the progress and
    the heartbeat commit together, so a run killed at any point redoes nothing and counts nothing twice, and
    two deliveries of the same task take turns instead of doubling the work (leads.jobs explains the lease).
    """
    if not jobs.job_lease(jobs.RESCORE, job_id=job_id, now=now_func()):
        return RescoreJob.objects.get(pk=job_id)
    job = RescoreJob.objects.select_related("agreement").get(pk=job_id)
    if job.is_segment_change:  # leads.segments.job: moves the leads a segment change moves

        def chunk(now: datetime) -> bool:
            return segment_job_chunk(job_id, now)
    else:
        rules = Rules.of(job.agreement)

        def chunk(now: datetime) -> bool:
            return _rescore_chunk(job_id, rules, now)

    try:
        while chunk(now_func()):
            pass
    except Exception as error:
        log.exception("Rescore job %s stopped", job_id)
        jobs.job_stopped(jobs.RESCORE, job_id=job_id, error=error, now=now_func())
        return RescoreJob.objects.get(pk=job_id)
    jobs.job_finish(jobs.RESCORE, job_id=job_id, now=now_func())
    return RescoreJob.objects.get(pk=job_id)


def _rescore_chunk(job_id: int, rules: Rules, now: datetime) -> bool:
    """One chunk after the cursor; False when there is none left (or the job is no longer this run's)."""
    with transaction.atomic():
        job = RescoreJob.objects.select_for_update().only("status", "cursor").get(pk=job_id)
        if job.status != RescoreJob.Status.RUNNING:
            return False
        chunk = leads_rescore_chunk(
            leads=Lead.objects.exclude(state__in=CLOSED_STATES).in_segment_of(rules.version),
            rules=rules, now=now, after=job.cursor,
            size=RESCORE_CHUNK, reason="agreement activated",
        )  # fmt: skip
        if chunk.last_pk is None:
            return False
        RescoreJob.objects.filter(pk=job_id).update(
            cursor=chunk.last_pk, done=F("done") + chunk.scored, changed=F("changed") + chunk.result.changed,
            heartbeat_at=now,
        )  # fmt: skip
    return True


def leads_rescore_aged(*, now: datetime, limit: int = 100_000) -> int:
    """Rescore only the leads whose score changes with time by now (an activity aged out, a window crossed)."""
    rules = active_rules()
    if rules is None:
        return 0
    done = 0
    while done < limit:
        ids = list(
            Lead.objects.due_for_rescore(now=now).order_by("pk").values_list("pk", flat=True)[:RESCORE_CHUNK]
        )
        if not ids:
            break
        leads_rescore(lead_ids=ids, now=now, rules=rules, reason="ageing")
        done += len(ids)
    return done
