"""Hostile and broken input, one test per case: the event API keeps every good field and never answers a 500.

Each body is written as raw JSON text (not built from Python objects), so the test sends exactly the bytes a
broken client sends: NUL escapes, lone surrogates, NaN, 5,000-digit numbers. Run on PostgreSQL too
(DATABASE_URL=...): NUL bytes and lone surrogates are what PostgreSQL refuses to store.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from leads.intake import ingest
from leads.models import Activity, DataProblem, Lead
from leads.services import write_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def write_key() -> str:
    _, raw = write_key_create(name="website", now=timezone.now())
    return raw


def send(client: Client, key: str, body: bytes | str, path: str = "/v1/batch") -> Any:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    return client.post(path, data=data, content_type="application/json", headers={"Authorization": auth})


def batch(*messages: str) -> str:
    return '{"batch": [' + ", ".join(messages) + "]}"


GOOD = '{"type": "track", "userId": "u1", "event": "Webinar Attended", "messageId": "good"}'


def identify(traits: str, user_id: str = '"u1"') -> str:
    return '{"type": "identify", "userId": ' + user_id + ', "messageId": "i1", "traits": ' + traits + "}"


def stored_and_set_aside(response: Any) -> tuple[int, list[str]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    return Activity.objects.count(), response.json().get("set_aside", [])


# --- events: a bad field is set aside, its message and batch kept ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("nul byte", '"a\\u0000b"', "holds a NUL byte"),
        ("lone surrogate", '"x\\ud800"', "holds a NUL byte or an invalid character (a lone surrogate)"),
        ("NaN", "NaN", "is not a number that can be stored"),
        ("Infinity", "Infinity", "is not a number that can be stored"),
        ("-Infinity", "-Infinity", "is not a number that can be stored"),
        ("1e999", "1e999", "is not a number that can be stored"),
        ("5,000 digits", "1" * 5000, "is not a number that can be stored"),
    ],
)
def test_an_unstorable_property_is_set_aside_and_the_rest_stored(client, write_key, name, value, problem):
    # given a track whose property holds a value no database stores, next to a good property
    track = '{"type": "track", "userId": "u1", "event": "Demo Requested", "messageId": "t1", "properties": {"bad": '
    body = batch(track + value + ', "plan": "pro"}}', GOOD)
    # when sent
    count, set_aside = stored_and_set_aside(send(client, write_key, body))
    # then both events are stored, the good property kept, and the bad one named
    assert count == 2
    assert Activity.objects.get(message_id="t1").properties == {"plan": "pro", "event": "Demo Requested"}
    assert set_aside[0].startswith(f"batch[0].properties.bad: {problem}")
    assert DataProblem.objects.get().field == "batch[0].properties.bad"


@pytest.mark.parametrize(
    ("traits", "field", "kept"),
    [
        ('{"email": "n/a", "company": "Acme"}', "traits.email", {"company": "Acme"}),
        ('{"email": "ada@acme.example", "employees": "unknown"}', "traits.employees", {"email": "ada@acme.example"}),
        ('{"email": "ada@acme.example", "employees": ' + "9" * 5000 + "}", "traits.employees", {"email": "ada@acme.example"}),
        ('{"email": "ada@acme.example", "employees": NaN}', "traits.employees", {"email": "ada@acme.example"}),
        ('{"email": "a\\u0000@acme.example", "company": "Acme"}', "traits.email", {"company": "Acme"}),
        ('{"company": "Ac\\u0000me", "title": "CTO"}', "traits.company", {"job_title": "CTO"}),
        ('{"company": "Acme\\udfff", "title": "CTO"}', "traits.company", {"job_title": "CTO"}),
        ('{"firstName": 12.5e9999, "company": "Acme"}', "traits.firstName", {"company": "Acme"}),
        ('{"a\\u0000b": 1, "company": "Acme"}', "traits.a\\x00b", {"company": "Acme"}),
    ],
)  # fmt: skip
def test_a_bad_trait_is_set_aside_and_the_other_traits_kept(client, write_key, traits, field, kept):
    # given an identify with one bad trait among good ones
    response = send(client, write_key, batch(identify(traits), GOOD))
    # when stored / then the lead has every good trait and the bad one is on its data-problem list
    count, set_aside = stored_and_set_aside(response)
    assert count == 1
    lead = Lead.objects.get()
    assert {name: getattr(lead, name) for name in kept} == kept
    assert set_aside and set_aside[0].startswith(f"batch[0].{field}:"), set_aside
    assert lead.data_problems.get().field == f"batch[0].{field}"


@pytest.mark.parametrize(
    ("timestamp", "problem"),
    [
        ('"2026-12-01T10:00:00+20:00"', "has a UTC offset beyond ±14:00"),
        ('"9999-12-31T23:59:59Z"', "is not a plausible time"),
        ('"9999-12-31T23:59:59-13:00"', "is out of range"),
        ('"0001-01-01T00:00:00+01:00"', "is out of range"),
        ('"1970-01-01T00:00:00Z"', "is not a plausible time"),
        ("0", "must be an ISO-8601 date-time string"),
        ("1733011200000", "must be an ISO-8601 date-time string"),
        ('"yesterday"', "'yesterday' is not an ISO-8601 date-time"),
        ('"2026-02-30T10:00:00Z"', "is not an ISO-8601 date-time"),
        ('"2026-12-01\\u0000"', "must be an ISO-8601 date-time string"),
    ],
)
def test_a_bad_timestamp_is_set_aside_and_the_event_counts_as_received(client, write_key, timestamp, problem):
    # given a track whose timestamp no clock could show
    track = '{"type": "track", "userId": "u1", "event": "Demo Requested", "messageId": "t1", "timestamp": '
    before = timezone.now()
    # when sent
    count, set_aside = stored_and_set_aside(send(client, write_key, batch(track + timestamp + "}", GOOD)))
    # then the event is stored at the time of receipt and the timestamp is named
    assert count == 2
    assert Activity.objects.get(message_id="t1").occurred_at >= before
    assert any(problem in line for line in set_aside), set_aside


def test_a_year_9999_sent_at_is_set_aside(client, write_key):
    # given a batch whose envelope sentAt is year 9999 (the clock-skew correction would overflow)
    message = '{"type": "track", "userId": "u1", "event": "x", "timestamp": "2026-12-01T10:00:00Z"}'
    body = '{"sentAt": "9999-12-31T23:59:59Z", "batch": [' + message + "]}"
    # then the event is stored at a plausible time
    count, set_aside = stored_and_set_aside(send(client, write_key, body))
    assert count == 1 and set_aside


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ('{"type": "track", "userId": "u\\u0000", "event": "x", "messageId": "t1"}', "userId or anonymousId is required"),
        ('{"type": "track", "userId": ' + "1" * 5000 + ', "event": "x", "messageId": "t1"}', "userId or anonymousId is required"),
        ('{"type": "track", "userId": NaN, "event": "x", "messageId": "t1"}', "userId or anonymousId is required"),
        ('{"type": "track", "userId": "u1", "event": "Demo\\ud800", "messageId": "t1"}', "must be a string"),
        ('{"type": "track", "userId": "u1", "messageId": "t1"}', "required for track"),
        ('{"type": "buy", "userId": "u1", "messageId": "t1"}', "is not a Segment message type"),
        ('"track"', "must be a JSON object"),
        ("null", "must be a JSON object"),
        ('{"type": "track", "userId": "u1", "event": "x", "messageId": "t1", "properties": {"p": "' + "x" * 40_000 + '"}}', "bytes per message"),
    ],
)  # fmt: skip
def test_an_unusable_message_is_set_aside_and_the_batch_kept(client, write_key, message, problem):
    # given a batch with an unusable message before a good one
    count, set_aside = stored_and_set_aside(send(client, write_key, batch(message, GOOD)))
    # then the good one is stored and the bad one named and listed for marketers
    assert count == 1
    assert problem in set_aside[0], set_aside
    assert DataProblem.objects.filter(lead=None).count() == 1


def test_a_message_id_with_a_nul_byte_is_set_aside_and_the_event_kept(client, write_key):
    # given a messageId with a NUL byte / then the event is stored without it
    message = '{"type": "track", "userId": "u1", "event": "x", "messageId": "m\\u0000"}'
    count, set_aside = stored_and_set_aside(send(client, write_key, batch(message)))
    assert count == 1 and set_aside[0].startswith("batch[0].messageId: holds a NUL byte")


def test_a_batch_mixing_every_kind_of_bad_field_still_stores_its_20_events(client, write_key):
    # given 20 events, each with one bad field of a different kind (the issue's 0-of-20 case)
    bad_values = ['"a\\u0000b"', "NaN", "Infinity", '"x\\ud800"', "1" * 5000]
    messages = [
        '{"type": "track", "userId": "u' + str(i) + '", "event": "Demo Requested", "messageId": "m' + str(i) + '", '
        '"timestamp": "1970-01-01T00:00:00Z", "properties": {"bad": ' + bad_values[i % 5] + "}}"
        for i in range(20)
    ]  # fmt: skip
    count, set_aside = stored_and_set_aside(send(client, write_key, batch(*messages)))
    assert count == 20
    assert Lead.objects.count() == 20


# --- events: a body that is not a batch, or a wrong key, is refused whole with a JSON answer --------------------


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 400, "request body is empty: send a JSON object"),
        (b"\xff\xfe{", 400, "request body is not UTF-8 text"),
        (b'{"batch": [', 400, "request body is not valid JSON"),
        (b"[]", 400, "request body must be a JSON object with a “batch” array"),
        (b'"batch"', 400, "request body must be a JSON object with a “batch” array"),
        (b"{}", 400, "batch: required (an array of messages)"),
        (b'{"batch": {}}', 400, "batch: must be an array of messages"),
        (b'{"batch": "x\\u0000"}', 400, "batch: must be an array of messages"),
        (b"[" * 100_000, 400, "request body is nested too deeply"),
    ],
)
def test_a_body_that_is_not_a_batch_is_refused_as_json(client, write_key, body, status, message):
    response = send(client, write_key, body)
    assert response.status_code == status
    assert response.json()["message"].startswith(message), response.json()


def test_a_wrong_key_is_refused_as_json(client):
    response = send(client, "wk_nope\x00", batch(GOOD))
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_a_single_message_endpoint_refuses_an_unusable_message_naming_it(client, write_key):
    # given /v1/track without an event / then 400 naming the field, and the problem is listed
    response = send(client, write_key, '{"userId": "u1", "messageId": "t1"}', path="/v1/track")
    assert response.status_code == 400 and response.json()["message"] == "event: required for track"
    assert DataProblem.objects.get().message_id == "t1"


def test_a_single_message_keeps_its_good_fields(client, write_key):
    body = '{"userId": "u1", "traits": {"email": "n/a", "company": "Acme"}}'
    response = send(client, write_key, body, path="/v1/identify")
    assert response.status_code == 200 and response.json()["set_aside"]
    assert Lead.objects.get().company == "Acme"


# --- the read API -----------------------------------------------------------------------------------------------


@pytest.fixture
def reader(rep, login) -> Client:
    return login(rep)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("?cursor=" + "A" * 100_000, 422),
        ("?cursor=abc", 422),
        ("?cursor=%00", 422),
        ("?cursor=WyJ4Il0", 422),  # a well-formed cursor of another order
        ("?cursor=WzAsMCwiOTk5OTktMTItMzEiLDld", 422),
        ("?cursor=" + "WzAsMCw5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5LDFd", 422),
        ("?page_size=0", 422),
        ("?page_size=100000", 422),
        ("?email=%00", 422),
        ("?email=" + "a" * 300, 422),
        ("?state=bogus", 422),
        ("?tier=%00", 422),
        ("?updated_since=9999-12-31T23:59:59-23:59", 422),
        ("?updated_since=0001-01-01T00:00:00%2B23:00", 422),
        ("?updated_since=yesterday", 422),
        ("?updated_since=2026-01-01T00:00:00Z", 200),
        ("?email=ada@acme.example", 200),
    ],
)
def test_bad_read_parameters_are_a_422_naming_them(reader, query, status):
    response = reader.get("/api/leads/" + query)
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("lead_id", ["99999999999999999999", "0", "-1"])
def test_an_impossible_lead_id_is_a_4xx(reader, lead_id):
    response = reader.get(f"/api/leads/{lead_id}")
    assert response.status_code in (404, 422)
    assert response["Content-Type"].startswith("application/json")


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- errors are JSON in production, and a database outage is a 503 -----------------------------------------------


def test_an_unexpected_error_on_the_api_is_json_with_debug_off(write_key, settings, monkeypatch):
    # given production settings and a failure nobody foresaw
    settings.DEBUG = False

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(ingest, "events_ingest", broken)
    client = Client(raise_request_exception=False)
    # when an event is sent / then the client reads JSON, not an HTML page
    response = send(client, write_key, batch(GOOD))
    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "code": "server_error",
        "message": "An unexpected error: it has been logged",
    }


@pytest.mark.parametrize("debug", [True, False])
def test_a_database_outage_on_the_event_api_is_503_with_retry_after(write_key, settings, monkeypatch, debug):
    # given a database that drops the connection (PostgreSQL stopped)
    settings.DEBUG = debug

    def down(**kwargs: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(ingest, "events_ingest", down)
    client = Client(raise_request_exception=False)
    # when an event is sent / then 503 with Retry-After, so the client keeps the event and retries
    response = send(client, write_key, batch(GOOD))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "unavailable"


def test_a_database_outage_on_a_page_is_503_with_retry_after(marketer, login, monkeypatch, settings):
    # given a page whose query fails because the database is down
    settings.DEBUG = False
    from leads import views

    def down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(views, "render", down)
    client = login(marketer)
    client.raise_request_exception = False
    response = client.get("/leads/queue/")
    assert response.status_code == 503 and response["Retry-After"] == "5"


def test_the_openapi_document_says_what_is_required_and_every_status(client):
    spec = json.loads(client.get("/api/openapi.json").content)
    paths = spec["paths"]
    batch = paths["/v1/batch"]["post"]
    item = batch["requestBody"]["content"]["application/json"]["schema"]["properties"]["batch"]["items"]
    assert item["required"] == ["type"]
    assert item["anyOf"] == [{"required": ["userId"]}, {"required": ["anonymousId"]}]
    track = paths["/v1/track"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert track["required"] == ["event"]
    assert set(batch["responses"]) == {"200", "400", "401", "413", "415", "429", "503"}
    assert set(paths["/api/leads/"]["get"]["responses"]) == {"200", "401", "403", "404", "422", "503"}
    assert "set_aside" in json.dumps(spec)


# --- per write key rate limits ------------------------------------------------------------------------------------


def test_a_write_key_over_its_rate_gets_429_with_retry_after_and_another_key_does_not(
    client, write_key, settings
):
    # given a limit of 5 requests a minute per write key
    settings.INGEST_RATE_LIMIT = "5/m"
    statuses = [send(client, write_key, batch(GOOD)).status_code for _ in range(8)]
    # then the first 5 pass and the rest are told when to come back
    assert statuses == [200] * 5 + [429] * 3
    response = send(client, write_key, batch(GOOD))
    assert response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) in range(1, 61)
    # and another site's key is not slowed by it
    _, other = write_key_create(name="other", now=timezone.now())
    assert send(client, other, batch(GOOD)).status_code == 200


def test_a_wrong_key_is_not_counted_against_a_real_one(client, write_key, settings):
    settings.INGEST_RATE_LIMIT = "2/m"
    for _ in range(5):
        send(client, "wk_wrong", batch(GOOD))
    assert send(client, write_key, batch(GOOD)).status_code == 200
