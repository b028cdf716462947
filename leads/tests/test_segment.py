"""The pure Segment mapping: bodies, validation with precise paths, event names, traits, timestamps. No database."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from leads.intake import segment
from leads.intake.segment import (
    PayloadError,
    activity_type,
    decode_body,
    parse_batch,
    parse_json,
    parse_message,
)

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def track(**overrides):
    return {"type": "track", "userId": "u1", "event": "Demo Requested", "messageId": "m1", **overrides}


def refused(call) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        call()
    return caught.value


# --- event names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("Demo Requested", "demo_request"),
        ("demo_request", "demo_request"),
        ("demo requested", "demo_request"),
        ("DemoRequested", "demo_request"),
        ("Form Submitted", "form_submit"),
        ("Webinar Attended", "webinar"),
        ("Email Opened", "email_open"),
        ("Email Link Clicked", "email_click"),
        ("Asset Downloaded", "download"),
        ("Content Downloaded", "download"),
        ("Trial Started", "trial_signup"),
        ("Pricing Calculator Used", "pricing_calculator_used"),
        ("pricingPageViewed", "pricing_page_viewed"),
        ("HTMLExport done!", "html_export_done"),
        ("  Signed-Up  ", "signed_up"),
        ("Démo réservée", "démo_réservée"),
    ],
)
def test_a_track_event_name_maps_to_an_activity_type(event, expected):
    # given a track event name / when mapped / then it is the agreed activity type or its snake_case
    assert activity_type(event) == expected


def test_an_activity_type_never_exceeds_the_column():
    # given a very long event name
    name = "Very " * 40
    # when mapped
    mapped = activity_type(name)
    # then it fits the 60-character column and does not end on a separator
    assert len(mapped) <= 60 and not mapped.endswith("_")


# --- track and page ------------------------------------------------------------------------------------------


def test_a_track_message_becomes_an_activity_with_its_properties_and_event_name():
    # given a track of a Segment spec event
    payload = {"batch": [track(properties={"plan": "team"}, timestamp="2026-03-10T09:58:00Z")]}
    # when parsed
    [message] = parse_batch(payload, received_at=NOW)
    # then it is a demo request at the client's time, naming its user, with the original event name kept
    assert message.activity_type == "demo_request"
    assert message.properties == {"plan": "team", "event": "Demo Requested"}
    assert message.occurred_at == datetime(2026, 3, 10, 9, 58, tzinfo=UTC)
    assert (message.user_id, message.anonymous_id, message.message_id) == ("u1", None, "m1")


def test_a_page_takes_path_url_title_and_referrer_from_its_properties_or_context_page():
    # given a page whose properties hold the title and whose context.page holds the rest
    payload = {
        "batch": [
            {
                "type": "page", "anonymousId": "a1", "name": "Pricing", "properties": {"title": "Plans"},
                "context": {"page": {"url": "https://example.com/pricing?x=1", "title": "ignored",
                                     "referrer": "https://google.com/"}},
            }
        ]
    }  # fmt: skip
    # when parsed
    [message] = parse_batch(payload, received_at=NOW)
    # then the activity is a page with the path derived from the URL; the message's own title wins
    assert message.activity_type == "page"
    assert message.properties == {
        "title": "Plans", "url": "https://example.com/pricing?x=1", "referrer": "https://google.com/",
        "path": "/pricing", "name": "Pricing",
    }  # fmt: skip


def test_batch_context_is_merged_under_each_message():
    # given a batch-level context with a page and a message without one
    payload = {"batch": [{"type": "page", "userId": "u"}], "context": {"page": {"path": "/blog/x"}}}
    # when parsed / then the page's path comes from the batch context
    assert parse_batch(payload, received_at=NOW)[0].properties == {"path": "/blog/x"}


def test_utm_campaign_fills_source_and_campaign_only_as_defaults():
    # given a track with UTM parameters
    payload = {"batch": [track(context={"campaign": {"source": "google", "name": "spring-launch"}})]}
    # when parsed / then they are defaults (fill blanks), not overwriting lead fields
    message = parse_batch(payload, received_at=NOW)[0]
    assert message.defaults == {"source": "google", "campaign": "spring-launch"}
    assert message.fields == {}


def test_screen_is_accepted_and_group_and_alias_change_leads_without_an_activity():
    payload = {
        "batch": [
            {"type": "screen", "userId": "u", "name": "Home"},
            {
                "type": "group",
                "userId": "u",
                "groupId": "g",
                "traits": {"name": "Acme", "employees": 250, "plan": "x"},
            },
            {"type": "alias", "userId": "u", "previousId": "a"},
        ]
    }
    # when parsed
    screen, group, alias = parse_batch(payload, received_at=NOW)
    # then none records an activity; group sets company fields; alias names the previous id as the anonymous one
    assert [(m.type, m.recorded, m.activity_type) for m in (screen, group, alias)] == [
        ("screen", False, None),
        ("group", True, None),
        ("alias", True, None),
    ]
    assert group.fields == {"company": "Acme", "employees": 250}
    assert group.custom == {"company_plan": "x", "company_id": "g"}
    assert (alias.user_id, alias.anonymous_id) == ("u", "a")


def test_context_traits_are_read_as_identify_traits_and_the_message_traits_win():
    # given RudderStack's identify: traits only in context.traits, and a track carrying them too
    message = {"type": "identify", "userId": "u", "context": {"traits": {"email": "Ada@Acme.example", "company": "Old"}},
               "traits": {"company": "Acme"}}  # fmt: skip
    [parsed] = parse_batch({"batch": [message]}, received_at=NOW)
    assert (parsed.email, parsed.fields) == ("ada@acme.example", {"company": "Acme"})


# --- identify traits -----------------------------------------------------------------------------------------


def test_identify_traits_map_to_lead_fields_and_custom_attributes():
    # given identify traits in Segment's spec names, with a company object and an address
    traits = {
        "email": " Ada@Example.COM ", "firstName": "Ada", "lastName": "Lovelace", "title": "VP of Engineering",
        "company": {"name": "Analytical Engines", "employee_count": "1,200", "industry": "Software", "plan": "pro"},
        "address": {"country": "GB", "city": "London"}, "department": "Engineering", "source": "website",
        "campaign": "spring", "favourite_colour": "green", "phone": None,
    }  # fmt: skip
    # when parsed
    [message] = parse_batch(
        {"batch": [{"type": "identify", "userId": "u1", "traits": traits}]}, received_at=NOW
    )
    # then lead fields are set (seniority read from the title) and the rest kept as custom attributes
    assert message.email == "ada@example.com"
    assert message.fields == {
        "first_name": "Ada", "last_name": "Lovelace", "job_title": "VP of Engineering", "company": "Analytical Engines",
        "employees": 1200, "industry": "Software", "country": "GB", "department": "Engineering",
        "source": "website", "campaign": "spring", "seniority": "vp",
    }  # fmt: skip
    assert message.custom == {"company_plan": "pro", "address_city": "London", "favourite_colour": "green"}
    assert message.activity_type is None


def test_identify_trait_spellings_snake_case_company_string_and_full_name():
    # given snake_case traits, a company as text, a full name and an explicit seniority
    traits = {"first_name": "", "name": "Grace Brewster Hopper", "job_title": "Engineer", "seniority": "director",
              "company": "Navy", "employees": 51, "country": "US"}  # fmt: skip
    # when parsed
    message = parse_message({"userId": "u2", "traits": traits}, type_="identify", received_at=NOW)
    # then the full name is split, the explicit seniority is kept
    assert message.fields == {
        "first_name": "Grace", "last_name": "Brewster Hopper", "job_title": "Engineer", "seniority": "director",
        "company": "Navy", "employees": 51, "country": "US",
    }  # fmt: skip


def test_a_user_id_that_is_an_email_names_the_lead_by_email():
    # given a track whose userId is an e-mail address
    message = parse_batch({"batch": [track(userId="Bob@Example.com")]}, received_at=NOW)[0]
    # then the e-mail is known too
    assert message.email == "bob@example.com"


def test_long_text_traits_are_cut_to_the_column_length():
    # given a 300-character job title
    message = parse_message(
        {"userId": "u", "traits": {"title": "x" * 300}}, type_="identify", received_at=NOW
    )
    # then it is cut to 200 characters
    assert len(message.fields["job_title"]) == 200


# --- timestamps ----------------------------------------------------------------------------------------------


def test_occurred_at_is_the_timestamp_corrected_by_the_clock_skew_of_sent_at():
    # given a client whose clock runs 5 minutes fast: it says it sent at 10:05 what happened at 10:03
    payload = {"batch": [track(timestamp="2026-03-10T10:03:00+00:00")], "sentAt": "2026-03-10T10:05:00Z"}
    # when received at 10:00 by our clock
    [message] = parse_batch(payload, received_at=NOW)
    # then it happened 2 minutes before receipt
    assert message.occurred_at == NOW - timedelta(minutes=2)


def test_a_message_sent_at_wins_over_the_batch_sent_at_and_original_timestamp_is_used_without_timestamp():
    # given a message with its own sentAt and only an originalTimestamp
    item = track(timestamp=None, originalTimestamp="2026-03-10T09:00:00", sentAt="2026-03-10T09:30:00Z")
    payload = {"batch": [item], "sentAt": "2026-03-10T12:00:00Z"}
    # when parsed (a naive time is UTC)
    [message] = parse_batch(payload, received_at=NOW)
    # then skew is taken from the message's own sentAt: 09:00 + (10:00 - 09:30)
    assert message.occurred_at == datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def test_without_any_time_the_event_happened_on_receipt():
    # given no timestamp at all / then occurred_at is the receipt time
    assert parse_batch({"batch": [track()]}, received_at=NOW)[0].occurred_at == NOW


# --- what is set aside, with precise paths -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "error"),
    [
        (track(event=None), "batch[1].event: required for track"),
        (track(event=""), "batch[1].event: required for track"),
        (track(event=12), "batch[1].event: must be a string"),
        (track(event="!!!"), "batch[1].event: '!!!' has no letters or digits to name an activity"),
        (track(event="a\x00b"), "batch[1].event: must be a string"),
        ({"type": "track", "event": "x"}, "batch[1].userId: userId or anonymousId is required"),
        (track(userId={"id": 1}), "batch[1].userId: userId or anonymousId is required"),
        (track(userId="a\x00b"), "batch[1].userId: userId or anonymousId is required"),
        ({"userId": "u"}, "batch[1].type: required (identify, track, page, screen, group, alias)"),
        (track(type="purchase"), "batch[1].type: 'purchase' is not a Segment message type"),
        ({"type": "alias", "previousId": "a"}, "batch[1].userId: required for alias"),
        ("track", "batch[1]: must be a JSON object"),
    ],
)  # fmt: skip
def test_an_unusable_message_is_set_aside_and_the_rest_of_the_batch_kept(item, error):
    # given a batch whose second message cannot be used at all
    payload = {"batch": [track(messageId="ok"), item, track(messageId="ok2")]}
    rejected: list[segment.Problem] = []
    # when parsed
    messages = parse_batch(payload, received_at=NOW, rejected=rejected)
    # then the others are kept and the bad one is set aside, naming its index and field
    assert [m.message_id for m in messages] == ["ok", "ok2"]
    assert str(rejected[0]).startswith(error), rejected


@pytest.mark.parametrize(
    ("item", "error", "kept"),
    [
        (track(messageId="m" * 201), "batch[1].messageId: is 201 characters; at most 200", "event"),
        (track(timestamp="yesterday"), "batch[1].timestamp: 'yesterday' is not an ISO-8601 date-time", "event"),
        (track(timestamp=1700000000), "batch[1].timestamp: must be an ISO-8601 date-time string", "event"),
        (track(timestamp="1970-01-01T00:00:00Z"), "batch[1].timestamp: is not a plausible time", "event"),
        (track(timestamp="9999-12-31T23:59:59Z"), "batch[1].timestamp: is not a plausible time", "event"),
        (track(timestamp="2026-03-10T09:00:00+20:00"), "batch[1].timestamp: '2026-03-10T09:00:00+20:00' has a UTC offset", "event"),
        (track(properties=[1, 2]), "batch[1].properties: must be an object", "event"),
        (track(properties={"a": "x\x00", "plan": "pro"}), "batch[1].properties.a: holds a NUL byte", "plan"),
        (track(properties={"a": "x\ud800", "plan": "pro"}), "batch[1].properties.a: holds a NUL byte or an invalid", "plan"),
        ({"type": "page", "userId": "u", "context": {"page": "x"}}, "batch[1].context.page: must be an object", "path"),
        ({"type": "identify", "userId": "u", "traits": {"email": "n/a", "company": "Acme"}},
         "batch[1].traits.email: 'n/a' is not a valid e-mail address", "company"),
        ({"type": "identify", "userId": "u", "traits": {"employees": "unknown", "company": "Acme"}},
         "batch[1].traits.employees: “unknown” is not a number of employees", "company"),
        ({"type": "identify", "userId": "u", "traits": {"company": {"employee_count": -3, "name": "Acme"}}},
         "batch[1].traits.company.employee_count: cannot be negative", "company"),
        ({"type": "identify", "userId": "u", "traits": {"title": ["a"], "company": "Acme"}},
         "batch[1].traits.title: must be text", "company"),
    ],
)  # fmt: skip
def test_a_bad_field_is_set_aside_and_the_rest_of_the_message_kept(item, error, kept):
    # given a batch whose second message has one bad field
    payload = {"batch": [track(messageId="ok"), item]}
    rejected: list[segment.Problem] = []
    # when parsed
    messages = parse_batch(payload, received_at=NOW, rejected=rejected)
    # then both messages are kept, the bad field is named on the message, the good fields survive
    assert not rejected
    assert len(messages) == 2
    problems = [str(p) for p in messages[1].problems]
    assert problems and problems[0].startswith(error), problems
    good = {**messages[1].properties, **messages[1].fields}
    assert kept in good or (kept == "path" and messages[1].activity_type == "page")


def test_an_impossible_timestamp_falls_back_to_the_time_of_receipt():
    # given an epoch timestamp / when parsed / then the event counts as received now
    [message] = parse_batch(
        {"batch": [track(timestamp="1970-01-01T00:00:00Z")]}, received_at=NOW, rejected=[]
    )
    assert message.occurred_at == NOW


@pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"1" + b"0" * 5000])
def test_numbers_no_database_stores_are_set_aside(raw):
    # given a message holding NaN, Infinity or a 5,000-digit number in its properties
    body = (
        b'{"batch": [{"type": "track", "userId": "u", "event": "x", "properties": {"n": '
        + raw
        + b', "ok": 1}}]}'
    )
    # when read
    [message] = parse_batch(parse_json(body), received_at=NOW, rejected=[])
    # then the number is set aside and the rest kept
    assert message.properties == {"ok": 1, "event": "x"}
    assert str(message.problems[0]).startswith("batch[0].properties.n: is not a number that can be stored")


def test_equal_numeric_ids_are_one_id():
    # given userIds 1, "1" and 1.0 / then they are one id
    messages = parse_batch(
        {"batch": [track(userId=1), track(userId="1"), track(userId=1.0)]}, received_at=NOW
    )
    assert {m.user_id for m in messages} == {"1"}


def test_without_a_list_for_set_asides_an_unusable_message_refuses_the_batch():
    # given raw messages from code (events_ingest) / then a bad one still refuses them all, named
    payload = {"batch": [track(event=None), track(), {"type": "page"}, track(userId=None)]}
    problem = refused(lambda: parse_batch(payload, received_at=NOW))
    assert problem.errors == [
        "batch[0].event: required for track",
        "batch[2].userId: userId or anonymousId is required",
        "batch[3].userId: userId or anonymousId is required",
    ]
    assert problem.message == "batch[0].event: required for track (and 2 more errors)"


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ([], "request body must be a JSON object with a “batch” array"),
        ({}, "batch: required (an array of messages)"),
        ({"batch": {"type": "track"}}, "batch: must be an array of messages"),
    ],
)
def test_a_body_that_is_not_a_batch_is_refused(payload, error):
    # given a body that is not a batch / then it is refused with the field named
    assert refused(lambda: parse_batch(payload, received_at=NOW, rejected=[])).errors == [error]


def test_a_bad_envelope_sent_at_is_set_aside():
    # given a batch whose sentAt is not a time / then its messages are kept and the problem told once
    rejected: list[segment.Problem] = []
    [message] = parse_batch({"batch": [track()], "sentAt": "soon"}, received_at=NOW, rejected=rejected)
    assert [str(p) for p in message.problems] == ["sentAt: 'soon' is not an ISO-8601 date-time"]


def test_a_message_over_32_kb_is_set_aside_with_its_size():
    # given a batch holding one 40 KB message and a small one
    payload = {"batch": [track(properties={"blob": "x" * 40_000}), track(messageId="m2")]}
    rejected: list[segment.Problem] = []
    # when parsed
    messages = parse_batch(payload, received_at=NOW, rejected=rejected)
    # then the small one is kept; the big one is named with its size and the limit
    assert [m.message_id for m in messages] == ["m2"]
    assert str(rejected[0]).startswith("batch[0]: is 40,")
    assert str(rejected[0]).endswith("bytes; the limit is 32,768 bytes per message")


def test_a_single_message_on_the_wrong_endpoint_is_refused():
    # given a page sent to /v1/track
    problem = refused(lambda: parse_message({"type": "page", "userId": "u"}, type_="track", received_at=NOW))
    # then the type is named
    assert problem.errors == ["type: must be “track” on /v1/track (got 'page')"]


def test_a_single_track_without_event_names_the_field_without_a_batch_prefix():
    # given a /v1/track body with no event / then the path is the bare field name
    problem = refused(lambda: parse_message({"userId": "u"}, type_="track", received_at=NOW))
    assert problem.errors == ["event: required for track"]


# --- bodies --------------------------------------------------------------------------------------------------


def test_a_gzip_body_is_decompressed():
    # given a gzip-compressed JSON body
    raw = json.dumps({"batch": []}).encode()
    # when decoded / then it is the original bytes
    assert decode_body(gzip.compress(raw), encoding="gzip", limit=1000) == raw


def test_a_multi_member_gzip_body_is_decompressed_whole():
    # given two gzip members back to back (as `cat a.gz b.gz` makes)
    body = gzip.compress(b'{"batch": ') + gzip.compress(b"[]}")
    # when decoded / then both members are read
    assert decode_body(body, encoding="gzip", limit=1000) == b'{"batch": []}'


def test_a_gzip_bomb_is_stopped_at_the_limit():
    # given 50 MB of zeros compressed to a few KB
    bomb = gzip.compress(b"0" * 50_000_000)
    assert len(bomb) < 100_000
    # when decoded with the 4 MB limit
    problem = refused(lambda: decode_body(bomb, encoding="gzip", limit=segment.MAX_BATCH_BYTES))
    # then it is refused as too large without inflating it all
    assert problem.status == 413
    assert problem.errors == [
        "request body is over 4,194,304 bytes once decompressed; the limit is 4,194,304 bytes"
    ]


@pytest.mark.parametrize(
    ("body", "encoding", "status", "error"),
    [
        (b"x" * 1001, "", 413, "request body is 1,001 bytes; the limit is 1,000 bytes"),
        (b"not gzip", "gzip", 400, "request body is not valid gzip: Error -3 while decompressing data: incorrect header check"),
        (gzip.compress(b"{}" * 100, mtime=0)[:-12], "gzip", 400, "request body is not valid gzip: the compressed stream is truncated"),
        (b"{}", "br", 415, "Content-Encoding “br” is not supported: send the body as is or gzip-compressed"),
    ],
    ids=["too-large", "not-gzip", "truncated-gzip", "brotli"],
)  # fmt: skip
def test_bad_bodies_are_refused_precisely(body, encoding, status, error):
    # given a body too large, not gzip, truncated, or in an unknown encoding / then refused with the reason
    problem = refused(lambda: decode_body(body, encoding=encoding, limit=1000))
    assert (problem.status, problem.errors) == (status, [error])


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", "request body is empty: send a JSON object"),
        (b"{nope", "request body is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        (b"\xff\xfe", "request body is not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "request body is nested too deeply"),
    ],
    ids=["empty", "not-json", "not-utf8", "too-deep"],
)  # fmt: skip
def test_bodies_that_are_not_json_are_refused(raw, error):
    # given a body that is not JSON / then the reason is given
    assert refused(lambda: parse_json(raw)).errors == [error]
