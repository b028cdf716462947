"""What people and other systems are told when leads move, written to the outbox inside the transaction that
moved them (alignment/outbox.py delivers after commit, retries, and never sends one twice).

Each (event, channel, recipient) is one outbox message: an e-mail and an in-app notification per person, one
chat message per event, one signed webhook per subscribed endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from alignment.models import OutboxMessage
from alignment.outbox import outbox_put
from alignment.roles import Role
from alignment.webhooks import webhook_emit
from leads.models import Clock, Lead, SlaBreach, State

Channel = OutboxMessage.Channel
STATE_EVENTS = {
    State.SAL: "lead.accepted",
    State.RECYCLED: "lead.rejected",
    State.SQL: "lead.sql",
    State.WON: "lead.won",
    State.LOST: "lead.lost",
}


def _url(lead: Lead) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{lead.get_absolute_url()}" if settings.SITE_URL else ""


def _name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def lead_data(lead: Lead) -> dict[str, Any]:
    """The lead as webhooks carry it (HubSpot/Salesforce-friendly: e-mail is the matching key)."""
    return {
        "id": lead.pk, "email": lead.email, "first_name": lead.first_name, "last_name": lead.last_name,
        "company": lead.company, "state": lead.state, "score": lead.score, "tier": lead.tier,
        "handoff_reason": lead.handoff_reason, "owner_email": lead.owner.email if lead.owner else "",
        "url": _url(lead),
    }  # fmt: skip


def people_tell(
    *, users: Iterable[Any], ref: str, event: str, subject: str, text: str, url: str, now: datetime
) -> None:
    """E-mail (when the person has an address) and an in-app notification, one message each per person."""
    for user in users:
        if user.email:
            outbox_put(
                event=event, ref=ref, channel=Channel.EMAIL, recipient=user.email,
                payload={"subject": subject, "body": f"{text}\n{url}".strip()}, now=now,
            )  # fmt: skip
        outbox_put(
            event=event, ref=ref, channel=Channel.INAPP, recipient=str(user.pk),
            payload={"text": text, "url": url.removeprefix(settings.SITE_URL.rstrip("/")) if url else ""},
            now=now,
        )  # fmt: skip


def chat_tell(*, ref: str, event: str, payload: dict[str, Any], now: datetime) -> None:
    if settings.NOTIFY_WEBHOOK_URL:
        outbox_put(event=event, ref=ref, channel=Channel.CHAT, recipient="chat", payload=payload, now=now)


def _active_users(*roles: Role):
    return (
        get_user_model().objects.filter(is_active=True, groups__name__in=[r.value for r in roles]).distinct()
    )


def hot_leads_notify(*, lead_ids: Iterable[int], at: datetime) -> None:
    """Tell sales at once: the owner, or every rep and sales manager when nobody owns the lead yet."""
    for lead in Lead.objects.filter(pk__in=list(lead_ids)).select_related("owner"):
        reasons = (
            "; ".join(hit["reason"] for hit in lead.breakdown.get("triggers", [])) or f"score {lead.score}"
        )
        who = f"{lead} ({lead.company})" if lead.company else str(lead)
        text = f"Hot lead: {who} — {reasons}. Claim within the SLA."
        ref = f"lead.hot:{lead.pk}:{at.isoformat()}"
        users = [lead.owner] if lead.owner else list(_active_users(Role.REP, Role.SALES_MANAGER))
        people_tell(users=users, ref=ref, event="lead.hot", subject=f"Hot lead: {who}", text=text, url=_url(lead),
                    now=at)  # fmt: skip
        chat_tell(ref=ref, event="lead.hot", payload={"text": f"{text} {_url(lead)}".strip(), "lead_id": lead.pk},
                  now=at)  # fmt: skip
        webhook_emit(
            event_type="lead.hot", ref=ref, data={"lead": lead_data(lead), "reasons": reasons}, now=at
        )


def breaches_notify(*, breach_ids: Iterable[int], notify_manager: bool, now: datetime) -> None:
    """Deadlines were missed: each owner (and the sales managers if the terms say so), the chat, the webhooks."""
    managers = list(_active_users(Role.SALES_MANAGER)) if notify_manager else []
    breaches = SlaBreach.objects.filter(pk__in=list(breach_ids)).select_related(
        "lead__owner", "owner", "new_owner"
    )
    for breach in breaches:
        text = breach_text(breach)
        ref = f"sla.breached:{breach.pk}"
        users = {user.pk: user for user in [*managers, breach.owner] if user is not None}
        subject = text.split(" http", 1)[0]
        people_tell(users=users.values(), ref=ref, event="sla.breached", subject=subject, text=text,
                    url=_url(breach.lead), now=now)  # fmt: skip
        chat_tell(ref=ref, event="sla.breached", now=now,
                  payload={"text": f"{text} {_url(breach.lead)}".strip(), "lead_id": breach.lead_id,
                           "breach_id": breach.pk})  # fmt: skip
        webhook_emit(
            event_type="sla.breached", ref=ref, now=now,
            data={"lead": lead_data(breach.lead), "clock": breach.clock, "deadline": breach.deadline.isoformat(),
                  "late_minutes": breach.late_seconds // 60, "action": breach.action,
                  "owner_email": breach.owner.email if breach.owner else ""},
        )  # fmt: skip


def breach_text(breach: SlaBreach) -> str:
    text = (
        f"SLA breach: {breach.get_clock_display().lower()} deadline missed by {breach.late_seconds // 60} min "
        f"on {breach.lead}."
    )
    if breach.action != SlaBreach.Action.NONE:
        text += f" {breach.get_action_display()}"
        text += f" to {_name(breach.new_owner)}." if breach.new_owner else "."
    return text


def warnings_notify(*, warnings: Iterable[tuple[int, str, datetime]], now: datetime) -> None:
    """A deadline is near: tell the owner (the sales managers when nobody owns the lead), and the webhooks."""
    warnings = list(warnings)
    leads = Lead.objects.select_related("owner").in_bulk([lead_id for lead_id, _, _ in warnings])
    managers = None
    for lead_id, clock, due_at in warnings:
        lead = leads.get(lead_id)
        if lead is None:
            continue
        if lead.owner is None and managers is None:
            managers = list(_active_users(Role.SALES_MANAGER))
        label = Clock(clock).label.lower() if clock in Clock.values else clock
        text = f"SLA warning: the {label} deadline on {lead} is near (due {due_at:%Y-%m-%d %H:%M} UTC)."
        ref = f"sla.warning:{lead.pk}:{clock}:{due_at.isoformat()}"
        people_tell(users=[lead.owner] if lead.owner else managers or [], ref=ref, event="sla.warning",
                    subject=text, text=text, url=_url(lead), now=now)  # fmt: skip
        webhook_emit(event_type="sla.warning", ref=ref, now=now,
                     data={"lead": lead_data(lead), "clock": clock, "due_at": due_at.isoformat()})  # fmt: skip


def escalation_notify(
    *, lead_id: int, clock_name: str, step: int, recipient_ids: Iterable[int], at: datetime
) -> None:
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None:
        return
    label = Clock(clock_name).label.lower() if clock_name in Clock.values else clock_name
    text = f"SLA escalation (step {step}): the {label} deadline on {lead} was missed."
    users = get_user_model().objects.filter(pk__in=list(recipient_ids), is_active=True)
    people_tell(users=users, ref=f"sla.escalated:{lead_id}:{clock_name}:{step}:{at.isoformat()}",
                event="sla.escalated", subject=text, text=text, url=_url(lead), now=at)  # fmt: skip


def owner_notify(*, lead_id: int, owner_id: int, actor_id: int | None, at: datetime) -> None:
    """Tell the new owner that someone else (a manager, the round-robin, an escalation) gave them a lead;
    claiming a lead yourself needs no notice."""
    if actor_id == owner_id:
        return
    lead = Lead.objects.filter(pk=lead_id).first()
    owner = get_user_model().objects.filter(pk=owner_id, is_active=True).first()
    if lead is None or owner is None:
        return
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    by = f" by {_name(actor)}" if actor else ""
    text = f"{lead} was assigned to you{by}."
    people_tell(users=[owner], ref=f"lead.assigned:{lead_id}:{owner_id}:{at.isoformat()}", event="lead.assigned",
                subject=text, text=text, url=_url(lead), now=at)  # fmt: skip


def handed_over_emit(*, lead_ids: Iterable[int], at: datetime) -> None:
    for lead in Lead.objects.filter(pk__in=list(lead_ids)).select_related("owner"):
        webhook_emit(event_type="lead.mql", ref=f"lead.mql:{lead.pk}:{at.isoformat()}", now=at,
                     data={"lead": lead_data(lead), "reason": lead.handoff_reason})  # fmt: skip


def state_change_emit(*, lead_id: int, from_state: str, to_state: str, reason: str, at: datetime) -> None:
    event = STATE_EVENTS.get(State(to_state)) if to_state in State.values else None
    if event is None:
        return
    lead = Lead.objects.filter(pk=lead_id).select_related("owner").first()
    if lead is None:
        return
    data = {"lead": {**lead_data(lead), "state": to_state}, "from_state": from_state, "reason": reason}
    webhook_emit(event_type=event, ref=f"{event}:{lead_id}:{at.isoformat()}", data=data, now=at)
