"""The outbox: one message per (event, channel, recipient), delivered once whatever the retries, retried with
growing waits (database errors too), swept up after a broker outage, and shown to administrators when it keeps
failing. Receivers are real HTTP servers on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.db import OperationalError, transaction
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerError

from alignment import outbox
from alignment.models import DeliveryAttempt, Notification, OutboxMessage
from alignment.webhooks import subscription_create, webhook_emit

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
Status = OutboxMessage.Status


class Receiver:
    """A loopback HTTP endpoint that answers 500 to its first `fail` requests, then 200, and keeps what it got."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = 500 if receiver.fail > 0 else 200
                receiver.fail -= 1
                receiver.received.append((dict(self.headers.items()), body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def delivered(self) -> list[bytes]:
        return [body for _, body, status in self.received if status == 200]


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.server.shutdown()


def endpoint(receivers: list[Receiver], *, fail: int = 0, events: tuple[str, ...] = ("sla.breached",)):
    receiver = Receiver(fail=fail)
    receivers.append(receiver)
    subscription = subscription_create(url=receiver.url, event_types=list(events), description="", now=NOW)
    return receiver, subscription


def test_one_message_per_event_channel_and_recipient_and_none_twice(receivers):
    # given two endpoints subscribed to breaches
    endpoint(receivers)
    endpoint(receivers)
    # when the same breach is announced twice, and to an in-app user and an e-mail on the same event
    for _ in range(2):
        with transaction.atomic():
            webhook_emit(event_type="sla.breached", ref="sla.breached:7", data={"x": 1}, now=NOW)
            outbox.outbox_put(event="sla.breached", ref="sla.breached:7", channel="inapp", recipient="3",
                              payload={"text": "t"}, now=NOW)  # fmt: skip
            outbox.outbox_put(event="sla.breached", ref="sla.breached:7", channel="email", recipient="a@x.example",
                              payload={"subject": "s", "body": "b"}, now=NOW)  # fmt: skip
    # then four messages, none colliding with another channel or recipient
    keys = sorted(OutboxMessage.objects.values_list("key", flat=True))
    assert len(keys) == 4
    assert "sla.breached:7:inapp:3" in keys and "sla.breached:7:email:a@x.example" in keys
    assert sum(key.startswith("sla.breached:7:webhook:") for key in keys) == 2


def test_a_failing_receiver_is_retried_with_backoff_and_each_gets_the_event_exactly_once(receivers):
    # given one healthy endpoint and one that fails twice
    healthy, _ = endpoint(receivers)
    flaky, _ = endpoint(receivers, fail=2)
    with transaction.atomic():
        webhook_emit(event_type="sla.breached", ref="sla.breached:1", data={"lead": 1}, now=NOW)
    ids = list(OutboxMessage.objects.order_by("pk").values_list("pk", flat=True))
    # when delivered, then retried at each new slot (and a stray early retry, and the sweeper, on top)
    results = [outbox.message_deliver(message_id=pk, now=NOW).status for pk in ids]
    flaky_message = OutboxMessage.objects.get(pk=ids[1])
    first_wait = flaky_message.next_attempt_at - NOW
    assert outbox.message_deliver(message_id=ids[1], now=NOW + timedelta(seconds=1)).status == "not due"
    second = outbox.message_deliver(message_id=ids[1], now=flaky_message.next_attempt_at)
    flaky_message.refresh_from_db()
    second_wait = flaky_message.next_attempt_at - (NOW + first_wait)
    third = outbox.message_deliver(message_id=ids[1], now=flaky_message.next_attempt_at)
    for pk in ids:
        assert outbox.message_deliver(message_id=pk, now=NOW + timedelta(days=1)).status == "already sent"
    assert outbox.outbox_sweep(now=NOW + timedelta(days=1)) == 0
    # then the healthy one got it once at once, the flaky one once after 30 s then 60 s of waiting
    assert results == ["sent", "retry"] and second.status == "retry" and third.status == "sent"
    assert (first_wait, second_wait) == (timedelta(seconds=30), timedelta(seconds=60))
    assert len(healthy.delivered) == 1 and len(flaky.delivered) == 1 and len(flaky.received) == 3
    # and the delivery log holds every try
    assert list(DeliveryAttempt.objects.filter(message_id=ids[1]).order_by("pk").values_list("status_code", "ok")) == [
        (500, False), (500, False), (200, True),
    ]  # fmt: skip


def test_a_message_that_keeps_failing_is_given_up_shown_and_can_be_retried(
    receivers, settings, admin_user_role, login, django_capture_on_commit_callbacks
):
    # given an endpoint failing 3 times and a limit of 3 tries
    settings.OUTBOX_MAX_ATTEMPTS = 3
    receiver, _ = endpoint(receivers, fail=3)
    with transaction.atomic():
        webhook_emit(event_type="sla.breached", ref="sla.breached:9", data={}, now=NOW)
    message = OutboxMessage.objects.get()
    # when tried three times
    at = NOW
    for _ in range(3):
        outbox.message_deliver(message_id=message.pk, now=at)
        at += timedelta(hours=7)
    message.refresh_from_db()
    # then it is given up and listed on the deliveries page with its error
    assert message.status == Status.FAILED and message.attempts == 3
    client = login(admin_user_role)
    page = client.get(reverse("deliveries")).content.decode()
    assert "sla.breached:9" in page and "HTTP 500" in page and "Retry now" in page
    # when the administrator retries it (the receiver works again)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("delivery_retry", args=[message.pk]))
    # then it is sent at once, exactly once, and leaves the failing list
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == Status.SENT and len(receiver.delivered) == 1
    assert "No failing deliveries." in client.get(reverse("deliveries")).content.decode()


def test_a_broker_outage_loses_nothing_the_sweeper_delivers_later(monkeypatch, settings, receivers,
                                                                  django_capture_on_commit_callbacks):  # fmt: skip
    # given the broker is down: queueing any delivery fails
    def broker_down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox.outbox_deliver_many_task, "delay", broker_down)
    receiver, _ = endpoint(receivers)
    # when an event is written and committed
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        webhook_emit(event_type="sla.breached", ref="sla.breached:5", data={}, now=NOW)
    # then the commit went through and the message waits, unsent
    message = OutboxMessage.objects.get()
    assert message.status == Status.PENDING and receiver.received == []
    # when the sweeper runs (too early for a stale message, then after the stale delay)
    assert outbox.outbox_sweep(now=NOW + timedelta(seconds=5)) == 0
    sent = outbox.outbox_sweep(now=NOW + timedelta(seconds=settings.OUTBOX_STALE_SECONDS + 1))
    # then it is delivered once
    assert sent == 1 and len(receiver.delivered) == 1
    assert outbox.outbox_sweep(now=NOW + timedelta(hours=1)) == 0 and len(receiver.received) == 1


def test_the_delivery_task_retries_database_errors_with_backoff(monkeypatch):
    # given the database is unreachable while delivering
    def database_down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    retried: list[int] = []

    class Retry(Exception):
        pass

    def retry(*, exc=None, countdown=None, **kwargs):
        retried.append(countdown)
        return Retry()

    monkeypatch.setattr(outbox, "message_deliver", database_down)
    monkeypatch.setattr(outbox.outbox_deliver_task, "retry", retry)
    # when a worker (not in-process) runs the task
    with pytest.raises(Retry):
        outbox.outbox_deliver_task.run(1)
    # then it asked Celery to retry after the first backoff
    assert retried == [30]


def test_in_app_messages_become_one_notification_even_if_delivered_twice(rep):
    # given an in-app message delivered, then (say the commit of "sent" was lost) delivered again by force
    with transaction.atomic():
        outbox.outbox_put(event="lead.hot", ref="lead.hot:1:x", channel="inapp", recipient=str(rep.pk),
                          payload={"text": "Hot lead: Ann", "url": "/leads/1/"}, now=NOW)  # fmt: skip
    message = OutboxMessage.objects.get()
    outbox.message_deliver(message_id=message.pk, now=NOW)
    OutboxMessage.objects.filter(pk=message.pk).update(status=Status.PENDING)
    outbox.message_deliver(message_id=message.pk, now=NOW)
    # then the rep has one notification
    assert list(Notification.objects.values_list("user_id", "text")) == [(rep.pk, "Hot lead: Ann")]


def test_e_mail_failure_is_recorded_and_retried(monkeypatch):
    # given the mail server refuses once
    calls = {"n": 0}

    def flaky_send(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionRefusedError("SMTP down")
        return 1

    monkeypatch.setattr("alignment.channels.send_mail", flaky_send)
    with transaction.atomic():
        outbox.outbox_put(event="sla.breached", ref="sla.breached:3", channel="email", recipient="ann@x.example",
                          payload={"subject": "s", "body": "b"}, now=NOW)  # fmt: skip
    message = OutboxMessage.objects.get()
    # when delivered, then swept after the wait
    first = outbox.message_deliver(message_id=message.pk, now=NOW)
    swept = outbox.outbox_sweep(now=NOW + timedelta(minutes=5))
    # then the first try failed with the reason and the second sent it
    assert first.status == "retry" and swept == 1 and calls["n"] == 2
    assert "SMTP down" in DeliveryAttempt.objects.order_by("pk").first().error
    assert mail.outbox == []  # (send_mail was replaced; the real one is exercised by the leads tests)


def test_with_a_real_broker_unreachable_the_commit_stands_and_nothing_raises(receivers, caplog, monkeypatch):
    """Not a mock: the delivery task is published to a Redis port nobody listens on, as when Redis is killed.
    A Celery app of its own does the publishing, so the site's app (and its cached connections, which later
    tests use) is left alone."""
    from celery import Celery

    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery lets the environment override `broker`
    dead = Celery("dead-broker", broker="redis://127.0.0.1:1/0", set_as_current=False)
    dead.conf.update(task_publish_retry=False, broker_connection_timeout=1, broker_connection_retry=False)
    monkeypatch.setattr(
        outbox.outbox_deliver_many_task,
        "delay",
        lambda message_ids: dead.send_task(outbox.outbox_deliver_many_task.name, args=[message_ids]),
    )
    receiver, _ = endpoint(receivers)
    try:
        with transaction.atomic():
            webhook_emit(event_type="sla.breached", ref="sla.breached:11", data={}, now=NOW)
            message = OutboxMessage.objects.get()
        outbox._enqueue([message.pk])  # what runs after the commit; it must swallow the broker's error
    finally:
        dead.close()
    # then the publish failed (and said so), the message is still there, unsent, and the sweeper delivers it
    assert "could not queue message" in caplog.text
    assert OutboxMessage.objects.get().status == Status.PENDING and receiver.received == []
    assert outbox.outbox_sweep(now=NOW + timedelta(minutes=1)) == 1 and len(receiver.delivered) == 1


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_one_message_send_it_once(receivers, monkeypatch):
    """Four real database connections deliver the same message at once (task retries and the sweeper); the
    row lock (SKIP LOCKED) lets exactly one send it."""
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip(
            "SELECT ... FOR UPDATE SKIP LOCKED is a no-op on SQLite; proven on PostgreSQL (CI runs it)"
        )
    receiver, _ = endpoint(receivers)
    monkeypatch.setattr(
        outbox.outbox_deliver_many_task, "delay", lambda message_ids: None
    )  # the queued task is late
    with transaction.atomic():
        webhook_emit(event_type="sla.breached", ref="sla.breached:21", data={}, now=NOW)
    message = OutboxMessage.objects.get()
    assert message.status == Status.PENDING
    barrier = threading.Barrier(4)
    results: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(outbox.message_deliver(message_id=message.pk, now=NOW).status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results.count("sent") == 1 and len(results) == 4
    assert len(receiver.received) == 1
    assert DeliveryAttempt.objects.filter(message=message).count() == 1


def test_the_sweep_command_sends_what_is_due(receivers, monkeypatch, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.OUTBOX_STALE_SECONDS = 0
    receiver, _ = endpoint(receivers)
    with transaction.atomic():
        webhook_emit(event_type="sla.breached", ref="sla.breached:31", data={}, now=NOW)
    out = StringIO()
    call_command("outbox_sweep", stdout=out)
    assert out.getvalue().strip() == "1 sent" and len(receiver.delivered) == 1


def test_one_transaction_s_messages_are_one_delivery_job_and_each_is_sent_once(
    rep, monkeypatch, django_capture_on_commit_callbacks
):
    # given a transaction that writes three in-app messages (a breach scan's batch, say)
    queued: list[list[int]] = []
    monkeypatch.setattr(
        outbox.outbox_deliver_many_task, "delay", lambda message_ids: queued.append(message_ids)
    )
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(3):
            outbox.outbox_put(event="sla.breached", ref=f"sla.breached:{n}", channel="inapp", recipient=str(rep.pk),
                              payload={"text": f"breach {n}", "url": "/leads/1/"}, now=NOW)  # fmt: skip
    # then one delivery job was queued after the commit, for all three
    assert [sorted(ids) for ids in queued] == [sorted(OutboxMessage.objects.values_list("pk", flat=True))]
    # when the job runs, and is delivered a second time (a worker died before acknowledging it)
    first = outbox.outbox_deliver_many_task.run(queued[0])
    second = outbox.outbox_deliver_many_task.run(queued[0])
    # then each message was sent once
    assert first == {"sent": 3} and second == {"already sent": 3}
    assert sorted(Notification.objects.values_list("text", flat=True)) == ["breach 0", "breach 1", "breach 2"]


def test_a_large_batch_is_written_whole_once_and_queued_as_one_job(
    monkeypatch, django_capture_on_commit_callbacks
):
    # given a batch written through COPY on PostgreSQL (any size from one row), the bulk insert elsewhere
    from alignment import copywrite

    monkeypatch.setattr(copywrite, "COPY_FROM_ROWS", 1)
    queued: list[list[int]] = []
    monkeypatch.setattr(
        outbox.outbox_deliver_many_task, "delay", lambda message_ids: queued.append(message_ids)
    )
    items = [
        outbox.Item("sla.breached", f"sla.breached:{n}", "email", f"rep{n}@x.example",
                    {"subject": f"Breach {n}", "body": "late, \"quoted\" \\ and 日本語"})
        for n in range(150)
    ]  # fmt: skip
    # when it is written, then written again (the scan announced the same breaches twice)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        first = outbox.outbox_put_many(items, now=NOW)
        again = outbox.outbox_put_many(items, now=NOW)
    # then every message is there once, with its payload intact, and one job carries all their ids
    assert (first, again) == (150, 0)
    stored = {m.key: m for m in OutboxMessage.objects.all()}
    assert len(stored) == 150
    assert stored["sla.breached:7:email:rep7@x.example"].payload == {
        "subject": "Breach 7", "body": "late, \"quoted\" \\ and 日本語",
    }  # fmt: skip
    assert [sorted(ids) for ids in queued] == [sorted(m.pk for m in stored.values())]
