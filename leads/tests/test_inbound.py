"""Inbound webhooks as Mautic and a generic sender use them: signed bodies become leads and activities through
the ingest service; a bad signature is 401 JSON, a bad body 400 JSON naming the problem, nothing written."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from leads.models import Activity, Lead

pytestmark = pytest.mark.django_db
MAUTIC_SECRET = "mautic-shared-secret"
GENERIC_SECRET = "whsec_" + base64.b64encode(b"generic-secret-of-24-bytes!").decode()


@pytest.fixture(autouse=True)
def secrets(settings):
    settings.INBOUND_MAUTIC_SECRET = MAUTIC_SECRET
    settings.INBOUND_GENERIC_SECRET = GENERIC_SECRET


def mautic_contact(contact_id=7, **fields):
    values = {"email": "kenji@acme.example", "firstname": "Kenji", "lastname": "Sato", "company": "Acme KK",
              **fields}  # fmt: skip
    return {"id": contact_id, "points": 10,
            "fields": {"core": {alias: {"alias": alias, "value": value} for alias, value in values.items()}}}  # fmt: skip


def mautic_post(client, body, *, secret=MAUTIC_SECRET, signature=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sig = (
        signature
        if signature is not None
        else base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    )
    return client.post(
        "/inbound/mautic/", raw, content_type="application/json", headers={"Webhook-Signature": sig}
    )


def generic_post(client, body, *, secret=GENERIC_SECRET):
    raw = json.dumps(body)
    now = datetime.now(tz=UTC)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret).sign("msg_1", now, raw)}  # fmt: skip
    return client.post("/inbound/events/", raw, content_type="application/json", headers=headers)


def test_a_new_mautic_contact_becomes_a_lead(client):
    body = {
        "mautic.lead_post_save_new": [{"contact": mautic_contact(), "timestamp": "2026-12-01T09:00:00+00:00"}]
    }
    response = mautic_post(client, body)
    assert response.status_code == 200 and response.json()["success"] is True
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.last_name, lead.company) == (
        "kenji@acme.example", "Kenji", "Sato", "Acme KK",
    )  # fmt: skip


def test_a_mautic_points_change_is_an_activity_on_the_same_lead_and_a_retry_adds_nothing(client):
    new = {
        "mautic.lead_post_save_new": [{"contact": mautic_contact(), "timestamp": "2026-12-01T09:00:00+00:00"}]
    }
    points = {"mautic.lead_points_change": [{"contact": mautic_contact(), "timestamp": "2026-12-01T10:00:00+00:00",
                                             "points": {"old_points": 10, "new_points": 35}}]}  # fmt: skip
    mautic_post(client, new)
    for _ in range(2):  # Mautic retries a delivery it thinks failed
        assert mautic_post(client, points).status_code == 200
    lead = Lead.objects.get()
    activity = Activity.objects.get(lead=lead, type="mautic_points_changed")
    assert activity.properties["new_points"] == 35


@pytest.mark.parametrize(
    "signature, secret",
    [("", MAUTIC_SECRET), ("bm90IGEgc2lnbmF0dXJl", MAUTIC_SECRET), (None, "another secret")],
    ids=["missing", "garbage", "wrong secret"],
)
def test_a_bad_mautic_signature_is_refused_with_401_json(client, signature, secret):
    body = {"mautic.lead_post_save_new": [{"contact": mautic_contact()}]}
    response = mautic_post(client, body, signature=signature, secret=secret)
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "body, named",
    [
        (b"{not json", "not valid JSON"),
        ({"mautic.form_on_submit": []}, "mautic.lead_post_save_new"),
        ({"mautic.lead_post_save_new": {"contact": {}}}, "must be an array"),
        ({"mautic.lead_post_save_new": [{"contact": {"fields": {}}}]}, "contact: required, with an id"),
    ],
    ids=["not json", "unknown event", "not an array", "no contact id"],
)
def test_a_bad_mautic_body_is_a_400_naming_the_problem(client, body, named):
    response = mautic_post(client, body)
    assert response.status_code == 400 and named in response.json()["message"]
    assert not Lead.objects.exists()


def test_an_endpoint_without_a_secret_is_off(client, settings):
    settings.INBOUND_MAUTIC_SECRET = ""
    response = mautic_post(client, {"mautic.lead_post_save_new": []}, secret="")
    assert response.status_code == 404 and response.json()["code"] == "disabled"


def test_the_generic_endpoint_maps_signed_events_to_identify_and_track(client, agreement, rep):
    body = {"events": [
        {"type": "identify", "email": "ada@acme.example", "traits": {"company": "Acme", "employees": 250}, "id": "e1"},
        {"type": "track", "email": "ada@acme.example", "event": "Demo Requested", "id": "e2"},
    ]}  # fmt: skip
    response = generic_post(client, body)
    assert response.status_code == 200, response.content
    lead = Lead.objects.get()
    assert lead.company == "Acme" and lead.tier == "hot"  # the demo request made it a hot MQL
    assert Activity.objects.filter(lead=lead, type="demo_request").count() == 1


def test_the_generic_endpoint_refuses_a_wrong_signature_and_names_a_missing_field(client):
    wrong = generic_post(client, {"type": "identify", "email": "a@b.example"}, secret="whsec_" + "QUJD" * 8)
    assert wrong.status_code == 401 and wrong.json()["code"] == "bad_signature"
    missing = generic_post(client, {"type": "track", "event": "Signed Up"})
    assert missing.status_code == 400 and "“email” or “user_id” is required" in missing.json()["message"]
    bad_type = generic_post(client, {"type": "page", "email": "a@b.example"})
    assert bad_type.status_code == 400 and "events[0].type" in bad_type.json()["message"]
    assert not Lead.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get("/inbound/mautic/").status_code == 405
