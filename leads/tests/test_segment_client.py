"""The real `segment-analytics-python` library, pointed at this site (pytest-django's live server), no glue."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from segment.analytics import Client
from segment.analytics import consumer as segment_consumer
from segment.analytics import request as segment_request
from segment.analytics.request import APIError, post

from leads.models import Activity, DataProblem, IdentityKind, Lead, LeadEvent, LeadIdentity, State, Tier
from leads.services import write_key_create
from sla.services import agreement_ensure_starter

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _hang_up() -> Iterator[None]:
    """The library keeps HTTP connections alive in a module-level session; closing them after each test lets the
    live server's request threads end and close their database connections (so the test database can be dropped)."""
    yield
    segment_request._session.close()


@pytest.fixture
def write_key(marketing_manager, sales_manager) -> str:
    """The starter agreement in force (a demo request by a lead in target is a hot trigger) and a write key."""
    agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=timezone.now()
    )
    _, raw = write_key_create(name="website", now=timezone.now())
    return raw


@pytest.fixture
def segment_client(live_server, write_key) -> Iterator[tuple[Client, list[Any]]]:
    """A batching client (a background thread, gzip on) as an application would run it."""
    errors: list[Any] = []
    client = Client(
        write_key, host=live_server.url, gzip=True, upload_interval=0.05, max_retries=2,
        on_error=lambda error, batch: errors.append(error),
    )  # fmt: skip
    yield client, errors
    client.shutdown()


def test_identify_page_and_demo_request_land_and_score_exactly_once(
    segment_client, live_server, write_key, rep
):
    client, errors = segment_client
    # given a visitor who browses anonymously, then identifies, then requests a demo
    sent = [
        client.page(anonymous_id="anon-7", name="Pricing", properties={"path": "/pricing", "url": f"{live_server.url}/pricing"})[1],
        client.identify(
            user_id="user-7", anonymous_id="anon-7",
            traits={"email": "Grace@Navy.example", "firstName": "Grace", "lastName": "Hopper",
                    "title": "Director of Engineering", "company": {"name": "Navy", "employee_count": 1200}},
        )[1],
        client.track(user_id="user-7", event="Demo Requested", properties={"plan": "enterprise"})[1],
    ]  # fmt: skip
    # when the library flushes its queue
    client.flush()
    # then everything landed on one lead, which is a hot MQL with its claim clock running, and sales was told
    assert errors == []
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company, lead.employees, lead.seniority) == (
        "grace@navy.example", "Grace", "Navy", 1200, "director",
    )  # fmt: skip
    assert sorted(lead.activities.values_list("type", flat=True)) == ["demo_request", "page"]
    assert set(lead.identities.values_list("kind", "value")) == {
        (IdentityKind.USER_ID, "user-7"),
        (IdentityKind.ANONYMOUS_ID, "anon-7"),
    }
    assert (lead.state, lead.tier) == (State.MQL, Tier.HOT)
    assert lead.claim_due_at is not None and lead.claim_due_at > lead.mql_at
    assert {hit["reason"] for hit in lead.breakdown["triggers"]} == {"requested a demo", "viewed pricing"}
    assert any("Hot lead" in message.subject for message in mail.outbox)
    state_events = list(
        LeadEvent.objects.filter(kind=LeadEvent.Kind.STATE).values_list("to_value", flat=True)
    )
    assert state_events == [State.MQL]
    before = (
        Lead.objects.count(),
        Activity.objects.count(),
        LeadIdentity.objects.count(),
        LeadEvent.objects.count(),
    )
    mails = len(mail.outbox)
    # when the very same batch (same messageIds) is sent again by the library's own request function, gzip-compressed
    response = post(write_key, live_server.url, gzip=True, batch=sent)
    # then it is acknowledged and nothing is counted twice: no new activity, event, id, lead or notification
    assert response.status_code == 200 and response.json() == {"success": True}
    after = (
        Lead.objects.count(),
        Activity.objects.count(),
        LeadIdentity.objects.count(),
        LeadEvent.objects.count(),
    )
    assert after == before
    assert len(mail.outbox) == mails
    lead_again = Lead.objects.get()
    assert (lead_again.score, lead_again.mql_at, lead_again.claim_due_at) == (
        lead.score,
        lead.mql_at,
        lead.claim_due_at,
    )


