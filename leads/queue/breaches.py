"""The SLA breach scan: find running clocks past their deadline, record each breach once, escalate per the terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from alignment.copywrite import copy_applies, rows_insert_new, rows_update
from alignment.roles import Role
from leads.audience import Audience
from leads.exceptions import NoRepAvailable
from leads.lifecycle import rules as life
from leads.models import Lead, SlaBreach, SlaWarning
from leads.queue.assignment import lead_assign_round_robin, owner_change_record
from leads.queue.clocks import ClockState, clock_state, running_clocks, stamp_clocks
from leads.rules import RulesInForce
from leads.signals import sla_breaches_found, sla_escalated, sla_warnings_found
from sla.calendar import due_at
from sla.terms import EscalationAction, ServiceTerms

SCAN_BATCH = 500
#: What the scan and the ladder read of a lead: its clocks and their summary, whose it is, which agreement it
#: follows. Not the whole row: its scores, attributes and other timestamps were most of the time spent reading.
LEAD_READS = ("id", "state", "segment", "owner", *ClockState.__dataclass_fields__, "sla_clock", "sla_due_at",
              "next_sla_check_at")  # fmt: skip


@dataclass
class ScanResult:
    breaches: list[int]
    checked: int
    warnings: list[int] = field(default_factory=list)
    steps: list[tuple[int, int]] = field(default_factory=list)  # (breach id, step number) fired


def sla_breaches_scan(*, now: datetime, batch: int = SCAN_BATCH) -> ScanResult:
    """Warn of deadlines about to pass, record each breach once (escalating per `on_breach`), then fire the
    escalation ladder's steps that fell due. Announces each through leads.signals; delivery is not done here.

    Reads only leads whose `next_sla_check_at` (the earliest unflagged deadline) falls within the warning window
    (an indexed range). Rows are locked with SKIP LOCKED, and the (lead, clock, deadline) unique constraints make
    a second scanner's insert a no-op, so two beat processes never handle one breach or warning twice.
    """
    in_force = RulesInForce.load()
    windows = _WarnWindows(now)
    warn_minutes = max((rules.terms.warn_before_minutes for rules in in_force.all()), default=0)
    horizon = now + timedelta(minutes=warn_minutes)
    result = ScanResult(breaches=[], checked=0)
    seen: set[int] = set()
    while True:
        with transaction.atomic():
            leads = list(
                Lead.objects.select_for_update(skip_locked=True)
                .only(*LEAD_READS)
                .filter(next_sla_check_at__lte=horizon)
                .exclude(pk__in=sorted(seen))
                .order_by("next_sla_check_at", "pk")[:batch]
            )
            if not leads:
                break
            seen.update(lead.pk for lead in leads)
            flagged: dict[int, set[tuple[str, datetime]]] = {lead.pk: set() for lead in leads}
            warned: dict[int, set[tuple[str, datetime]]] = {lead.pk: set() for lead in leads}
            batch_found: list[tuple[int, int]] = []  # (breach id, lead id)
            batch_warned: list[tuple[int, str, datetime]] = []
            for lead_id, clock, deadline in SlaBreach.objects.filter(lead_id__in=list(flagged)).values_list(
                "lead_id", "clock", "deadline"
            ):
                flagged[lead_id].add((clock, deadline))
            if warn_minutes:
                for lead_id, clock, deadline in SlaWarning.objects.filter(
                    lead_id__in=list(warned)
                ).values_list("lead_id", "clock", "deadline"):
                    warned[lead_id].add((clock, deadline))
            wanted_warnings: list[SlaWarning] = []
            wanted_breaches: list[SlaBreach] = []
            terms_of: dict[int, ServiceTerms | None] = {}  # each lead follows its own segment's agreement
            for lead in leads:
                rules = in_force.of(lead.segment_id)
                terms_of[lead.pk] = terms = rules.terms if rules else None
                warn_until = windows.until(terms)
                result.checked += 1
                for clock, due in running_clocks(clock_state(lead)):
                    if (clock, due) in flagged[lead.pk]:
                        continue
                    if due > now:
                        if (
                            warn_until is not None
                            and due <= warn_until
                            and (clock, due) not in warned[lead.pk]
                        ):
                            wanted_warnings.append(
                                SlaWarning(lead=lead, clock=clock, deadline=due, warned_at=now)
                            )
                            warned[lead.pk].add((clock, due))
                        continue
                    wanted_breaches.append(_breach(lead, clock, due, now, terms))
                    flagged[lead.pk].add((clock, due))
            for warning in _insert_new(SlaWarning, wanted_warnings, stamp="warned_at", now=now):
                result.warnings.append(warning.pk)
                batch_warned.append((warning.lead_id, warning.clock, warning.deadline))
            by_pk = {lead.pk: lead for lead in leads}
            for breach in _insert_new(SlaBreach, wanted_breaches, stamp="detected_at", now=now):
                result.breaches.append(breach.pk)
                batch_found.append((breach.pk, breach.lead_id))
                _escalate(by_pk[breach.lead_id], breach, terms_of[breach.lead_id], now)
            fields: list[str] = []
            for lead in leads:
                fields = stamp_clocks(lead, flagged=flagged[lead.pk])
                if lead.next_sla_check_at and lead.next_sla_check_at <= now:
                    lead.next_sla_check_at = None  # defensive: never loop on one lead
            rows_update(Lead, leads, fields)
            if batch_warned:
                sla_warnings_found.send(sender=Lead, warnings=batch_warned)
            for notify_manager in (False, True):  # the managers are told per the breached lead's own terms
                ids = [
                    pk
                    for pk, lead_id in batch_found
                    if bool(terms_of[lead_id] and terms_of[lead_id].notify_manager) == notify_manager
                ]
                if ids:
                    sla_breaches_found.send(sender=Lead, breach_ids=ids, notify_manager=notify_manager)
        if len(leads) < batch:
            break
    if any(rules.terms.escalation for rules in in_force.all()):
        result.steps = sla_ladder_run(now=now, in_force=in_force, batch=batch)
    return result


class _WarnWindows:
    """Deadlines up to `until(terms)` are inside that agreement's warning window (its business minutes, in its
    own calendar, as its clocks count): one calendar computation per agreement in force per scan, not one per
    clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._until: dict[int, datetime | None] = {}

    def until(self, terms: ServiceTerms | None) -> datetime | None:
        if not terms or not terms.warn_before_minutes:
            return None
        key = id(terms)
        if key not in self._until:
            self._until[key] = due_at(
                start=self.now, business_minutes=terms.warn_before_minutes, calendar=terms.calendar
            )
        return self._until[key]


