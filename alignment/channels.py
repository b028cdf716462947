"""How an outbox message leaves the building, one function per channel. Each raises on failure (the outbox
records the attempt and retries with backoff) and returns the HTTP status when there is one."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

from django.conf import settings
from django.core.mail import send_mail
from standardwebhooks.webhooks import Webhook

from alignment.models import Notification, OutboxMessage, WebhookSubscription

TIMEOUT_SECONDS = 5


class Undeliverable(Exception):
    """The message can never be delivered as it is (its subscription or user is gone): give up at once."""


def deliver(message: OutboxMessage) -> int | None:
    sender = {
        OutboxMessage.Channel.EMAIL: _email,
        OutboxMessage.Channel.CHAT: _chat,
        OutboxMessage.Channel.INAPP: _inapp,
        OutboxMessage.Channel.WEBHOOK: _webhook,
    }[OutboxMessage.Channel(message.channel)]
    return sender(message)


def _email(message: OutboxMessage) -> None:
    payload = message.payload
    send_mail(payload["subject"], payload["body"], None, [message.recipient], fail_silently=False)


def _chat(message: OutboxMessage) -> int | None:
    if not settings.NOTIFY_WEBHOOK_URL:
        return None  # no chat webhook configured: nothing to send, and nothing to retry
    return post(settings.NOTIFY_WEBHOOK_URL, json.dumps(message.payload).encode(), {})


def _inapp(message: OutboxMessage) -> None:
    payload = message.payload
    Notification.objects.get_or_create(
        key=message.key,
        defaults={
            "user_id": int(message.recipient),
            "text": payload["text"][:500],
            "url": payload.get("url", "")[:500],
            "created_at": message.created_at,
        },
    )


def _webhook(message: OutboxMessage) -> int:
    subscription = WebhookSubscription.objects.filter(pk=int(message.recipient)).first()
    if subscription is None:
        raise Undeliverable("The subscription was deleted")
    body, headers = signed(subscription.secret, message.key, message.payload)
    return post(subscription.url, body, headers)


def signed(secret: str, msg_id: str, payload: dict) -> tuple[bytes, dict[str, str]]:
    """The body and the Standard Webhooks headers: the id (the outbox key, stable across retries, so a receiver
    can drop a repeat), the timestamp and `v1,<base64 HMAC-SHA256 of id.timestamp.body>`."""
    now = datetime.now(tz=UTC)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    signature = Webhook(secret).sign(msg_id, now, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "User-Agent": "Alignment-Webhooks/1", **headers},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        response.read(1024)
        return response.status
