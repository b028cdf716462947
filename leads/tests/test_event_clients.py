"""What real event clients send, through the HTTP API: RudderStack's context.traits, alias, group, /v1/import,
numeric ids, and browser posts (CORS per write key)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from leads.models import Lead, WriteKey
from leads.services import write_key_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def key() -> str:
    _, raw = write_key_create(name="website", now=timezone.now())
    return raw


def post(client: Client, path: str, body: Any, key: str, **headers: str) -> Any:
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()} if key else {}
    return client.post(
        path, data=json.dumps(body), content_type="application/json", headers={**auth, **headers}
    )


def test_rudderstack_identify_traits_in_context_make_a_lead_with_an_email(client, key):
    # given RudderStack's identify: the traits only in context.traits
    message = {
        "type": "identify",
        "userId": "u1",
        "context": {"traits": {"email": "ada@acme.example", "company": "Acme"}},
    }
    assert post(client, "/v1/batch", {"batch": [message]}, key).status_code == 200
    lead = Lead.objects.get()
    assert (lead.email, lead.company) == ("ada@acme.example", "Acme")


def test_alias_joins_an_anonymous_history_to_the_user_lead(client, key):
    # given anonymous visits, then an identified user (two leads so far)
    post(
        client,
        "/v1/batch",
        {"batch": [{"type": "page", "anonymousId": "anon-1", "name": "Pricing", "messageId": "p1"}]},
        key,
    )
    post(client, "/v1/identify", {"userId": "u1", "traits": {"email": "ada@acme.example"}}, key)
    assert Lead.objects.count() == 2
    # when the client aliases the anonymous id to the user
    assert post(client, "/v1/alias", {"previousId": "anon-1", "userId": "u1"}, key).status_code == 200
    # then one lead holds the page view, the e-mail and both ids
    lead = Lead.objects.get()
    assert lead.email == "ada@acme.example"
    assert list(lead.activities.values_list("type", flat=True)) == ["page"]
    assert set(lead.identities.values_list("kind", "value")) == {
        ("user_id", "u1"),
        ("anonymous_id", "anon-1"),
    }


def test_alias_never_joins_two_identified_people(client, key):
    post(client, "/v1/identify", {"userId": "u1", "traits": {"email": "ada@acme.example"}}, key)
    post(client, "/v1/identify", {"userId": "u2", "traits": {"email": "bob@acme.example"}}, key)
    post(client, "/v1/alias", {"previousId": "u1", "userId": "u2"}, key)
    assert Lead.objects.count() == 2


def test_group_sets_the_company_traits(client, key):
    post(client, "/v1/identify", {"userId": "u1", "traits": {"email": "ada@acme.example"}}, key)
    body = {
        "userId": "u1",
        "groupId": "acct-9",
        "traits": {"name": "Acme", "industry": "Software", "employees": 250},
    }
    assert post(client, "/v1/group", body, key).status_code == 200
    lead = Lead.objects.get()
    assert (lead.company, lead.industry, lead.employees) == ("Acme", "Software", 250)
    assert lead.attributes["company_id"] == "acct-9"


def test_v1_import_takes_a_batch_as_the_ruby_library_sends_it(client, key):
    batch = {"batch": [{"type": "track", "userId": "u1", "event": "Demo Requested", "messageId": "m1"}]}
    assert post(client, "/v1/import", batch, key).json() == {"success": True}
    assert Lead.objects.get().activities.count() == 1


def test_numeric_user_ids_that_are_equal_name_one_lead(client, key):
    batch = {"batch": [{"type": "track", "userId": uid, "event": "Visit", "messageId": f"m{i}"}
                       for i, uid in enumerate([1, "1", 1.0, " 1 "])]}  # fmt: skip
    post(client, "/v1/batch", batch, key)
    lead = Lead.objects.get()
    assert lead.activities.count() == 4
    assert list(lead.identities.values_list("value", flat=True)) == ["1"]


# --- browser posts: CORS per write key ----------------------------------------------------------------------------


@pytest.fixture
def site_key(key) -> str:
    WriteKey.objects.update(allowed_origins=["https://www.acme.example"])
    return key


def test_the_preflight_is_answered_for_an_origin_a_key_allows(client, site_key):
    response = client.options("/v1/batch", headers={"Origin": "https://www.acme.example",
                                                    "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://www.acme.example"
    assert "Authorization" in response["Access-Control-Allow-Headers"]


def test_the_preflight_allows_nothing_for_another_origin(client, site_key):
    response = client.options("/v1/batch", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response


def test_a_browser_post_from_an_allowed_origin_is_readable_by_the_page(client, site_key):
    # analytics.js posts text/plain with the write key in the body (no preflight)
    body = {"writeKey": site_key, "batch": [{"type": "page", "anonymousId": "a1", "messageId": "p1"}]}
    response = client.post("/v1/batch", data=json.dumps(body), content_type="text/plain",
                           headers={"Origin": "https://www.acme.example"})  # fmt: skip
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://www.acme.example"


def test_a_post_from_an_origin_the_key_does_not_allow_gets_no_cors_header(client, site_key):
    response = post(client, "/v1/batch", {"batch": []}, site_key, Origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response


def test_a_key_without_origins_allows_no_browser(client, key):
    response = post(client, "/v1/batch", {"batch": []}, key, Origin="https://www.acme.example")
    assert "Access-Control-Allow-Origin" not in response