def test_an_explicit_message_id_sent_twice_in_sync_mode_is_stored_once(live_server, write_key):
    # given a client that sends each call at once
    client = Client(write_key, host=live_server.url, sync_mode=True)
    # when the same event is tracked twice with the same message id
    client.track(user_id="user-1", event="Webinar Attended", message_id="webinar-42")
    client.track(user_id="user-1", event="Webinar Attended", message_id="webinar-42")
    # then one webinar activity
    assert list(Activity.objects.values_list("type", "message_id")) == [("webinar", "webinar-42")]


def test_an_unusable_message_is_set_aside_and_its_batch_mates_stored(live_server, write_key):
    # given a client that batches, sending a track with an empty name between two good calls
    errors: list[Any] = []
    client = Client(write_key, host=live_server.url, on_error=lambda error, batch: errors.append(error))
    client.identify(user_id="user-1", traits={"email": "ada@acme.example", "employees": "unknown"})
    client.track(user_id="user-1", event="")
    client.track(user_id="user-1", event="Webinar Attended")
    client.flush()
    client.shutdown()
    # then the library saw no error (a 400 would have dropped the whole batch); the good calls are stored
    assert errors == []
    lead = Lead.objects.get()
    assert lead.email == "ada@acme.example"
    assert list(lead.activities.values_list("type", flat=True)) == ["webinar"]
    # and what was set aside is listed for marketers
    assert sorted(DataProblem.objects.values_list("field", "problem")) == [
        ("batch[0].traits.employees", "“unknown” is not a number of employees"),
        ("batch[1].event", "required for track"),
    ]


def test_a_wrong_write_key_reaches_the_library_as_401(live_server, write_key):
    # given a client with a wrong key / when it sends / then the library sees 401 with our message
    client = Client("wk_wrong", host=live_server.url, sync_mode=True)
    with pytest.raises(APIError) as caught:
        client.identify(user_id="user-1", traits={"email": "a@b.example"})
    assert (caught.value.status, caught.value.message) == (401, "Invalid or inactive write key")


def test_the_library_backs_off_on_429_and_delivers_later(live_server, write_key, settings, monkeypatch):
    # given a site that refuses every ingest request for now (no free slot), asking to retry after 1 second
    settings.INGEST_MAX_CONCURRENT = 0
    settings.INGEST_RETRY_AFTER_SECONDS = 1
    statuses: list[int] = []

    def recording_post(*args: Any, **kwargs: Any) -> Any:
        try:
            response = post(*args, **kwargs)
        except APIError as error:
            statuses.append(error.status)
            raise
        statuses.append(response.status_code)
        return response

    monkeypatch.setattr(segment_consumer, "post", recording_post)
    errors: list[Any] = []
    client = Client(
        write_key,
        host=live_server.url,
        upload_interval=0.05,
        on_error=lambda error, batch: errors.append(error),
    )
    try:
        client.track(user_id="user-1", event="Trial Started", message_id="trial-1")
        # when the site recovers while the library waits out Retry-After
        deadline = time.monotonic() + 5
        while not statuses and time.monotonic() < deadline:
            time.sleep(0.01)
        settings.INGEST_MAX_CONCURRENT = 8
        client.flush()
    finally:
        client.shutdown()
    # then the library was told 429, retried, and the event was stored once
    assert statuses[0] == 429 and statuses[-1] == 200
    assert errors == []
    assert list(Activity.objects.values_list("type", flat=True)) == ["trial_signup"]
