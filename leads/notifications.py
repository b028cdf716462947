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
from alignment.outbox import Item, outbox_put_many
from alignment.roles import Role
from alignment.webhooks import subscriptions_active, webhook_items
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


def _urls() -> Any:
    """`_url` for many leads: the URL is reversed once (for a batch), then filled in with each lead's id."""
    if not settings.SITE_URL:
        return _url
    marker = 2_147_483_647
    sample = Lead(pk=marker)
    template = _url(sample)
    before, after = template.rsplit(str(marker), 1)
    return lambda lead: f"{before}{lead.pk}{after}"


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


def people_items(
    *, users: Iterable[Any], ref: str, event: str, subject: str, text: str, url: str
) -> list[Item]:
    """E-mail (when the person has an address) and an in-app notification, one message each per person."""
    path = url.removeprefix(settings.SITE_URL.rstrip("/")) if url else ""
    items = []
    for user in users:
        if user.email:
            items.append(
                Item(
                    event,
                    ref,
                    Channel.EMAIL,
                    user.email,
                    {"subject": subject, "body": f"{text}\n{url}".strip()},
                )
            )
        items.append(Item(event, ref, Channel.INAPP, str(user.pk), {"text": text, "url": path}))
    return items


def chat_items(*, ref: str, event: str, payload: dict[str, Any]) -> list[Item]:
    return [Item(event, ref, Channel.CHAT, "chat", payload)] if settings.NOTIFY_WEBHOOK_URL else []


def _active_users(*roles: Role):
    return (
        get_user_model().objects.filter(is_active=True, groups__name__in=[r.value for r in roles]).distinct()
    )


def hot_leads_notify(*, lead_ids: Iterable[int], at: datetime) -> None:
    """Tell sales at once: the owner, or every rep and sales manager when nobody owns the lead yet."""
    items: list[Item] = []
    subscriptions = subscriptions_active()
    sales = None
    for lead in Lead.objects.filter(pk__in=list(lead_ids)).select_related("owner"):
        if lead.owner is None and sales is None:
            sales = list(_active_users(Role.REP, Role.SALES_MANAGER))
        reasons = "; ".join(hit.reason for hit in lead.evaluation.triggers) or f"score {lead.score}"
        who = f"{lead} ({lead.company})" if lead.company else str(lead)
        text = f"Hot lead: {who} — {reasons}. Claim within the SLA."
        ref = f"lead.hot:{lead.pk}:{at.isoformat()}"
        users = [lead.owner] if lead.owner else sales or []
        url = _url(lead)
        items += people_items(
            users=users, ref=ref, event="lead.hot", subject=f"Hot lead: {who}", text=text, url=url
        )
        items += chat_items(
            ref=ref, event="lead.hot", payload={"text": f"{text} {url}".strip(), "lead_id": lead.pk}
        )
        data = {"lead": lead_data(lead), "reasons": reasons}
        items += webhook_items(event_type="lead.hot", ref=ref, data=data, now=at, subscriptions=subscriptions)
    outbox_put_many(items, now=at)


def breaches_notify(*, breach_ids: Iterable[int], notify_manager: bool, now: datetime) -> None:
    """Deadlines were missed: each owner (and the sales managers if the terms say so), the chat, the webhooks."""
    managers = list(_active_users(Role.SALES_MANAGER)) if notify_manager else []
    breaches = SlaBreach.objects.filter(pk__in=list(breach_ids)).select_related(
        "lead__owner", "owner", "new_owner"
    )
    items: list[Item] = []
    subscriptions = [s for s in subscriptions_active() if "sla.breached" in s.event_types]
    url_of = _urls()
    clocks = {value: str(label).lower() for value, label in Clock.choices}  # translated once per batch
    for breach in breaches:
        text = breach_text(breach, clock_label=clocks.get(breach.clock))
        ref = f"sla.breached:{breach.pk}"
        users = {user.pk: user for user in [*managers, breach.owner] if user is not None}
        subject = text.split(" http", 1)[0]
        url = url_of(breach.lead)
        items += people_items(users=users.values(), ref=ref, event="sla.breached", subject=subject, text=text,
                              url=url)  # fmt: skip
        items += chat_items(ref=ref, event="sla.breached",
                            payload={"text": f"{text} {url}".strip(), "lead_id": breach.lead_id,
                                     "breach_id": breach.pk})  # fmt: skip
        if not subscriptions:
            continue  # nobody listens: the webhook body (the lead's data) is not built
        items += webhook_items(
            event_type="sla.breached", ref=ref, now=now, subscriptions=subscriptions,
            data={"lead": lead_data(breach.lead), "clock": breach.clock, "deadline": breach.deadline.isoformat(),
                  "late_minutes": breach.late_seconds // 60, "action": breach.action,
                  "owner_email": breach.owner.email if breach.owner else ""},
        )  # fmt: skip
    outbox_put_many(items, now=now)


