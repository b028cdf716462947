"""The HTTP API through Django's test client: Segment-compatible ingest (/v1/...) and the lead read API (/api/...)."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from openapi_spec_validator import validate

from leads.intake import ingest
from leads.intake.events_api import gate
from leads.intake.segment import PayloadError
from leads.models import (
    Activity,
    DataProblem,
    IdentityKind,
    Lead,
    LeadEvent,
    LeadIdentity,
    State,
    Tier,
    WriteKey,
)
from leads.services import LeadData, api_token_create, key_hash, lead_upsert, write_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def write_key() -> str:
    _, raw = write_key_create(name="website", now=timezone.now())
    return raw


def basic(raw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{raw}:".encode()).decode()}


def post(
    client: Client,
    path: str,
    body: Any,
    *,
    key: str | None = None,
    compress: bool = False,
    headers: dict[str, str] | None = None,
):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    all_headers = {**(basic(key) if key else {}), **(headers or {})}
    if compress:
        data = gzip.compress(data)
        all_headers["Content-Encoding"] = "gzip"
    return client.post(path, data=data, content_type="application/json", headers=all_headers)


def ago(**delta: float) -> str:
    return (timezone.now() - timedelta(**delta)).isoformat()


def identify(user_id: str = "u1", anonymous_id: str | None = None, message_id: str = "id-1", **traits):
    traits = {"email": "ada@acme.example", "firstName": "Ada", "company": "Acme", "employees": 250, **traits}
    message = {"type": "identify", "userId": user_id, "traits": traits, "messageId": message_id}
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    return message


def track(
    event: str = "Demo Requested",
    message_id: str = "tr-1",
    *,
    properties: dict | None = None,
    timestamp: str | None = None,
    **ids: str,
) -> dict[str, Any]:
    message = {
        "type": "track",
        "event": event,
        "messageId": message_id,
        "timestamp": timestamp or ago(seconds=5),
    }
    return {**message, "properties": properties or {}, **(ids or {"userId": "u1"})}


def page(path: str = "/pricing", message_id: str = "pg-1", **ids):
    return {
        "type": "page",
        "properties": {"path": path},
        "messageId": message_id,
        "timestamp": ago(minutes=1),
        **ids,
    }


def counts() -> tuple[int, int, int, int]:
    return (
        Lead.objects.count(),
        Activity.objects.count(),
        LeadIdentity.objects.count(),
        LeadEvent.objects.count(),
    )


# --- authentication ------------------------------------------------------------------------------------------


def test_a_batch_with_the_write_key_as_basic_auth_is_stored(client, write_key):
    # given a batch: identify, then a page and a demo request
    batch = {"batch": [identify(), page(userId="u1"), track()]}
    # when posted with the write key as basic auth user name
    response = post(client, "/v1/batch", batch, key=write_key)
    # then Segment's clients get what they expect, and the lead holds both activities
    assert response.status_code == 200 and response.json() == {"success": True}
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company, lead.employees) == (
        "ada@acme.example",
        "Ada",
        "Acme",
        250,
    )
    assert sorted(lead.activities.values_list("type", "source")) == [("demo_request", "api"), ("page", "api")]
    assert list(lead.identities.values_list("kind", "value")) == [("user_id", "u1")]


def test_the_write_key_may_come_in_the_body(client, write_key):
    # given no Authorization header, the key as writeKey in the body
    response = post(client, "/v1/batch", {"batch": [track()], "writeKey": write_key})
    # then it is accepted
    assert response.status_code == 200
    assert Activity.objects.get().type == "demo_request"


def test_the_write_key_in_a_gzip_body_is_found(client, write_key):
    # given a gzip body carrying its writeKey
    response = post(client, "/v1/batch", {"batch": [track()], "writeKey": write_key}, compress=True)
    # then it is decompressed before the key is read
    assert response.status_code == 200 and Activity.objects.count() == 1


@pytest.mark.parametrize(
    ("headers", "body_key", "message"),
    [
        ({}, None, "No write key: send it as the basic auth user name (empty password) or as writeKey in the body"),
        (basic("wk_wrong"), None, "Invalid or inactive write key"),
        ({}, "wk_wrong", "Invalid or inactive write key"),
        ({"Authorization": "Bearer abc"}, None, "Bearer authorization is not accepted here: send the write key as the basic auth user name"),
        ({"Authorization": "Basic !!!"}, None, "The Authorization header is not valid basic auth"),
    ],
)  # fmt: skip
def test_a_missing_or_wrong_write_key_is_refused_with_401(client, write_key, headers, body_key, message):
    # given a batch without a valid key
    body = {"batch": [track()], **({"writeKey": body_key} if body_key else {})}
    # when posted
    response = post(client, "/v1/batch", body, headers=headers)
    # then 401 with a clear message, and nothing is stored
    assert response.status_code == 401
    assert response.json() == {"success": False, "code": "unauthorized", "message": message}
    assert response["WWW-Authenticate"] == 'Basic realm="Alignment events"'
    assert counts() == (0, 0, 0, 0)


def test_an_inactive_write_key_is_refused(client, write_key):
    # given a key that was deactivated
    WriteKey.objects.update(is_active=False)
    # when used / then 401
    assert post(client, "/v1/batch", {"batch": [track()]}, key=write_key).status_code == 401
    assert Activity.objects.count() == 0


def test_last_used_at_is_written_at_most_once_a_minute(client, write_key):
    # given a key used 30 seconds ago
    recent = timezone.now() - timedelta(seconds=30)
    WriteKey.objects.update(last_used_at=recent)
    # when used again / then last_used_at is left alone
    post(client, "/v1/batch", {"batch": []}, key=write_key)
    assert WriteKey.objects.get().last_used_at == recent
    # when used two minutes after its last use / then it is updated
    WriteKey.objects.update(last_used_at=recent - timedelta(minutes=2))
    post(client, "/v1/batch", {"batch": []}, key=write_key)
    assert WriteKey.objects.get().last_used_at > recent


def test_ingest_needs_no_csrf_token_even_with_a_session_cookie(write_key, rep):
    # given a browser-like client that enforces CSRF and is logged in
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    # when it posts a batch with the write key
    response = post(client, "/v1/batch", {"batch": [track()]}, key=write_key)
    # then the key authenticates it: CSRF does not apply
    assert response.status_code == 200


# --- the single-message endpoints ------------------------------------------------------------------------------


def test_track_identify_and_page_endpoints_take_one_message_each(client, write_key):
    # given one message per endpoint, without the type field (the endpoint says it)
    calls = [
        ("/v1/identify", {k: v for k, v in identify(anonymous_id="a1").items() if k != "type"}),
        ("/v1/page", {"anonymousId": "a1", "properties": {"path": "/blog/x"}, "messageId": "p"}),
        ("/v1/track", {"userId": "u1", "event": "Webinar Attended", "messageId": "t"}),
    ]
    # when each is posted
    statuses = [post(client, path, body, key=write_key).status_code for path, body in calls]
    # then all land on one lead
    assert statuses == [200, 200, 200]
    lead = Lead.objects.get()
    assert sorted(lead.activities.values_list("type", flat=True)) == ["page", "webinar"]


def test_a_single_message_endpoint_refuses_another_type(client, write_key):
    # given a page posted to /v1/track
    response = post(client, "/v1/track", page(userId="u1"), key=write_key)
    # then 400 naming the type
    assert response.status_code == 400
    assert response.json()["message"] == "type: must be “track” on /v1/track (got 'page')"


# --- bodies and limits -----------------------------------------------------------------------------------------


def test_a_gzip_batch_is_accepted(client, write_key):
    # given a gzip-compressed batch
    response = post(client, "/v1/batch", {"batch": [identify(), track()]}, key=write_key, compress=True)
    # then it is stored
    assert response.status_code == 200
    assert Activity.objects.get().lead.email == "ada@acme.example"


def test_a_gzip_bomb_is_refused_with_413_and_stores_nothing(client, write_key):
    # given a small gzip body that inflates to 20 MB
    padding = "x" * 20_000_000
    body = gzip.compress(json.dumps({"batch": [track(properties={"p": padding})]}).encode())
    assert len(body) < 200_000
    # when posted
    response = post(client, "/v1/batch", body, key=write_key, headers={"Content-Encoding": "gzip"})
    # then it is refused as too large, and nothing is stored
    assert response.status_code == 413
    assert response.json()["message"] == (
        "request body is over 4,194,304 bytes once decompressed; the limit is 4,194,304 bytes"
    )
    assert counts() == (0, 0, 0, 0)


def test_a_batch_over_4_mb_is_refused_with_413(client, write_key):
    # given 140 messages of 30 KB each: every message fits, the batch does not
    batch = {"batch": [track(message_id=f"m{i}", properties={"p": "x" * 30_000}) for i in range(140)]}
    # when posted uncompressed
    response = post(client, "/v1/batch", batch, key=write_key)
    # then 413 with the size and the limit
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert response.json()["message"].endswith("bytes; the limit is 4,194,304 bytes")
    assert Activity.objects.count() == 0


def test_a_3_mb_batch_as_rudderstack_sends_is_stored(client, write_key):
    # given 100 messages of 30 KB each (3 MB: over Segment's 500 KB, within RudderStack's 4 MB)
    batch = {"batch": [track(message_id=f"m{i}", properties={"p": "x" * 30_000}) for i in range(100)]}
    # when posted / then every message is stored
    response = post(client, "/v1/batch", batch, key=write_key)
    assert response.status_code == 200, response.content[:300]
    assert Activity.objects.count() == 100


def test_a_message_over_32_kb_in_a_batch_is_set_aside_naming_it(client, write_key):
    # given a batch whose third message is 40 KB
    batch = {
        "batch": [
            track(message_id="a"),
            track(message_id="b"),
            track(message_id="c", properties={"p": "x" * 40_000}),
        ]
    }
    # when posted
    response = post(client, "/v1/batch", batch, key=write_key)
    # then the two good messages are stored, and the big one is set aside, named, as a data problem
    assert response.status_code == 200
    assert response.json()["set_aside"][0].startswith("batch[2]: is 40,")
    assert Activity.objects.count() == 2
    problem = DataProblem.objects.get()
    assert (problem.lead, problem.message_id, problem.field) == (None, "c", "batch[2]")


def test_a_single_message_over_32_kb_is_refused_with_413(client, write_key):
    # given a /v1/track body of 40 KB
    response = post(client, "/v1/track", track(properties={"p": "x" * 40_000}), key=write_key)
    # then 413 with the limit for one message
    assert response.status_code == 413
    assert response.json()["message"].endswith("bytes; the limit is 32,768 bytes")


def test_settings_can_lower_the_limits(client, write_key, settings):
    # given a 1 KB batch limit
    settings.INGEST_MAX_BATCH_BYTES = 1024
    # when a 2 KB batch is posted / then it is refused
    response = post(client, "/v1/batch", {"batch": [track(properties={"p": "x" * 2000})]}, key=write_key)
    assert response.status_code == 413
    assert response.json()["message"].endswith("the limit is 1,024 bytes")


def test_an_unsupported_content_encoding_is_refused_with_415(client, write_key):
    # given a brotli body / then 415
    response = post(client, "/v1/batch", b"...", key=write_key, headers={"Content-Encoding": "br"})
    assert response.status_code == 415 and response.json()["code"] == "unsupported_encoding"


def test_a_body_that_is_not_json_is_refused_precisely(client, write_key):
    # given a body cut short / then 400 with the JSON error's position
    response = post(client, "/v1/batch", b'{"batch": [', key=write_key)
    assert response.status_code == 400
    assert response.json()["message"] == "request body is not valid JSON: Expecting value at line 1 column 12"


# --- tolerance: a bad field or message never costs the rest ----------------------------------------------------


def test_an_unusable_message_is_set_aside_and_the_rest_of_the_batch_stored(client, write_key, agreement):
    # given a lead already known, and a batch whose fourth message (a track) has no event
    lead_upsert(data=LeadData(email="ada@acme.example", fields={"company": "Old name"}), now=timezone.now())
    bad = {"type": "track", "userId": "u1", "messageId": "bad"}
    batch = {"batch": [identify(), page(userId="u1"), track(), bad]}
    # when posted
    response = post(client, "/v1/batch", batch, key=write_key)
    # then 200 (clients would drop the whole batch on a 400); the good messages are stored; the bad one is named
    assert response.status_code == 200
    assert response.json() == {"success": True, "set_aside": ["batch[3].event: required for track"]}
    lead = Lead.objects.get()
    assert lead.company == "Acme"
    assert lead.activities.count() == 2
    problem = DataProblem.objects.get()
    assert (problem.lead, problem.message_id, problem.field, problem.problem) == (
        None,
        "bad",
        "batch[3].event",
        "required for track",
    )


def test_bad_fields_are_set_aside_on_the_lead_and_the_rest_kept(client, write_key):
    # given an identify with e-mail "n/a" and employees "unknown", and a track with an epoch timestamp
    batch = {
        "batch": [
            identify(email="n/a", employees="unknown", message_id="i1"),
            track(timestamp="1970-01-01T00:00:00Z", userId="u1"),
        ]
    }
    # when posted
    body = post(client, "/v1/batch", batch, key=write_key).json()
    # then both messages are stored, every good field kept, and each bad one named and shown on the lead
    assert body["success"] is True
    assert body["set_aside"] == [
        "batch[0].traits.email: 'n/a' is not a valid e-mail address",
        "batch[0].traits.employees: “unknown” is not a number of employees",
        "batch[1].timestamp: is not a plausible time (before 2000 or in the future): the time of receipt is used",
    ]
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company, lead.employees) == ("", "Ada", "Acme", None)
    assert lead.activities.get().occurred_at > timezone.now() - timedelta(minutes=1)
    assert sorted(lead.data_problems.values_list("field", "value")) == [
        ("batch[0].traits.email", "n/a"),
        ("batch[0].traits.employees", "unknown"),
        ("batch[1].timestamp", "1970-01-01T00:00:00+00:00"),
    ]


def test_a_retried_batch_records_its_problems_once(client, write_key):
    # given a batch with a bad field, posted twice (a client's retry)
    batch = {"batch": [identify(email="n/a", message_id="i1")]}
    post(client, "/v1/batch", batch, key=write_key)
    post(client, "/v1/batch", batch, key=write_key)
    # then the problem is listed once
    assert DataProblem.objects.count() == 1


# --- idempotency, identity ------------------------------------------------------------------------------------


def test_a_retried_batch_is_stored_and_scored_once(client, write_key, agreement):
    # given a batch that makes a lead a hot MQL
    batch = {"batch": [identify(), page(userId="u1"), track()]}
    assert post(client, "/v1/batch", batch, key=write_key).status_code == 200
    after_first = counts()
    lead = Lead.objects.get()
    # when the client retries the very same batch (same messageIds), twice
    second = post(client, "/v1/batch", batch, key=write_key)
    third = post(client, "/v1/batch", batch, key=write_key, compress=True)
    # then it succeeds (so the client stops retrying) and nothing is counted twice
    assert (second.status_code, third.status_code) == (200, 200)
    assert counts() == after_first
    assert list(LeadEvent.objects.values_list("kind", "to_value")) == [("state", "mql")]
    lead_after = Lead.objects.get()
    assert (lead_after.score, lead_after.mql_at, lead_after.claim_due_at) == (
        lead.score,
        lead.mql_at,
        lead.claim_due_at,
    )


def test_a_message_repeated_within_one_batch_is_stored_once(client, write_key):
    # given a batch holding the same track twice
    response = post(client, "/v1/batch", {"batch": [track(), track()]}, key=write_key)
    # then one activity
    assert response.status_code == 200 and Activity.objects.count() == 1


def test_a_retried_identify_changes_nothing_more(client, write_key):
    # given an identify already received
    batch = {"batch": [identify(anonymous_id="anon-1", title="Head of Sales", plan="pro")]}
    post(client, "/v1/batch", batch, key=write_key)
    lead = Lead.objects.get()
    snapshot = (lead.email, lead.job_title, lead.seniority, lead.attributes, lead.updated_at)
    before = counts()
    # when it is delivered again
    assert post(client, "/v1/batch", batch, key=write_key).status_code == 200
    # then no lead, id or event is added and the lead is not touched
    lead.refresh_from_db()
    assert counts() == before
    assert (lead.email, lead.job_title, lead.seniority, lead.attributes, lead.updated_at) == snapshot
    assert snapshot[2:4] == ("director", {"plan": "pro"})


def test_identify_attaches_earlier_anonymous_activity_to_the_lead(client, write_key, agreement):
    # given a visitor browsing anonymously in an earlier batch
    post(
        client,
        "/v1/batch",
        {
            "batch": [
                page("/blog/a", "p1", anonymousId="anon-1"),
                page("/pricing", "p2", anonymousId="anon-1"),
            ]
        },
        key=write_key,
    )
    anonymous = Lead.objects.get()
    assert anonymous.email == "" and anonymous.activities.count() == 2
    # and a lead imported earlier under the same e-mail
    known, _ = lead_upsert(
        data=LeadData(email="ada@acme.example", fields={"job_title": "CTO"}), now=timezone.now()
    )
    # when identify links the anonymousId to the userId and e-mail
    response = post(client, "/v1/batch", {"batch": [identify(anonymous_id="anon-1")]}, key=write_key)
    # then the anonymous visits now belong to the known lead, which also knows both ids; the visitor lead is gone
    assert response.status_code == 200
    assert list(Lead.objects.values_list("pk", flat=True)) == [known.pk]
    assert sorted(Activity.objects.filter(lead=known).values_list("properties__path", flat=True)) == [
        "/blog/a",
        "/pricing",
    ]
    assert set(LeadIdentity.objects.filter(lead=known).values_list("kind", "value")) == {
        (IdentityKind.USER_ID, "u1"),
        (IdentityKind.ANONYMOUS_ID, "anon-1"),
    }
    merge = LeadEvent.objects.get(kind=LeadEvent.Kind.MERGE)
    assert (merge.lead_id, merge.from_value) == (known.pk, str(anonymous.pk))
    # and the pricing view now counts for the identified lead (it passes the gates: a pricing-in-target trigger)
    known.refresh_from_db()
    assert known.state == State.MQL and known.tier == Tier.HOT


def test_anonymous_then_identified_in_one_batch_is_one_lead(client, write_key):
    # given a batch: an anonymous page view, then identify with the same anonymousId, then a track by userId
    batch = {"batch": [page(anonymousId="anon-9"), identify(anonymous_id="anon-9"), track(userId="u1")]}
    # when posted
    assert post(client, "/v1/batch", batch, key=write_key).status_code == 200
    # then one lead holds everything
    lead = Lead.objects.get()
    assert lead.activities.count() == 2 and lead.identities.count() == 2


def test_a_later_user_id_on_a_shared_anonymous_id_never_merges_two_people(client, write_key):
    # given Ada identified on a shared computer
    post(client, "/v1/batch", {"batch": [identify(anonymous_id="shared")]}, key=write_key)
    # when Bob identifies on the same computer
    bob = identify(
        user_id="u2", anonymous_id="shared", message_id="id-2", email="bob@acme.example", firstName="Bob"
    )
    assert (
        post(
            client, "/v1/batch", {"batch": [bob, track(userId="u2", message_id="t-bob")]}, key=write_key
        ).status_code
        == 200
    )
    # then there are two leads, and Bob's demo request is his
    assert sorted(Lead.objects.values_list("email", flat=True)) == ["ada@acme.example", "bob@acme.example"]
    assert Activity.objects.get().lead.email == "bob@acme.example"


# --- scoring and notification ----------------------------------------------------------------------------------


def test_a_demo_request_makes_the_lead_a_hot_mql_and_tells_sales_after_commit(
    client, write_key, agreement, rep, django_capture_on_commit_callbacks
):
    # given an identified lead at a 250-person company
    batch = {"batch": [identify(), track()]}
    # when the batch arrives
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "/v1/batch", batch, key=write_key)
    # then the lead is a hot MQL with its SLA clocks running, and the reps were e-mailed
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert (lead.state, lead.tier) == (State.MQL, Tier.HOT)
    assert lead.mql_at is not None and lead.claim_due_at > lead.mql_at
    assert lead.first_contact_due_at and lead.accept_due_at and lead.outcome_due_at
    assert [trigger["reason"] for trigger in lead.breakdown["triggers"]] == ["requested a demo"]
    assert rep.email in [message.to[0] for message in mail.outbox]


def test_a_lead_outside_the_gates_is_stored_but_not_an_mql(client, write_key, agreement):
    # given a 3-person company requesting a demo
    batch = {"batch": [identify(employees="1-3"), track()]}
    # when the batch arrives / then the lead is scored but stays new
    assert post(client, "/v1/batch", batch, key=write_key).status_code == 200
    lead = Lead.objects.get()
    assert (lead.employees, lead.state, lead.tier) == (1, State.NEW, "")
    assert lead.scored_with == agreement


# --- back-pressure ---------------------------------------------------------------------------------------------


def test_too_many_concurrent_requests_get_429_with_retry_after(client, write_key, settings):
    # given one ingest request already in progress and a limit of one
    settings.INGEST_MAX_CONCURRENT = 1
    settings.INGEST_RETRY_AFTER_SECONDS = 3
    with gate.enter():
        # when another batch arrives
        response = post(client, "/v1/batch", {"batch": [track()]}, key=write_key)
    # then the client is asked to come back later, and nothing was stored
    assert response.status_code == 429
    assert response["Retry-After"] == "3"
    assert response.json()["code"] == "rate_limited"
    assert Activity.objects.count() == 0
    # when it retries once the other request is done / then it is stored
    assert post(client, "/v1/batch", {"batch": [track()]}, key=write_key).status_code == 200
    assert Activity.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_lead_locked_too_long_gives_429_and_the_retry_succeeds(write_key, settings):
    # given a lead known by its userId, locked by another database session (a long transaction)
    settings.INGEST_LOCK_TIMEOUT_MS = 200
    lead, _ = lead_upsert(
        data=LeadData(email="ada@acme.example", identities={IdentityKind.USER_ID: "u1"}), now=timezone.now()
    )
    other = connection.copy()
    other.ensure_connection()
    other.set_autocommit(False)
    with other.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT id FROM leads_lead WHERE id = %s FOR UPDATE", [lead.pk])
        else:  # SQLite (shared-cache test database): a write lock on the table
            cursor.execute("UPDATE leads_lead SET updated_at = updated_at WHERE id = %s", [lead.pk])
    client = Client()
    try:
        # when a batch for that lead arrives
        response = post(client, "/v1/batch", {"batch": [track()]}, key=write_key)
    finally:
        other.rollback()
        other.close()
    # then the client is told to retry later, and nothing was stored
    assert response.status_code == 429
    assert response.json()["message"].startswith("The database is busy")
    assert response["Retry-After"] == "2"
    assert Activity.objects.count() == 0
    # when it retries after the lock is gone / then the batch lands
    assert post(client, "/v1/batch", {"batch": [track()]}, key=write_key).status_code == 200
    assert Activity.objects.get().lead_id == lead.pk


def test_a_100_message_batch_takes_a_bounded_number_of_queries(
    client, write_key, agreement, django_assert_max_num_queries
):
    # given 20 people already known (by userId) and 5 new ones, each sending identify, two pages and a track
    for n in range(20):
        lead_upsert(
            data=LeadData(email=f"p{n}@acme.example", identities={IdentityKind.USER_ID: f"u{n}"}),
            now=timezone.now(),
        )
    batch = []
    for n in range(25):
        batch += [
            identify(user_id=f"u{n}", anonymous_id=f"a{n}", message_id=f"i{n}", email=f"p{n}@acme.example"),
            page("/pricing", f"p{n}", userId=f"u{n}"),
            page("/blog/x", f"b{n}", anonymousId=f"a{n}"),
            track(message_id=f"t{n}", userId=f"u{n}"),
        ]
    assert len(batch) == 100
    # when posted / then a fixed number of queries, whatever the number of messages (the hand-over to sales
    # opens a cycle per new MQL in bulk, and the outbox writes every hot lead's notifications in bulk: part of the
    # same fixed budget; the batch's message ids go to their receipts in one statement of their own)
    with django_assert_max_num_queries(33):
        response = post(client, "/v1/batch", {"batch": batch}, key=write_key)
    assert response.status_code == 200
    assert (Lead.objects.count(), Activity.objects.count()) == (25, 75)
    assert Lead.objects.filter(state=State.MQL, tier=Tier.HOT).count() == 25


# --- the read API ----------------------------------------------------------------------------------------------


@pytest.fixture
def leads(agreement, rep) -> list[Lead]:
    now = timezone.now()
    hot, _ = lead_upsert(
        data=LeadData(email="hot@acme.example", fields={"first_name": "Hot", "employees": 500}), now=now
    )
    cold, _ = lead_upsert(
        data=LeadData(email="cold@acme.example", fields={"employees": 5}), now=now - timedelta(days=3)
    )
    Lead.objects.filter(pk=hot.pk).update(
        state=State.MQL, tier=Tier.HOT, owner=rep, score=42, fit_score=30, engagement_score=12, mql_at=now,
        claim_due_at=now + timedelta(minutes=5), breakdown={"triggers": [{"reason": "requested a demo"}]},
    )  # fmt: skip
    Lead.objects.filter(pk=cold.pk).update(updated_at=now - timedelta(days=3))
    return [hot, cold]


def test_a_bearer_token_reads_leads_with_their_judgement(client, leads, rep):
    # given a rep's API token
    _, token = api_token_create(user=rep, name="crm sync", now=timezone.now())
    # when the list is read filtered by e-mail (any case)
    response = client.get(
        "/api/leads/", {"email": "HOT@acme.example"}, headers={"Authorization": f"Bearer {token}"}
    )
    # then the lead comes with state, tier, score parts, breakdown, owner and deadlines
    assert response.status_code == 200
    body = response.json()
    assert len(body["items"]) == 1 and body["next"] is None
    [item] = body["items"]
    assert (item["email"], item["state"], item["tier"], item["score"]) == (
        "hot@acme.example",
        "mql",
        "hot",
        42,
    )
    assert (item["fit_score"], item["engagement_score"]) == (30, 12)
    assert item["breakdown"] == {"triggers": [{"reason": "requested a demo"}]}
    assert item["owner"] == {"id": rep.pk, "username": "rep", "name": rep.get_full_name()}
    assert set(item["deadlines"]) == {"claim", "first_contact", "accept", "outcome"}
    assert item["deadlines"]["claim"] is not None and item["mql_at"] is not None
    assert item["url"] == f"/leads/{leads[0].pk}/"


def test_filters_state_tier_and_updated_since(client, leads, rep, login):
    # given a logged-in rep
    reader = login(rep)

    def emails(**params) -> list[str]:
        return [item["email"] for item in reader.get("/api/leads/", params).json()["items"]]

    # when filtering / then only matching leads come back (oldest change first)
    assert emails() == ["cold@acme.example", "hot@acme.example"]
    assert emails(state="mql") == ["hot@acme.example"]
    assert emails(tier="hot") == ["hot@acme.example"]
    assert emails(tier="none") == ["cold@acme.example"]
    assert emails(updated_since=(timezone.now() - timedelta(days=1)).isoformat()) == ["hot@acme.example"]
    assert reader.get("/api/leads/", {"state": "bogus"}).status_code == 422


def test_the_list_is_paged_by_cursor(client, leads, rep, login):
    # given two leads / when read one per page, following `next`
    reader = login(rep)
    first = reader.get("/api/leads/", {"page_size": 1}).json()
    second = reader.get("/api/leads/", {"page_size": 1, "cursor": first["next"]}).json()
    # then the pages hold the leads oldest change first, and the last page says there is no next
    assert [item["email"] for item in first["items"] + second["items"]] == [
        "cold@acme.example",
        "hot@acme.example",
    ]
    assert first["next"] and second["next"] is None


def test_paging_by_cursor_keeps_going_past_leads_that_change_between_pages(client, leads, rep, login):
    # given a client that read the first page
    reader = login(rep)
    first = reader.get("/api/leads/", {"page_size": 1}).json()
    # when the lead it read changes before the next page (it moves to the end of the order)
    Lead.objects.filter(email="cold@acme.example").update(updated_at=timezone.now() + timedelta(minutes=1))
    rest = reader.get("/api/leads/", {"page_size": 5, "cursor": first["next"]}).json()
    # then the next page starts after where the first stopped, so every lead is still seen, the changed one again
    assert [item["email"] for item in rest["items"]] == ["hot@acme.example", "cold@acme.example"]


def test_one_lead_by_id(client, leads, marketer, login):
    # given a marketer's session / when one lead is read
    response = login(marketer).get(f"/api/leads/{leads[0].pk}")
    # then it is there; an unknown id is a 404
    assert response.status_code == 200 and response.json()["id"] == leads[0].pk
    assert login(marketer).get("/api/leads/999999").status_code == 404


def test_every_role_may_read_by_session(leads, role_users, login):
    # given one user per role / when each reads the list / then each is let in
    statuses = {role.value: login(user).get("/api/leads/").status_code for role, user in role_users.items()}
    assert set(statuses.values()) == {200}, statuses


def test_reading_needs_a_token_or_a_session_of_a_user_with_a_role(client, leads, make_user, login):
    # given no credentials, a wrong token, and a user without any role (by session and by token)
    nobody = make_user(None, username="norole")
    _, token = api_token_create(user=nobody, name="t", now=timezone.now())
    # when each reads
    anonymous = client.get("/api/leads/")
    wrong = client.get("/api/leads/", headers={"Authorization": "Bearer at_wrong"})
    by_session = login(nobody).get("/api/leads/")
    by_token = client.get("/api/leads/", headers={"Authorization": f"Bearer {token}"})
    # then 401 without valid credentials, 403 without a role
    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert anonymous.json()["detail"].startswith("Authentication required")
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="Alignment API"'
    assert (by_session.status_code, by_token.status_code) == (403, 403)


def test_a_token_of_a_deactivated_user_is_refused(client, leads, rep):
    # given a token whose user left
    _, token = api_token_create(user=rep, name="t", now=timezone.now())
    rep.is_active = False
    rep.save()
    # when used / then 401
    assert client.get("/api/leads/", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_session_reads_work_with_csrf_enforced(leads, rep):
    # given a browser-like client enforcing CSRF, logged in
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    # when it reads (a safe method) / then no token is needed
    assert client.get("/api/leads/").status_code == 200


# --- OpenAPI, docs, keys ------------------------------------------------------------------------------------------


def test_the_openapi_document_is_valid_and_covers_ingest_and_reads(client):
    # when the document is fetched
    response = client.get("/api/openapi.json")
    # then it is a valid OpenAPI document listing both APIs with their security schemes
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert {
        "/v1/batch",
        "/v1/track",
        "/v1/identify",
        "/v1/page",
        "/api/leads/",
        "/api/leads/{lead_id}",
    } <= set(document["paths"])
    batch_body = document["paths"]["/v1/batch"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert batch_body["required"] == ["batch"]
    schemes = document["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} >= {"http", "apiKey"}


def test_each_operation_keeps_its_published_id_and_tag_after_the_split_into_routers(client):
    # given clients generated from the document before /v1 and /api/leads became separate routers
    document = client.get("/api/openapi.json").json()
    # when the operations are listed / then each keeps the id and tag it was published with
    operations = {
        (path, method): (operation["operationId"], operation["tags"])
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert operations[("/v1/batch", "post")] == ("leads_intake_api_segment_batch", ["events"])
    assert operations[("/v1/alias", "post")] == ("leads_intake_api_segment_alias", ["events"])
    assert operations[("/api/leads/", "get")] == ("leads_intake_api_leads_list", ["leads"])
    assert operations[("/api/leads/{lead_id}", "get")] == ("leads_intake_api_lead_detail", ["leads"])
    assert len({operation_id for operation_id, _tags in operations.values()}) == len(operations) == 10


def test_no_page_of_the_api_loads_anything_from_a_cdn(client):
    # the site works offline: the OpenAPI document is published as JSON, no CDN-hosted docs page
    assert client.get("/api/docs").status_code == 404
    assert "cdn" not in client.get("/api/openapi.json").content.decode().lower()


def test_create_write_key_prints_a_working_key_last(client):
    # when the command runs
    out = StringIO()
    call_command("create_write_key", "website", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    # then the last line is a key that is stored only as a hash and that authenticates
    key = WriteKey.objects.get()
    assert (key.name, key.key_hash, key.prefix) == ("website", key_hash(raw), raw[:10])
    assert post(client, "/v1/batch", {"batch": [track()]}, key=raw).status_code == 200


def test_the_admin_creates_a_write_key_and_shows_it_once(admin_user_role, login):
    # given the Admin role in the Django admin
    admin = login(admin_user_role)
    # when a write key is added
    response = admin.post("/admin/leads/writekey/add/", {"name": "website"})
    # then the page shows the raw key once (not cached), and only its hash is stored
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    raw = response.content.decode().split('readonly value="')[1].split('"')[0]
    key = WriteKey.objects.get()
    assert key.key_hash == key_hash(raw) and raw not in str(WriteKey.objects.values().get())
    # and the change page never shows it again
    assert raw not in admin.get(f"/admin/leads/writekey/{key.pk}/change/").content.decode()
    # when the key is deactivated with the list action / then it no longer authenticates
    admin.post("/admin/leads/writekey/", {"action": "deactivate", "_selected_action": [key.pk]})
    assert post(Client(), "/v1/batch", {"batch": []}, key=raw).status_code == 401


def test_the_admin_creates_an_api_token_for_a_user(admin_user_role, rep, login):
    # given the Django admin / when a token is added for the rep
    response = login(admin_user_role).post("/admin/leads/apitoken/add/", {"user": rep.pk, "name": "sync"})
    raw = response.content.decode().split('readonly value="')[1].split('"')[0]
    # then it reads the API as the rep
    assert Client().get("/api/leads/", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


# --- the service behind the endpoints ----------------------------------------------------------------------------


def test_events_ingest_takes_raw_messages_and_reports_what_it_did(agreement):
    # given raw Segment messages: an anonymous visit, identify linking it, a demo request, and a screen view
    now = timezone.now()
    lead_upsert(data=LeadData(identities={IdentityKind.ANONYMOUS_ID: "anon-1"}), now=now)
    messages = [
        identify(anonymous_id="anon-1"),
        track(),
        {"type": "screen", "userId": "u1", "name": "Home"},
    ]
    # when ingested by the service directly
    result = ingest.events_ingest(messages=messages, now=now, source="import")
    # then it reports the activity, the ignored screen view, and the lead that became a hot MQL
    lead = Lead.objects.get()
    assert (result.messages, result.activities, result.duplicates, result.ignored) == (3, 1, 0, 1)
    assert (result.leads_created, result.leads_merged) == (0, 0)
    assert result.became_mql == [lead.pk] and result.became_hot == [lead.pk]
    assert Activity.objects.get().source == "import"
    # when the same messages come again / then they are duplicates and nothing moves
    again = ingest.events_ingest(messages=messages, now=now)
    assert (again.activities, again.duplicates, again.became_mql) == (0, 1, [])


def test_events_ingest_refuses_bad_raw_messages_before_writing():
    # given a raw track without an event / when ingested / then refused naming it, and nothing stored
    with pytest.raises(PayloadError) as caught:
        ingest.events_ingest(messages=[track(), {"type": "track", "userId": "u"}], now=timezone.now())
    assert caught.value.errors == ["batch[1].event: required for track"]
    assert counts() == (0, 0, 0, 0)