def _insert_new(model: Any, rows: list[Any], *, stamp: str, now: datetime) -> list[Any]:
    """Insert the batch's breaches (or warnings) in one statement (on PostgreSQL a large batch is COPied first);
    the (lead, clock, deadline) unique constraint makes a row another scanner recorded first a no-op. Returns the rows this scan wrote, with their ids, in
    the order given."""
    if not rows:
        return []
    if copy_applies(len(rows)):  # PostgreSQL, a large batch: COPY, not a statement of thousands of values
        fields = [f.name for f in model._meta.concrete_fields if not f.primary_key]
        written = model.objects.filter(pk__in=rows_insert_new(model, rows, fields))
    else:
        model.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        written = model.objects.filter(lead_id__in=sorted({row.lead_id for row in rows}), **{stamp: now})
    wanted = {(row.lead_id, row.clock, row.deadline): index for index, row in enumerate(rows)}
    found: list[tuple[int, Any]] = []
    for pk, lead_id, clock, deadline in written.values_list("pk", "lead_id", "clock", "deadline"):
        index = wanted.get((lead_id, clock, deadline))
        if index is not None:
            rows[index].pk = pk
            rows[index]._state.adding = False
            found.append((index, rows[index]))
    return [row for _, row in sorted(found, key=lambda pair: pair[0])]


def sla_ladder_run(
    *, now: datetime, in_force: RulesInForce | None = None, batch: int = SCAN_BATCH
) -> list[tuple[int, int]]:
    """Fire the escalation steps that fell due, in order, once each; a ladder stops when its clock stopped.
    Each breach climbs the ladder of its lead's own segment's agreement in force.

    A breach's ladder is live while the lead still runs the breached clock with the same deadline (the work
    was not done); the step counter and next due time live on the breach, updated in the step's transaction.
    """
    fired: list[tuple[int, int]] = []
    in_force = in_force or RulesInForce.load()
    while True:
        with transaction.atomic():
            breaches = list(
                SlaBreach.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(next_step_at__lte=now)
                .select_related("lead", "lead__owner")
                .defer(*(f"lead__{f.name}" for f in Lead._meta.concrete_fields if f.name not in LEAD_READS))
                .order_by("next_step_at", "pk")[:batch]
            )
            steps: list[dict[str, Any]] = []
            heads = _Heads()  # the admins by segment team, read once per batch if a step needs them
            for breach in breaches:
                lead = breach.lead
                rules = in_force.of(lead.segment_id)
                ladder = rules.terms.escalation if rules else ()
                delays = [step.after_minutes for step in ladder]
                live = (breach.clock, breach.deadline) in set(running_clocks(clock_state(lead)))
                live = live and breach.steps_fired < len(ladder)  # a ladder shortened since: nothing left
                while live and breach.next_step_at and breach.next_step_at <= now:
                    step_number = breach.steps_fired + 1
                    step = ladder[breach.steps_fired]
                    recipients = _step_fire(lead, breach, step.action, now, heads)
                    steps.append({"lead_id": lead.pk, "clock_name": breach.clock, "step": step_number,
                                  "recipient_ids": recipients, "at": now})  # fmt: skip
                    fired.append((breach.pk, step_number))
                    breach.steps_fired = step_number
                    breach.next_step_at = life.ladder_due(breach.detected_at, delays, fired=step_number)
                    live = (breach.clock, breach.deadline) in set(running_clocks(clock_state(lead)))
                    live = live and breach.steps_fired < len(ladder)
                if not live:
                    breach.next_step_at = None
            rows_update(SlaBreach, breaches, ["steps_fired", "next_step_at", "action", "new_owner"])
            if steps:
                sla_escalated.send(sender=Lead, steps=steps)
        if len(breaches) < batch:
            break
    return fired


