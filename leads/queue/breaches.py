"""The SLA breach scan: find running clocks past their deadline, record each breach once, escalate per the terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from leads.exceptions import NoRepAvailable
from leads.lifecycle import rules as life
from leads.models import Lead, SlaBreach
from leads.queue.assignment import lead_assign_round_robin, owner_change_record
from leads.queue.clocks import clock_state, running_clocks, stamp_clocks
from leads.rules import active_rules
from leads.signals import sla_breaches_found

SCAN_BATCH = 500


@dataclass
class ScanResult:
    breaches: list[int]
    checked: int


def sla_breaches_scan(*, now: datetime, batch: int = SCAN_BATCH) -> ScanResult:
    """Find running clocks past their deadline, record each breach once, notify, and escalate per the terms.

    Reads only leads whose `next_sla_check_at` has passed (an indexed range). Rows are locked with SKIP LOCKED,
    and the (lead, clock, deadline) unique constraint makes a second scanner's insert a no-op, so two beat
    processes never handle one breach twice.
    """
    rules = active_rules()
    terms = rules.terms if rules else None
    found: list[int] = []
    checked = 0
    while True:
        with transaction.atomic():
            leads = list(
                Lead.objects.select_for_update(skip_locked=True)
                .filter(next_sla_check_at__lte=now)
                .order_by("next_sla_check_at", "pk")[:batch]
            )
            if not leads:
                break
            flagged: dict[int, set[tuple[str, datetime]]] = {lead.pk: set() for lead in leads}
            batch_found: list[int] = []
            for lead_id, clock, deadline in SlaBreach.objects.filter(lead__in=leads).values_list(
                "lead_id", "clock", "deadline"
            ):
                flagged[lead_id].add((clock, deadline))
            for lead in leads:
                checked += 1
                for clock, due in running_clocks(clock_state(lead)):
                    if due > now or (clock, due) in flagged[lead.pk]:
                        continue
                    breach = _record_breach(lead, clock, due, now)
                    if breach:
                        found.append(breach.pk)
                        batch_found.append(breach.pk)
                        _escalate(lead, breach, terms, now)
                    flagged[lead.pk].add((clock, due))
                fields = stamp_clocks(lead, flagged=flagged[lead.pk])
                if lead.next_sla_check_at and lead.next_sla_check_at <= now:
                    lead.next_sla_check_at = None  # defensive: never loop on one lead
            Lead.objects.bulk_update(leads, fields)
            if batch_found:
                sla_breaches_found.send(
                    sender=Lead, breach_ids=batch_found, notify_manager=bool(terms and terms.notify_manager)
                )
        if len(leads) < batch:
            break
    return ScanResult(breaches=found, checked=checked)


def _record_breach(lead: Lead, clock: str, due: datetime, now: datetime) -> SlaBreach | None:
    try:
        with transaction.atomic():
            return SlaBreach.objects.create(
                lead=lead,
                clock=clock,
                deadline=due,
                detected_at=now,
                late_seconds=int((now - due).total_seconds()),
                owner_id=lead.owner_id,
            )
    except IntegrityError:
        return None  # another scanner recorded it first


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
