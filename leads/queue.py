"""The shared queue's writes: claim, release, assign, round-robin, and the SLA breach scan with escalation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q

from alignment.audit import audit_record
from alignment.roles import Role
from leads.clocks import clock_state, running_clocks, stamp_clocks
from leads.exceptions import LeadAlreadyClaimed, LeadError, NoRepAvailable
from leads.models import Lead, LeadEvent, RepProfile, SlaBreach, State
from leads.scoring import active_rules
from leads.signals import lead_owner_set
from leads.tasks import notify_breaches

SCAN_BATCH = 500
OPEN_FOR_CAPACITY = (State.MQL, State.SAL, State.SQL)


def _owner_event(lead: Lead, before: Any, after: Any, *, actor: Any, now: datetime, reason: str) -> None:
    if after is not None:
        lead_owner_set.send(sender=Lead, lead_id=lead.pk, owner_id=after.pk, at=now)
    LeadEvent.objects.create(
        lead=lead,
        at=now,
        kind=LeadEvent.Kind.OWNER,
        from_value=before.get_username() if before else "",
        to_value=after.get_username() if after else "",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor.get_username() if getattr(actor, "is_authenticated", False) else str(actor),
        reason=reason,
    )


def _stamp(lead: Lead) -> list[str]:
    flagged = set(SlaBreach.objects.filter(lead=lead).values_list("clock", "deadline"))
    return stamp_clocks(lead, flagged=flagged)


@transaction.atomic
def lead_claim(*, lead_id: int, rep: Any, now: datetime) -> Lead:
    """Take an unclaimed MQL. Of two reps claiming at once exactly one wins; the other learns who has it."""
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead_id)
    if lead.owner_id:
        raise LeadAlreadyClaimed(lead, lead.owner)
    if lead.state != State.MQL:
        raise LeadError(
            f"Only an MQL waiting in the queue can be claimed; this lead is {lead.get_state_display()}."
        )
    lead.owner, lead.claimed_at, lead.updated_at = rep, lead.claimed_at or now, now
    lead.save(update_fields=["owner", "claimed_at", "updated_at", *_stamp(lead)])
    _owner_event(lead, None, rep, actor=rep, now=now, reason="claimed")
    RepProfile.objects.update_or_create(user=rep, defaults={"last_assigned_at": now})
    return lead


@transaction.atomic
def lead_release(*, lead_id: int, user: Any, now: datetime, reason: str = "") -> Lead:
    """Give a lead back to the shared queue (its owner, or a sales manager). The claim clock stays stopped."""
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead_id)
    if lead.owner_id is None:
        raise LeadError("This lead is not assigned to anyone.")
    if lead.owner_id != user.pk and not user.groups.filter(name=Role.SALES_MANAGER.value).exists():
        raise LeadError("Only the lead's owner or a sales manager can release it.")
    before = lead.owner
    lead.owner, lead.updated_at = None, now
    lead.save(update_fields=["owner", "updated_at"])
    _owner_event(lead, before, None, actor=user, now=now, reason=reason or "released to the shared queue")
    return lead


@transaction.atomic
def lead_assign(*, lead_id: int, rep: Any, by: Any, now: datetime, reason: str = "") -> Lead:
    """A sales manager gives a lead to a rep (or moves it to another)."""
    if not rep.groups.filter(name=Role.REP.value).exists() or not rep.is_active:
        raise LeadError(f"{rep.get_full_name() or rep.get_username()} is not an active rep.")
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead_id)
    if lead.state not in OPEN_FOR_CAPACITY:
        raise LeadError(f"This lead is {lead.get_state_display()}; only leads handed to sales are assigned.")
    before = lead.owner
    if before and before.pk == rep.pk:
        return lead
    lead.owner, lead.claimed_at, lead.updated_at = rep, lead.claimed_at or now, now
    lead.save(update_fields=["owner", "claimed_at", "updated_at", *_stamp(lead)])
    _owner_event(
        lead, before, rep, actor=by, now=now, reason=reason or ("reassigned" if before else "assigned")
    )
    audit_record(
        actor=by, action="lead.assigned", target=lead, changes={"owner": (before, rep)}, reason=reason, at=now
    )
    return lead


def available_reps(*, exclude: Any = None) -> list[Any]:
    """Active reps who are not away and below their capacity, least recently assigned first."""
    User = get_user_model()
    reps = (
        User.objects.filter(is_active=True, groups__name=Role.REP.value)
        .exclude(rep_profile__is_away=True)
        .annotate(open_leads=Count("owned_leads", filter=Q(owned_leads__state__in=OPEN_FOR_CAPACITY)))
        .select_related("rep_profile")
        .order_by(F("rep_profile__last_assigned_at").asc(nulls_first=True), "pk")
    )
    if exclude is not None:
        reps = reps.exclude(pk=exclude.pk)
    return [
        rep for rep in reps if rep.open_leads < getattr(getattr(rep, "rep_profile", None), "capacity", 50)
    ]


def lead_assign_round_robin(
    *, lead_id: int, now: datetime, exclude: Any = None, reason: str = "round-robin"
) -> Lead:
    reps = available_reps(exclude=exclude)
    if not reps:
        raise NoRepAvailable("No rep is available: everyone is away or at capacity.")
    rep = reps[0]
    lead = lead_assign(lead_id=lead_id, rep=rep, by="round-robin", now=now, reason=reason)
    RepProfile.objects.update_or_create(user=rep, defaults={"last_assigned_at": now})
    return lead


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
                notify_breaches.delay_on_commit(batch_found, bool(terms and terms.notify_manager))
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
    if lead.owner_id and breach.clock in ("first_contact", "accept") and action == "return_to_queue":
        before = lead.owner
        Lead.objects.filter(pk=lead.pk).update(owner=None, updated_at=now)
        lead.owner = None
        _owner_event(
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
            lead.owner = updated.owner
            breach.action, breach.new_owner = SlaBreach.Action.REASSIGNED, updated.owner
    if breach.action != SlaBreach.Action.NONE:
        breach.save(update_fields=["action", "new_owner"])
