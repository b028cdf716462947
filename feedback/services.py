"""What reps record: contact attempts, accept/reject, qualification, opportunity and result. Each one
transactional, checked against the lead's state (no step skipped), and written to the audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from alignment.audit import audit_record
from alignment.copywrite import rows_insert
from alignment.roles import Role, user_roles
from feedback.exceptions import OutcomeRefused
from feedback.models import ContactAttempt, Cycle, CycleRule, Decision, Reason, Snapshot
from leads.exceptions import LeadError
from leads.lifecycle import rules as life
from leads.lifecycle.hand_overs import hand_over_ensure
from leads.lifecycle.services import lead_progress, lead_status_updated
from leads.lifecycle.words import refusal_words, reject_refusal_words
from leads.models import HANDED_OVER_STATES, HandOver, Lead
from sla.agreement import Agreement
from sla.calendar import business_minutes_between
from sla.criteria import SqlCriteria, sql_check
from sla.models import AgreementVersion, Segment
from sla.services import in_user_segments, segment_scope


def cycles_open(*, hand_over_ids: Iterable[int], at: datetime) -> list[Cycle]:
    """Open the cycle of each hand-over that has none (leads.HandOver: the lead's score, breakdown, agreement
    version and SLA deadlines as sales received them), with the rules and triggers that had fired (for the
    review's lifts) and the lead's owner and claim so far. Idempotent: a hand-over keeps its one cycle. A
    hand-over that has ended (the lead left sales before its cycle was opened) gets a closed cycle."""
    hand_over_ids = list(hand_over_ids)
    lead_ids = HandOver.objects.filter(pk__in=hand_over_ids).values("lead_id")
    # the leads locked in primary-key order, as every lead write does: a rep's first action (`_cycle`) waits
    list(Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk").values_list("pk", flat=True))
    hand_overs = list(
        HandOver.objects.filter(pk__in=hand_over_ids, cycle__isnull=True)
        .select_related("lead")
        .order_by("pk")
    )
    if not hand_overs:
        return []
    open_ids = [h.lead_id for h in hand_overs if h.ended_at is None]
    # a stale open cycle (of an earlier hand-over) closes
    Cycle.objects.filter(lead_id__in=open_ids, closed_at__isnull=True).update(closed_at=at)
    cycles = rows_insert(Cycle, [cycle_from_hand_over(hand_over) for hand_over in hand_overs])
    CycleRule.objects.bulk_create(
        [rule for cycle in cycles for rule in fired_rules(cycle)], ignore_conflicts=True
    )
    return cycles


def cycle_from_hand_over(hand_over: HandOver) -> Cycle:
    """The cycle of a hand-over: its frozen values, and the claim and owner the lead has had since (only while
    that hand-over is still the lead's open one)."""
    lead = hand_over.lead
    current = hand_over.ended_at is None
    return Cycle(
        hand_over=hand_over, lead=lead, number=hand_over.number, handed_over_at=hand_over.at,
        agreement_id=hand_over.agreement_id, tier=hand_over.tier, score=hand_over.score,
        fit_score=hand_over.fit_score, engagement_score=hand_over.engagement_score, breakdown=hand_over.breakdown,
        reason=hand_over.reason, source=hand_over.source, campaign=hand_over.campaign,
        claim_due_at=hand_over.claim_due_at, first_contact_due_at=hand_over.first_contact_due_at,
        accept_due_at=hand_over.accept_due_at, outcome_due_at=hand_over.outcome_due_at,
        owner_id=lead.owner_id if current else None, claimed_at=lead.claimed_at if current else None,
        closed_at=hand_over.ended_at,
    )  # fmt: skip


def fired_rules(cycle: Cycle) -> list[CycleRule]:
    evaluation = cycle.evaluation
    rules = [
        CycleRule(cycle=cycle, rule_id=hit.rule_id, kind=hit.kind, name=hit.name, points=hit.points)
        for hit in evaluation.breakdown
    ]
    rules += [
        CycleRule(cycle=cycle, rule_id=hit.trigger_id, kind="trigger", name=hit.name, points=0)
        for hit in evaluation.triggers
    ]
    return rules


def cycles_move(*, keep_id: int, merge_id: int, at: datetime) -> int:
    """Two leads were one person (lead_merge, through the `lead_merging` hook): the merged lead's cycles, with
    their rules and contacts, follow its hand-overs, which leads has already moved to the kept lead and
    renumbered. A cycle takes its hand-over's new number; one whose hand-over ended at the merge (the kept lead
    had one open) is closed then, without an outcome."""
    moving = list(
        Cycle.objects.select_for_update(of=("self",)).select_related("hand_over").filter(lead_id=merge_id)
    )
    for cycle in sorted(moving, key=lambda c: c.hand_over.number):
        closed_at = cycle.closed_at or cycle.hand_over.ended_at
        Cycle.objects.filter(pk=cycle.pk).update(
            lead_id=keep_id, number=cycle.hand_over.number, closed_at=closed_at
        )
    ContactAttempt.objects.filter(lead_id=merge_id).update(lead_id=keep_id)
    return len(moving)


def cycle_claimed(*, lead_id: int, owner_id: int | None, at: datetime) -> None:
    """The open cycle's claim time and owner (the first owner claims; later owners only take it over)."""
    Cycle.objects.filter(lead_id=lead_id, closed_at__isnull=True, claimed_at__isnull=True).update(
        claimed_at=at
    )
    if owner_id:
        Cycle.objects.filter(lead_id=lead_id, closed_at__isnull=True).update(owner_id=owner_id)


@transaction.atomic
def cycles_repair(*, now: datetime) -> int:
    """Open the cycles that opening after commit left out (feedback/receivers.py): every hand-over without a
    cycle gets one; a lead with sales and no hand-over at all (handed over before hand-overs were recorded, or
    put with sales by hand) gets its hand-over recorded from the lead first. Idempotent."""
    open_hand_over = HandOver.objects.filter(lead=OuterRef("pk"), ended_at__isnull=True)
    for lead in (
        Lead.objects.filter(state__in=HANDED_OVER_STATES).exclude(Exists(open_hand_over)).order_by("pk")
    ):
        hand_over_ensure(lead, at=lead.mql_at or now)
    missing = list(HandOver.objects.filter(cycle__isnull=True).order_by("pk").values_list("pk", flat=True))
    return len(cycles_open(hand_over_ids=missing, at=now))


def _business_minutes(start: datetime, end: datetime) -> float | None:
    version = AgreementVersion.objects.active()
    if version is None:
        return None
    calendar = Agreement.of(version).terms.calendar
    return business_minutes_between(start=start, end=end, calendar=calendar)


def _may_record(user: Any, lead: Lead) -> None:
    roles = user_roles(user)
    if Role.SALES_MANAGER in roles or Role.ADMIN in roles:
        return
    if Role.REP in roles and lead.owner_id == user.pk:
        return
    if Role.REP in roles and lead.owner_id is None and life.allowed(life.Action.CLAIM, lead.state):
        raise OutcomeRefused(_("Claim this lead first: outcomes are recorded by the lead's owner."))
    if Role.REP in roles and lead.owner_id is None and lead.state not in life.WITH_SALES:
        # e.g. rejected by a manager meanwhile: a recycled or closed lead cannot be claimed
        raise OutcomeRefused(
            _("This lead is %(state)s: it is not with sales right now.") % {"state": lead.get_state_display()}
        )
    raise OutcomeRefused(_("Only the lead's owner or a sales manager records outcomes for this lead."))


def _cycle(lead: Lead) -> Cycle:
    """The open cycle of a locked lead; opened now from its hand-over if opening after commit has not yet."""
    cycle = Cycle.objects.select_for_update().filter(lead=lead, closed_at__isnull=True).first()
    if cycle is None:
        hand_over = hand_over_ensure(lead, at=lead.mql_at or lead.updated_at)
        if hand_over is not None:
            cycles_open(hand_over_ids=[hand_over.pk], at=lead.updated_at)
            cycle = Cycle.objects.select_for_update().filter(lead=lead, closed_at__isnull=True).first()
    if cycle is None:
        raise OutcomeRefused(_("This lead has no open hand-over: it is not with sales right now."))
    return cycle


def _locked(lead_id: int, user: Any) -> tuple[Lead, Cycle]:
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead_id)
    _may_record(user, lead)
    return lead, _cycle(lead)


def _allowed(action: life.Action, lead: Lead) -> life.Move:
    """The lifecycle's move for this action, or the refusal it gives (nothing is written then)."""
    try:
        return life.move(action, lead.state)
    except life.NotAllowed as error:
        raise OutcomeRefused(refusal_words(error)) from error


def _progress(lead: Lead, user: Any, now: datetime, action: life.Action, reason: str) -> Lead:
    try:
        return lead_progress(lead_id=lead.pk, actor=user, now=now, action=action, reason=reason)
    except LeadError as error:
        raise OutcomeRefused(str(error)) from error


def _reason(kind: str, reason: Reason | int | None, comment: str) -> Reason:
    if reason is None:
        raise OutcomeRefused(_("Choose a reason."))
    obj = reason if isinstance(reason, Reason) else Reason.objects.filter(pk=reason).first()
    if obj is None or obj.kind != kind or not obj.is_active:
        raise OutcomeRefused(_("Choose a reason from the list."))
    if obj.needs_comment and not comment.strip():
        raise OutcomeRefused(_("Say more: “%(reason)s” needs a comment.") % {"reason": obj.label})
    return obj


@transaction.atomic
def contact_log(
    *, lead_id: int, user: Any, channel: str, connected: bool, note: str, now: datetime
) -> ContactAttempt:
    """A call, e-mail, meeting or social touch. The first one stops the first-contact clock."""
    lead, cycle = _locked(lead_id, user)
    if channel not in ContactAttempt.Channel.values:
        raise OutcomeRefused(_("Choose how you made contact: call, e-mail, meeting or social."))
    _allowed(life.Action.CONTACT, lead)
    attempt = ContactAttempt.objects.create(
        cycle=cycle, lead=lead, rep=user, channel=channel, connected=connected, note=note.strip(), at=now
    )
    if cycle.first_contact_at is None:
        cycle.first_contact_at = now
        cycle.first_contact_minutes = _business_minutes(cycle.handed_over_at, now)
        cycle.save(update_fields=["first_contact_at", "first_contact_minutes"])
        _progress(lead, user, now, life.Action.CONTACT, reason=f"first contact: {channel}")
    lead_status_updated(lead_id=lead.pk, now=now)  # every contact is a status update: that clock restarts
    audit_record(
        actor=user,
        action="lead.contacted",
        target=lead,
        reason=f"{channel}{' (connected)' if connected else ''}",
        at=now,
    )
    return attempt


@transaction.atomic
def lead_accept(*, lead_id: int, user: Any, now: datetime) -> Cycle:
    """The rep takes the MQL on: it becomes a sales-accepted lead (SAL)."""
    lead, cycle = _locked(lead_id, user)
    _allowed(life.Action.ACCEPT, lead)
    cycle.accepted_at, cycle.owner = now, lead.owner or cycle.owner
    cycle.save(update_fields=["accepted_at", "owner"])
    _progress(lead, user, now, life.Action.ACCEPT, reason="accepted")
    audit_record(actor=user, action="lead.accepted", target=lead, changes={"state": ("mql", "sal")}, at=now)
    return cycle


@transaction.atomic
def lead_reject(
    *, lead_id: int, user: Any, reason: Reason | int | None, comment: str, now: datetime
) -> Cycle:
    """Not for sales (yet): recycled to marketing's nurture pool with the reason, history kept."""
    lead, cycle = _locked(lead_id, user)
    _allowed(life.Action.REJECT, lead)
    version = AgreementVersion.objects.active()
    minimum = Agreement.of(version).terms.min_contact_attempts if version else 0
    refusal = reject_refusal_words(attempts=cycle.contacts.count(), minimum=minimum)
    if refusal:
        raise OutcomeRefused(refusal)
    chosen = _reason(Reason.Kind.REJECTION, reason, comment)
    cycle.rejected_at = cycle.closed_at = now
    cycle.outcome, cycle.rejection_reason, cycle.rejection_comment = (
        Cycle.Outcome.REJECTED,
        chosen,
        comment.strip(),
    )
    cycle.save(update_fields=["rejected_at", "closed_at", "outcome", "rejection_reason", "rejection_comment"])
    _progress(lead, user, now, life.Action.REJECT,
              reason=f"rejected: {chosen.label}" + (f" ({comment.strip()})" if comment.strip() else ""))  # fmt: skip
    audit_record(actor=user, action="lead.rejected", target=lead, changes={"state": ("mql", "recycled")},
                 reason=chosen.label, at=now)  # fmt: skip
    return cycle


@transaction.atomic
def lead_qualify(
    *, lead_id: int, user: Any, answers: Mapping[str, Mapping[str, Any]], now: datetime
) -> Cycle:
    """Check the lead against the agreed SQL checklist; it becomes an SQL only when the checklist is met.

    Refused (nothing saved) with a message that says precisely which items are missing.
    """
    lead, cycle = _locked(lead_id, user)
    _allowed(life.Action.QUALIFY, lead)
    criteria = sql_criteria_for(cycle)
    known = {item.key for item in criteria.items}
    before = cycle.qualification
    cycle.qualification = {
        key: {"met": bool(value.get("met")), "note": str(value.get("note", "")).strip()[:1000]}
        for key, value in answers.items()
        if key in known
    }
    cycle.save(update_fields=["qualification"])
    result = sql_check(criteria, {key for key, value in cycle.qualification.items() if value["met"]})
    if not result.qualified:
        raise OutcomeRefused(result.message)
    if life.next_state(life.Action.QUALIFY, lead.state) != lead.state:
        cycle.sql_at = now
        cycle.save(update_fields=["sql_at"])
        _progress(lead, user, now, life.Action.QUALIFY, reason="qualified")
        audit_record(
            actor=user, action="lead.qualified", target=lead, changes={"state": ("sal", "sql")}, at=now
        )
    elif cycle.qualification != before:
        audit_record(actor=user, action="lead.checklist_updated", target=lead,
                     changes={"qualification": (before, cycle.qualification)}, at=now)  # fmt: skip
    return cycle


def sql_criteria_for(cycle: Cycle) -> SqlCriteria:
    """The checklist of the agreement in force (what sales signed up to now), else the hand-off version's."""
    version = AgreementVersion.objects.active() or cycle.agreement
    if version is None:
        raise OutcomeRefused(_("No agreement is in force, so there is no checklist to qualify against."))
    return Agreement.of(version).checklist


@transaction.atomic
def opportunity_set(
    *, lead_id: int, user: Any, amount: Decimal, expected_close: date | None, now: datetime
) -> Cycle:
    lead, cycle = _locked(lead_id, user)
    _allowed(life.Action.OPPORTUNITY, lead)
    if amount is None or amount <= 0:
        raise OutcomeRefused(_("The opportunity amount must be more than zero."))
    changes = {
        "opportunity_amount": (cycle.opportunity_amount, amount),
        "expected_close": (cycle.expected_close, expected_close),
    }
    cycle.opportunity_amount, cycle.expected_close = amount, expected_close
    cycle.save(update_fields=["opportunity_amount", "expected_close"])
    audit_record(actor=user, action="lead.opportunity", target=lead, changes=changes, at=now)
    return cycle


@transaction.atomic
def lead_win(*, lead_id: int, user: Any, amount: Decimal, now: datetime) -> Cycle:
    lead, cycle = _locked(lead_id, user)
    _allowed(life.Action.WIN, lead)
    if amount is None or amount <= 0:
        raise OutcomeRefused(_("Enter the amount won."))
    return _close(lead, cycle, user, now, Cycle.Outcome.WON, life.Action.WIN, won_amount=amount)


@transaction.atomic
def lead_lose(*, lead_id: int, user: Any, reason: Reason | int | None, comment: str, now: datetime) -> Cycle:
    lead, cycle = _locked(lead_id, user)
    _allowed(life.Action.LOSE, lead)
    chosen = _reason(Reason.Kind.LOSS, reason, comment)
    return _close(
        lead, cycle, user, now, Cycle.Outcome.LOST, life.Action.LOSE, reason=chosen, comment=comment
    )


@transaction.atomic
def lead_disqualify(
    *, lead_id: int, user: Any, reason: Reason | int | None, comment: str, now: datetime
) -> Cycle:
    lead, cycle = _locked(lead_id, user)
    _allowed(life.Action.DISQUALIFY, lead)
    chosen = _reason(Reason.Kind.DISQUALIFICATION, reason, comment)
    return _close(
        lead,
        cycle,
        user,
        now,
        Cycle.Outcome.DISQUALIFIED,
        life.Action.DISQUALIFY,
        reason=chosen,
        comment=comment,
    )


def _close(
    lead: Lead, cycle: Cycle, user: Any, now: datetime, outcome: str, action: life.Action, *,
    won_amount: Decimal | None = None, reason: Reason | None = None, comment: str = "",
) -> Cycle:  # fmt: skip
    before, state = lead.state, life.next_state(action, lead.state).value
    cycle.outcome, cycle.closed_at, cycle.won_amount = outcome, now, won_amount
    cycle.outcome_reason, cycle.outcome_comment = reason, comment.strip()
    cycle.save(update_fields=["outcome", "closed_at", "won_amount", "outcome_reason", "outcome_comment"])
    why = outcome + (f": {reason.label}" if reason else f": {won_amount}" if won_amount else "")
    _progress(lead, user, now, action, reason=why)
    audit_record(actor=user, action=f"lead.{outcome}", target=lead, changes={"state": (before, state)},
                 reason=why, at=now)  # fmt: skip
    return cycle


# --- the monthly review ------------------------------------------------------------------------------------


def _require_team_of(user: Any, segment: Segment | None) -> None:
    """A segment's review is decided, drafted from and frozen by its own team; the review of all leads by someone
    who works across every segment (an admin, or anyone in no team)."""
    works_across = segment_scope(user) is None
    if not (works_across or (segment is not None and in_user_segments(user, segment.pk))):
        raise OutcomeRefused(_("Only this segment's team acts on its review."))


@transaction.atomic
def decision_record(
    *, month: date, user: Any, text: str, now: datetime, owner: Any = None, due: date | None = None,
    change: dict[str, Any] | None = None, evidence: str = "", suggestion_key: str = "",
    segment: Segment | None = None,
) -> Decision:  # fmt: skip
    """A decision of one segment's review (none: the review of all leads); only that segment's team decides."""
    _require_team_of(user, segment)
    text = text.strip()
    if not text:
        raise OutcomeRefused(_("Write down what was decided."))
    decision = Decision.objects.create(
        month=month, segment=segment, text=text[:500], owner=owner, due=due, change=change, evidence=evidence,
        created_by=user, created_at=now, suggestion_key=suggestion_key,
    )  # fmt: skip
    audit_record(actor=user, action="review.decided", target=decision, reason=text[:200], at=now)
    return decision


def month_decisions(month: date, segment: Segment | None = None) -> QuerySet[Decision]:
    """The decisions of one review: the segment's (none: those of the review of all leads)."""
    return Decision.objects.filter(month=month, segment=segment)


@transaction.atomic
def review_start_draft(
    *, month: date, user: Any, now: datetime, segment: Segment | None = None
) -> AgreementVersion:
    """A draft of the segment's agreement (none: the default segment's, as the review of all leads reads it) with
    the accepted suggestions of that segment's review applied; it then goes through normal sign-off, by the
    segment's two managers."""
    from feedback.apply import apply_changes
    from sla import services as sla_services

    _require_team_of(user, segment)
    decisions = list(
        month_decisions(month, segment)
        .select_for_update()
        .filter(change__isnull=False, applied_to__isnull=True)
    )
    if not decisions:
        raise OutcomeRefused(_("Accept at least one suggestion before starting the next draft."))
    draft = sla_services.agreement_draft_create(
        user=user, now=now, title=_("Changes from the %(month)s review") % {"month": date_format(month, "YEAR_MONTH_FORMAT")},
        summary="\n".join(f"- {d.text}" for d in decisions), segment=segment,
    )  # fmt: skip
    sla_services.agreement_change(
        version_id=draft.pk, user=user, now=now, action="agreement.from_review",
        change=lambda content: apply_changes(content, [d.change for d in decisions]),
    )  # fmt: skip
    Decision.objects.filter(pk__in=[d.pk for d in decisions]).update(applied_to=draft)
    draft.refresh_from_db()
    return draft


@transaction.atomic
def review_freeze(
    *, month: date, user: Any, data: dict[str, Any], now: datetime, segment: Segment | None = None
) -> Snapshot:
    """Freeze one review's figures: the segment's month (none: the month of all leads), once."""
    _require_team_of(user, segment)
    if Snapshot.objects.filter(month=month, segment=segment).exists():
        raise OutcomeRefused(
            _("%(month)s is already frozen.") % {"month": date_format(month, "YEAR_MONTH_FORMAT")}
        )
    snapshot = Snapshot.objects.create(month=month, segment=segment, data=data, frozen_by=user, frozen_at=now)
    audit_record(actor=user, action="review.frozen", target=snapshot, at=now)
    return snapshot
