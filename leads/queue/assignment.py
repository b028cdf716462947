"""Who works a lead: claim, release, assign, round-robin. Every owner change is recorded and announced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alignment.audit import audit_record
from alignment.roles import Role
from leads.audience import Audience
from leads.exceptions import LeadAlreadyClaimed, LeadError, NoRepAvailable
from leads.lifecycle import rules as life
from leads.lifecycle.words import refusal_words
from leads.models import Lead, LeadEvent, RepProfile, SlaBreach, State
from leads.queue.availability import Availability, Turn, availability, level_count, next_turn
from leads.queue.clocks import stamp_clocks
from leads.queue.wording import availability_words
from leads.signals import lead_owner_set

OPEN_FOR_CAPACITY = tuple(state for state in State if state in life.WITH_SALES)


def owner_change_record(
    lead: Lead, before: Any, after: Any, *, actor: Any, now: datetime, reason: str
) -> None:
    if after is not None:
        actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        lead_owner_set.send(sender=Lead, lead_id=lead.pk, owner_id=after.pk, at=now, actor_id=actor_id)
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
        raise LeadError(refusal_words(error)) from error


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


@dataclass(frozen=True)
class RepStatus:
    """A rep as routing sees them: their profile (defaults if none yet), open leads and availability now."""

    user: Any
    profile: RepProfile
    open_leads: int
    availability: Availability

    @property
    def unavailable_because(self) -> str:
        """Why the rep cannot take a lead now, in the reader's language ("" when they can)."""
        return availability_words(self.availability)


def rep_statuses(*, now: datetime, exclude: Any = None) -> list[RepStatus]:
    """Every active rep with their availability now, by name (two queries whatever the number of reps)."""
    User = get_user_model()
    reps = (
        User.objects.filter(is_active=True, groups__name=Role.REP.value)
        .annotate(open_leads=Count("owned_leads", filter=Q(owned_leads__state__in=OPEN_FOR_CAPACITY)))
        .select_related("rep_profile")
        .order_by("first_name", "last_name", "username")
    )
    if exclude is not None:
        reps = reps.exclude(pk=exclude.pk)
    local_now = timezone.localtime(now).time()
    statuses = []
    for rep in reps:
        profile = getattr(rep, "rep_profile", None) or RepProfile(user=rep)
        statuses.append(
            RepStatus(
                user=rep,
                profile=profile,
                open_leads=rep.open_leads,
                availability=availability(
                    is_away=profile.is_away,
                    away_from=profile.away_from,
                    away_until=profile.away_until,
                    works_from=profile.works_from,
                    works_until=profile.works_until,
                    open_leads=rep.open_leads,
                    capacity=profile.capacity,
                    now=now,
                    local_now=local_now,
                ),  # fmt: skip
            )
        )
    return statuses


def available_reps(*, exclude: Any = None, now: datetime | None = None) -> list[Any]:
    """Active reps who can take a lead now (not away, within their hours, below capacity), next turn first."""
    statuses = [
        s for s in rep_statuses(now=now or timezone.now(), exclude=exclude) if s.availability.available
    ]
    ordered: list[Any] = []
    remaining = {status.user.pk: status for status in statuses}
    turns = {pk: _turn(status) for pk, status in remaining.items()}
    while turns:
        pk = next_turn(list(turns.values()))
        ordered.append(remaining[pk].user)
        del turns[pk]
    for user in ordered:
        user.open_leads = remaining[user.pk].open_leads
    return ordered


def _turn(status: RepStatus) -> Turn:
    profile = status.profile
    return Turn(
        key=status.user.pk,
        weight=profile.weight,
        assigned=profile.assigned_count,
        last_assigned_at=profile.last_assigned_at,
    )


def lead_assign_round_robin(
    *, lead_id: int, now: datetime, exclude: Any = None, reason: str = "round-robin"
) -> Lead:
    """Give the lead to the available rep whose turn it is (weighted round-robin; see availability.next_turn),
    among the reps of the lead's segment team (every rep when the segment's team has none: leads.audience)."""
    segment_id = Lead.objects.filter(pk=lead_id).values_list("segment_id", flat=True).first()
    team = set(Audience.load(Role.REP).ids_of(segment_id))
    reps = [rep for rep in available_reps(exclude=exclude, now=now) if rep.pk in team]
    if not reps:
        raise NoRepAvailable(_("No rep is available: everyone is away, off hours or at capacity."))
    rep = reps[0]
    lead = lead_assign(lead_id=lead_id, rep=rep, by="round-robin", now=now, reason=reason)
    profile, _created = RepProfile.objects.get_or_create(user=rep)
    RepProfile.objects.filter(pk=profile.pk).update(
        last_assigned_at=now, assigned_count=F("assigned_count") + 1
    )
    return lead


@transaction.atomic
def rep_profile_update(*, rep: Any, by: Any, now: datetime, **values: Any) -> RepProfile:
    """A sales manager sets a rep's availability, hours, capacity and weight. A rep who comes back from being
    away, or whose weight changes, starts level with the others (availability.level_count)."""
    profile, _created = RepProfile.objects.select_for_update().get_or_create(user=rep)
    before = {name: getattr(profile, name) for name in values}
    for name, value in values.items():
        setattr(profile, name, value)
    back = before.get("is_away") and not profile.is_away
    if back or ("weight" in values and before["weight"] != profile.weight):
        others = [
            _turn(status) for status in rep_statuses(now=now, exclude=rep) if status.availability.available
        ]
        profile.assigned_count = max(
            profile.assigned_count, level_count(weight=profile.weight, others=others)
        )
    profile.full_clean()
    profile.save()
    changes = {
        name: (before[name], getattr(profile, name)) for name in values if before[name] != values[name]
    }
    if changes:
        audit_record(actor=by, action="rep.routing_changed", target=profile, changes=changes, at=now)
    return profile