class _Heads:
    def __init__(self) -> None:
        self._audience: Audience | None = None

    def of(self, segment_id: int | None) -> list[int]:
        if self._audience is None:
            self._audience = Audience.load(Role.ADMIN)
        return self._audience.ids_of(segment_id)


def _step_fire(
    lead: Lead, breach: SlaBreach, action: EscalationAction, now: datetime, heads: _Heads
) -> list[int]:
    """Do one ladder step; returns who is to be told (the outbox turns that into notifications)."""
    if action == EscalationAction.NOTIFY_OWNER:
        return [lead.owner_id] if lead.owner_id else []
    if action == EscalationAction.REASSIGN:
        if breach.clock not in ("claim", "first_contact", "accept", "status_update"):
            return []
        try:
            updated = lead_assign_round_robin(
                lead_id=lead.pk, now=now, exclude=lead.owner,
                reason=f"{breach.get_clock_display()} deadline missed (escalation)",
            )  # fmt: skip
        except NoRepAvailable:
            return []
        lead.refresh_from_db()
        breach.action, breach.new_owner = SlaBreach.Action.REASSIGNED, updated.owner
        return [updated.owner_id]
    # the manager's manager: above the sales managers sits the admin role (the head of the revenue team); the
    # lead's segment team's admins, else every admin (leads.audience)
    return heads.of(lead.segment_id)


def _breach(lead: Lead, clock: str, due: datetime, now: datetime, terms: Any) -> SlaBreach:
    delays = [step.after_minutes for step in terms.escalation] if terms else []
    return SlaBreach(
        lead=lead,
        clock=clock,
        deadline=due,
        detected_at=now,
        late_seconds=int((now - due).total_seconds()),
        owner_id=lead.owner_id,
        next_step_at=life.ladder_due(now, delays, fired=0),
    )


def _escalate(lead: Lead, breach: SlaBreach, terms: Any, now: datetime) -> None:
    action = str(terms.on_breach) if terms else "none"
    if (
        lead.owner_id
        and breach.clock in ("first_contact", "accept")
        and action == "return_to_queue"
        and life.allowed(life.Action.RETURN_TO_QUEUE, lead.state)
    ):
        before = lead.owner
        Lead.objects.filter(pk=lead.pk).update(owner=None, updated_at=now)
        lead.owner = None
        owner_change_record(
            lead, before, None, actor="sla", now=now, reason=f"{breach.get_clock_display()} deadline missed"
        )
        breach.action = SlaBreach.Action.RETURNED
    elif action == "reassign" and breach.clock in ("claim", "first_contact", "accept"):
        try:
            updated = lead_assign_round_robin(
                lead_id=lead.pk,
                now=now,
                exclude=lead.owner,
                reason=f"{breach.get_clock_display()} deadline missed",
            )
        except NoRepAvailable:
            pass
        else:
            # lead_assign saved the new owner and stopped the claim clock on its own copy of the row: carry both
            # over, or the restamp below (and the bulk write of the clock summary) would bring back the stale,
            # overdue claim clock
            lead.owner, lead.claimed_at, lead.updated_at = (
                updated.owner,
                updated.claimed_at,
                updated.updated_at,
            )
            breach.action, breach.new_owner = SlaBreach.Action.REASSIGNED, updated.owner
    if breach.action != SlaBreach.Action.NONE:
        breach.save(update_fields=["action", "new_owner"])
