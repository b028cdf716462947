"""Inbound webhooks: Mautic's contact webhooks and a generic signed JSON endpoint, both mapped onto the same
ingest service as the event API (identify and track), so dedupe, merging and scoring work the same.

- Mautic (`POST /inbound/mautic/`): `mautic.lead_post_save_new` → identify; `mautic.lead_points_change` →
  identify plus a `Mautic Points Changed` track. Mautic signs with `Webhook-Signature`: base64 HMAC-SHA256 of the
  raw body with the webhook's secret (settings.INBOUND_MAUTIC_SECRET).
- Generic (`POST /inbound/events/`): `{"type": "identify"|"track", "email", "user_id", "event", "traits",
  "properties", "timestamp", "id"}` or `{"events": [...]}`, signed per Standard Webhooks with
  settings.INBOUND_GENERIC_SECRET (`whsec_...`), the same scheme Alignment's own outbound webhooks use.

A bad signature answers 401 JSON, a body that cannot be read 400 JSON naming the problem; an endpoint without a
secret configured answers 404 (it is off).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from leads.intake import ingest
from leads.intake.problem_words import errors_words
from leads.intake.segment import PayloadError

MAX_BODY_BYTES = 1024 * 1024
MAUTIC_EVENTS = ("mautic.lead_post_save_new", "mautic.lead_points_change")
# Mautic contact field aliases → Segment identify traits
MAUTIC_TRAITS = {
    "email": "email", "firstname": "firstName", "lastname": "lastName", "company": "company",
    "position": "title", "country": "country", "city": "city", "phone": "phone",
}  # fmt: skip


class BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"success": False, "code": code, "message": message}, status=status)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest(
            400, "invalid_json", _("The body is not valid JSON: %(error)s") % {"error": error}
        ) from None


def _store(messages: list[dict[str, Any]], source: str) -> JsonResponse:
    if not messages:
        raise BadRequest(400, "no_events", _("The body holds no event Alignment can use"))
    try:
        result = ingest.events_ingest(messages=messages, now=timezone.now(), source=source)
    except PayloadError as error:
        raise BadRequest(400, "invalid_event", errors_words(error.errors)) from None
    except ingest.IngestBusy:
        response = _error(429, "busy", _("The database is busy; retry shortly"))
        response["Retry-After"] = str(getattr(settings, "INGEST_RETRY_AFTER_SECONDS", 2))
        return response
    return JsonResponse({"success": True, "messages": result.messages, "leads_created": result.leads_created})


def _handled(view):
    def wrapper(request: HttpRequest) -> JsonResponse:
        if len(request.body) > MAX_BODY_BYTES:
            return _error(
                413, "too_large", _("The body is over %(limit)s bytes") % {"limit": f"{MAX_BODY_BYTES:,}"}
            )
        try:
            return view(request)
        except BadRequest as error:
            return _error(error.status, error.code, error.message)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return csrf_exempt(require_POST(wrapper))


# --- Mautic ------------------------------------------------------------------------------------------------


def mautic_signature_ok(raw: bytes, signature: str, secret: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())


def _mautic_fields(contact: Mapping[str, Any]) -> dict[str, Any]:
    """Mautic sends fields grouped (`fields.core.email.value`) or flat (`fields.all.email`)."""
    fields = contact.get("fields")
    if not isinstance(fields, Mapping):
        return {}
    if isinstance(fields.get("all"), Mapping):
        return dict(fields["all"])
    flat: dict[str, Any] = {}
    for group in fields.values():
        if isinstance(group, Mapping):
            for alias, field in group.items():
                flat[alias] = field.get("value") if isinstance(field, Mapping) else field
    return flat


def mautic_messages(payload: Any) -> list[dict[str, Any]]:
    """Mautic's body `{event name: [{contact|lead: {...}, points?: {...}, timestamp}], ...}` → Segment messages."""
    if not isinstance(payload, Mapping):
        raise BadRequest(400, "invalid_body", _("The body must be a JSON object keyed by Mautic event names"))
    known = [name for name in MAUTIC_EVENTS if name in payload]
    if not known:
        raise BadRequest(400, "unknown_event", _("No supported Mautic event in the body (expected one of %(events)s)")
                         % {"events": ", ".join(MAUTIC_EVENTS)})  # fmt: skip
    messages: list[dict[str, Any]] = []
    for name in known:
        entries = payload[name]
        if not isinstance(entries, list):
            raise BadRequest(400, "invalid_body", _("%(where)s: must be an array") % {"where": name})
        for index, entry in enumerate(entries):
            contact = entry.get("contact") or entry.get("lead") if isinstance(entry, Mapping) else None
            if not isinstance(contact, Mapping) or contact.get("id") in (None, ""):
                raise BadRequest(
                    400,
                    "invalid_body",
                    _("%(where)s.contact: required, with an id") % {"where": f"{name}[{index}]"},
                )
            fields = _mautic_fields(contact)
            traits = {trait: fields[alias] for alias, trait in MAUTIC_TRAITS.items() if fields.get(alias)}
            when = entry.get("timestamp") or payload.get("timestamp")
            anonymous_id = f"mautic-{contact['id']}"
            base = {"anonymousId": anonymous_id, **({"timestamp": when} if isinstance(when, str) else {})}
            messages.append({
                **base, "type": "identify", "traits": traits, "context": {"source": "mautic"},
                "messageId": f"mautic-{name}-{contact['id']}-{when}-identify",
            })  # fmt: skip
            points = entry.get("points")
            if name == "mautic.lead_points_change" and isinstance(points, Mapping):
                messages.append({
                    **base, "type": "track", "event": "Mautic Points Changed",
                    "properties": {"old_points": points.get("old_points"), "new_points": points.get("new_points")},
                    "messageId": f"mautic-{name}-{contact['id']}-{when}-points",
                })  # fmt: skip
    return messages


