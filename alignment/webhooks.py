"""Outbound webhooks: endpoints subscribe to event types; each event becomes one outbox message per subscribed
endpoint (key `event:ref:webhook:<subscription id>`), signed per Standard Webhooks when it is sent and retried
from the outbox with backoff. The outbox's attempts are the delivery log."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from alignment.models import OutboxMessage, WebhookSubscription
from alignment.outbox import Item, outbox_put, outbox_put_many

EVENT_TYPES: dict[str, Any] = {
    "lead.mql": _l("A lead became a marketing-qualified lead and was handed to sales"),
    "lead.hot": _l("A lead became hot (a trigger fired or its score crossed the hot line)"),
    "lead.accepted": _l("Sales accepted a lead (SAL)"),
    "lead.rejected": _l("Sales rejected a lead back to marketing"),
    "lead.sql": _l("A lead became a sales-qualified lead"),
    "lead.won": _l("The deal was won"),
    "lead.lost": _l("The deal was lost"),
    "sla.warning": _l("An SLA deadline is near"),
    "sla.breached": _l("An SLA deadline was missed"),
    "agreement.activated": _l("A new agreement version came into force"),
    "webhook.test": _l("A test message sent from the webhooks page"),
}


def secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def subscription_create(
    *, url: str, event_types: list[str], description: str, now: datetime
) -> WebhookSubscription:
    unknown = set(event_types) - set(EVENT_TYPES)
    if unknown:
        raise ValueError(_("Unknown event types: %(types)s") % {"types": ", ".join(sorted(unknown))})
    subscription = WebhookSubscription(
        url=url, event_types=sorted(event_types), description=description, secret=secret_new(), created_at=now
    )
    subscription.full_clean()
    subscription.save()
    return subscription


def subscriptions_active() -> list[WebhookSubscription]:
    return list(WebhookSubscription.objects.filter(is_active=True).only("pk", "event_types"))


def webhook_items(
    *,
    event_type: str,
    ref: str,
    data: dict[str, Any],
    now: datetime,
    subscriptions: list[WebhookSubscription],
) -> list[Item]:
    """One outbox item per endpoint among `subscriptions` subscribed to `event_type`."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}")
    body = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    return [
        Item(event_type, ref, OutboxMessage.Channel.WEBHOOK, str(subscription.pk), body)
        for subscription in subscriptions
        if event_type in subscription.event_types
    ]


def webhook_emit(*, event_type: str, ref: str, data: dict[str, Any], now: datetime) -> int:
    """Write the event for every active endpoint subscribed to it, in the caller's transaction. `ref` names
    this occurrence (`lead.sql:42:2026-12-03T10:00:00`), so announcing it twice sends it once.
    Returns how many messages were written."""
    items = webhook_items(
        event_type=event_type, ref=ref, data=data, now=now, subscriptions=subscriptions_active()
    )
    return outbox_put_many(items, now=now)


@transaction.atomic
def webhook_send_test(*, subscription: WebhookSubscription, now: datetime) -> OutboxMessage | None:
    """A `webhook.test` message to one endpoint, through the outbox like any other (signed, retried, logged)."""
    written = outbox_put(
        event="webhook.test", ref=f"webhook.test:{now.isoformat()}", channel=OutboxMessage.Channel.WEBHOOK,
        recipient=str(subscription.pk),
        payload={"type": "webhook.test", "timestamp": now.isoformat(), "data": {"subscription": subscription.pk}},
        now=now,
    )  # fmt: skip
    return (
        OutboxMessage.objects.filter(event="webhook.test", recipient=str(subscription.pk)).first()
        if written
        else None
    )