def breach_text(breach: SlaBreach, *, clock_label: str | None = None) -> str:
    label = clock_label or breach.get_clock_display().lower()
    text = f"SLA breach: {label} deadline missed by {breach.late_seconds // 60} min on {breach.lead}."
    if breach.action != SlaBreach.Action.NONE:
        text += f" {breach.get_action_display()}"
        text += f" to {_name(breach.new_owner)}." if breach.new_owner else "."
    return text


def warnings_notify(*, warnings: Iterable[tuple[int, str, datetime]], now: datetime) -> None:
    """A deadline is near: tell the owner (the sales managers when nobody owns the lead), and the webhooks."""
    warnings = list(warnings)
    leads = Lead.objects.select_related("owner").in_bulk([lead_id for lead_id, _, _ in warnings])
    managers = None
    items: list[Item] = []
    subscriptions = subscriptions_active()
    for lead_id, clock, due_at in warnings:
        lead = leads.get(lead_id)
        if lead is None:
            continue
        if lead.owner is None and managers is None:
            managers = list(_active_users(Role.SALES_MANAGER))
        label = Clock(clock).label.lower() if clock in Clock.values else clock
        text = f"SLA warning: the {label} deadline on {lead} is near (due {due_at:%Y-%m-%d %H:%M} UTC)."
        ref = f"sla.warning:{lead.pk}:{clock}:{due_at.isoformat()}"
        items += people_items(users=[lead.owner] if lead.owner else managers or [], ref=ref, event="sla.warning",
                              subject=text, text=text, url=_url(lead))  # fmt: skip
        items += webhook_items(event_type="sla.warning", ref=ref, now=now, subscriptions=subscriptions,
                               data={"lead": lead_data(lead), "clock": clock, "due_at": due_at.isoformat()})  # fmt: skip
    outbox_put_many(items, now=now)


def escalations_notify(*, steps: Iterable[dict[str, Any]]) -> None:
    """Ladder steps fired (a scan's batch): each step's recipients are told, in one write to the outbox."""
    steps = list(steps)
    leads = Lead.objects.in_bulk([step["lead_id"] for step in steps])
    wanted = {pk for step in steps for pk in step["recipient_ids"]}
    users = get_user_model().objects.filter(pk__in=wanted, is_active=True).in_bulk() if wanted else {}
    items: list[Item] = []
    last_at = None
    for step in steps:
        lead = leads.get(step["lead_id"])
        recipients = [users[pk] for pk in step["recipient_ids"] if pk in users]
        if lead is None or not recipients:
            continue
        clock_name, at = step["clock_name"], step["at"]
        label = Clock(clock_name).label.lower() if clock_name in Clock.values else clock_name
        text = f"SLA escalation (step {step['step']}): the {label} deadline on {lead} was missed."
        ref = f"sla.escalated:{lead.pk}:{clock_name}:{step['step']}:{at.isoformat()}"
        items += people_items(users=recipients, ref=ref, event="sla.escalated", subject=text, text=text,
                              url=_url(lead))  # fmt: skip
        last_at = at
    if items and last_at is not None:
        outbox_put_many(items, now=last_at)


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
    ref = f"lead.assigned:{lead_id}:{owner_id}:{at.isoformat()}"
    outbox_put_many(people_items(users=[owner], ref=ref, event="lead.assigned", subject=text, text=text,
                                 url=_url(lead)), now=at)  # fmt: skip


def handed_over_emit(*, lead_ids: Iterable[int], at: datetime) -> None:
    subscriptions = [s for s in subscriptions_active() if "lead.mql" in s.event_types]
    if not subscriptions:
        return  # nobody listens: no query for the leads
    items: list[Item] = []
    for lead in Lead.objects.filter(pk__in=list(lead_ids)).select_related("owner"):
        items += webhook_items(event_type="lead.mql", ref=f"lead.mql:{lead.pk}:{at.isoformat()}", now=at,
                               data={"lead": lead_data(lead), "reason": lead.handoff_reason},
                               subscriptions=subscriptions)  # fmt: skip
    outbox_put_many(items, now=at)


def state_change_emit(*, lead_id: int, from_state: str, to_state: str, reason: str, at: datetime) -> None:
    event = STATE_EVENTS.get(State(to_state)) if to_state in State.values else None
    subscriptions = [s for s in subscriptions_active() if event in s.event_types] if event else []
    if not subscriptions:
        return  # nobody listens: one query, no more
    lead = Lead.objects.filter(pk=lead_id).select_related("owner").first()
    if lead is None:
        return
    data = {"lead": {**lead_data(lead), "state": to_state}, "from_state": from_state, "reason": reason}
    ref = f"{event}:{lead_id}:{at.isoformat()}"
    outbox_put_many(
        webhook_items(event_type=event, ref=ref, data=data, now=at, subscriptions=subscriptions), now=at
    )