@_handled
def mautic_webhook(request: HttpRequest) -> JsonResponse:
    """Mautic contact webhooks (Settings → Webhooks in Mautic; the secret there is INBOUND_MAUTIC_SECRET)."""
    secret = settings.INBOUND_MAUTIC_SECRET
    if not secret:
        return _error(404, "disabled", _("The Mautic webhook is not configured (INBOUND_MAUTIC_SECRET)"))
    signature = request.headers.get("Webhook-Signature", "")
    if not signature or not mautic_signature_ok(request.body, signature, secret):
        return _error(401, "bad_signature", _("Webhook-Signature is missing or does not match the body"))
    return _store(mautic_messages(_json(request.body)), source="mautic")


# --- generic ------------------------------------------------------------------------------------------------


def generic_message(item: Any, index: int) -> list[dict[str, Any]]:
    """One generic event → Segment messages (a track naming the person by e-mail is preceded by an identify,
    so the activity lands on that person's lead)."""
    where = f"events[{index}]"
    if not isinstance(item, Mapping):
        raise BadRequest(400, "invalid_body", _("%(where)s: must be a JSON object") % {"where": where})
    kind = item.get("type")
    if kind not in ("identify", "track"):
        raise BadRequest(
            400,
            "invalid_event",
            _("%(where)s.type: must be “identify” or “track” (got %(kind)s)")
            % {"where": where, "kind": repr(kind)},
        )
    email, user_id = item.get("email"), item.get("user_id")
    if not email and not user_id:
        raise BadRequest(
            400, "invalid_event", _("%(where)s: “email” or “user_id” is required") % {"where": where}
        )
    base: dict[str, Any] = {"userId": str(user_id or email)}
    if item.get("timestamp"):
        base["timestamp"] = item["timestamp"]
    message_id = f"inbound-{item['id']}" if item.get("id") not in (None, "") else None
    traits = item.get("traits") or {}
    if not isinstance(traits, Mapping):
        raise BadRequest(400, "invalid_event", _("%(where)s.traits: must be an object") % {"where": where})
    identify = {**base, "type": "identify", "traits": {**traits, **({"email": email} if email else {})}}
    if kind == "identify":
        return [{**identify, **({"messageId": message_id} if message_id else {})}]
    track = {**base, "type": "track", "event": item.get("event"), "properties": item.get("properties") or {}}
    if message_id:
        track["messageId"] = message_id
        identify["messageId"] = f"{message_id}-identify"
    return [identify, track] if email else [track]


def generic_messages(payload: Any) -> list[dict[str, Any]]:
    items = payload.get("events") if isinstance(payload, Mapping) and "events" in payload else [payload]
    if not isinstance(items, list):
        raise BadRequest(400, "invalid_body", _("%(where)s: must be an array") % {"where": "events"})
    return [message for index, item in enumerate(items) for message in generic_message(item, index)]


@_handled
def generic_webhook(request: HttpRequest) -> JsonResponse:
    """Any system that can send signed JSON (Standard Webhooks headers, INBOUND_GENERIC_SECRET)."""
    secret = settings.INBOUND_GENERIC_SECRET
    if not secret:
        return _error(
            404, "disabled", _("The generic inbound webhook is not configured (INBOUND_GENERIC_SECRET)")
        )
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        Webhook(secret).verify(request.body, headers)
    except (WebhookVerificationError, ValueError) as error:
        return _error(
            401, "bad_signature", _("The webhook signature does not verify: %(error)s") % {"error": error}
        )
    return _store(generic_messages(_json(request.body)), source="webhook")
