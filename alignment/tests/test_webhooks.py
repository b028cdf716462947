"""Outbound webhooks as an administrator and a receiver see them: endpoints per event type, Standard Webhooks
signatures a receiver verifies with the secret shown, "send test" and its delivery log, and role checks."""

from __future__ import annotations

import pytest
from django.urls import reverse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from alignment.models import OutboxMessage, WebhookSubscription
from alignment.tests.test_outbox import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.server.shutdown()


def test_an_administrator_adds_an_endpoint_sends_a_test_and_the_receiver_verifies_it(
    admin_user_role, login, receiver, django_capture_on_commit_callbacks
):
    client = login(admin_user_role)
    # when the administrator adds an endpoint for two event types
    response = client.post(reverse("webhooks"), {"url": receiver.url, "description": "HubSpot",
                                                 "event_types": ["lead.mql", "sla.breached"]})  # fmt: skip
    subscription = WebhookSubscription.objects.get()
    assert response.status_code == 302 and subscription.event_types == ["lead.mql", "sla.breached"]
    detail = client.get(reverse("webhook_detail", args=[subscription.pk])).content.decode()
    assert subscription.secret in detail and subscription.secret.startswith("whsec_")
    # and presses "Send test"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("webhook_test", args=[subscription.pk]))
    # then the receiver got one signed message that verifies with the secret shown
    raw_headers, body, status = receiver.received[0]
    headers = {name.lower(): value for name, value in raw_headers.items()}
    assert len(receiver.received) == 1 and status == 200
    verified = Webhook(subscription.secret).verify(body, headers)
    assert verified["type"] == "webhook.test"
    assert headers["webhook-id"] == OutboxMessage.objects.get().key
    # and a tampered body, or another secret, does not verify
    with pytest.raises(WebhookVerificationError):
        Webhook(subscription.secret).verify(body.replace(b"webhook.test", b"lead.won"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(body, headers)
    # and the delivery log says it was delivered, with the receiver's status
    log = client.get(reverse("webhook_detail", args=[subscription.pk])).content.decode()
    assert "webhook.test" in log and "delivered" in log and "(200)" in log


def test_a_paused_endpoint_receives_nothing(admin_user_role, login, receiver):
    from django.utils import timezone

    from alignment.webhooks import subscription_create, webhook_emit

    subscription = subscription_create(
        url=receiver.url, event_types=["lead.won"], description="", now=timezone.now()
    )
    login(admin_user_role).post(reverse("webhook_toggle", args=[subscription.pk]))
    assert webhook_emit(event_type="lead.won", ref="lead.won:1", data={}, now=timezone.now()) == 0


def test_a_bad_endpoint_form_is_refused_with_the_reason(admin_user_role, login):
    response = login(admin_user_role).post(reverse("webhooks"), {"url": "not a url", "event_types": ["nope"]})
    text = response.content.decode()
    assert response.status_code == 422 and "Enter a valid URL" in text and "not one of the available" in text
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("name", ["webhooks", "deliveries"])
def test_only_administrators_see_the_system_screens(role_users, login, name, client):
    from alignment.roles import Role

    for role, user in role_users.items():
        status = login(user).get(reverse(name)).status_code
        assert status == (200 if role == Role.ADMIN else 403), (role, status)
    assert client.get(reverse(name)).status_code == 302  # anonymous: to the login page


def test_nobody_but_an_administrator_can_send_a_test_or_retry(role_users, login):
    from django.utils import timezone

    from alignment.roles import Role
    from alignment.webhooks import subscription_create

    subscription = subscription_create(url="http://127.0.0.1:9/", event_types=["lead.won"], description="",
                                       now=timezone.now())  # fmt: skip
    manager = login(role_users[Role.SALES_MANAGER])
    assert manager.post(reverse("webhook_test", args=[subscription.pk])).status_code == 403
    assert manager.post(reverse("webhook_toggle", args=[subscription.pk])).status_code == 403
    assert not OutboxMessage.objects.exists()
