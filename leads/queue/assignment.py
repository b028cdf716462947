"""Who works a lead: claim, release, assign, round-robin. Every owner change is recorded and announced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils.translation import gettext as _

from alignment.audit import audit_record
from alignment.roles import Role
from leads.exceptions import LeadAlreadyClaimed, LeadError, NoRepAvailable
from leads.lifecycle import rules as life
from leads.models import Lead, LeadEvent, RepProfile, SlaBreach, State
from leads.queue.clocks import stamp_clocks
from leads.signals import lead_owner_set

OPEN_FOR_CAPACITY = tuple(state for state in State if state in life.WITH_SALES)


def owner_change_record(
    lead: Lead, before: Any, after: Any, *, actor: Any, now: datetime, reason: str
) -> None:
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


def _allowed(action: life.Action, lead: Lead) -> life.Move:
    try:
        return life.move(action, lead.state)
    except life.NotAllowed as error:
        raise LeadError(str(error)) from error


def _stamp(lead: Lead) -> list[str]:
    flagged = set(SlaBreach.objects.filter(lead=lead).values_list("clock", "deadline"))
    return stamp_clocks(lead, flagged=flagged)


@transaction.atomic
def lead_claim(*, lead_id: int, rep: Any, now: datetime) -> Lead:
    """Take an unclaimed MQL. Of two reps claiming at once exactly one wins; the other learns who has it."""
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead_id)
    if lead.owner_id:
        raise LeadAlreadyClaimed(lead, lead.owner)
    _allowed(life.Action.CLAIM, lead)
    lead.owner, lead.claimed_at, lead.updated_at = rep, lead.claimed_at or now, now
    lead.save(update_fields=["owner", "claimed_at", "updated_at", *_stamp(lead)])
    owner_change_record(lead, None, rep, actor=rep, now=now, reason="claimed")
    RepProfile.objects.update_or_create(user=rep, defaults={"last_assigned_at": now})
    return lead


@transaction.atomic
def lead_release(*, lead_id: int, user: Any, now: datetime, reason: str = "") -> Lead:
    """Give a lead back to the shared queue (its owner, or a sales manager). The claim clock stays stopped."""
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead_id)
    if lead.owner_id is None:
        raise LeadError(_("This lead is not assigned to anyone."))
    if lead.owner_id != user.pk and not user.groups.filter(name=Role.SALES_MANAGER.value).exists():
        raise LeadError(_("Only the lead's owner or a sales manager can release it."))
    before = lead.owner
    lead.owner, lead.updated_at = None, now
    lead.save(update_fields=["owner", "updated_at"])
    owner_change_record(
        lead, before, None, actor=user, now=now, reason=reason or "released to the shared queue"
    )
    return lead


@transaction.atomic
def lead_assign(*, lead_id: int, rep: Any, by: Any, now: datetime, reason: str = "") -> Lead:
    """A sales manager gives a lead to a rep (or moves it to another)."""
    if not rep.groups.filter(name=Role.REP.value).exists() or not rep.is_active:
        raise LeadError(
            _("%(rep)s is not an active rep.") % {"rep": rep.get_full_name() or rep.get_username()}
        )
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead_id)
    _allowed(life.Action.ASSIGN, lead)
    before = lead.owner
    if before and before.pk == rep.pk:
        return lead
    lead.owner, lead.claimed_at, lead.updated_at = rep, lead.claimed_at or now, now
    lead.save(update_fields=["owner", "claimed_at", "updated_at", *_stamp(lead)])
    owner_change_record(
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
