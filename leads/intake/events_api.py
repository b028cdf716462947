"""The Segment-compatible event API (a django-ninja Router mounted on `leads.api.api`): `POST /v1/batch`,
`/v1/track`, `/v1/identify`, `/v1/page`, ... so any Segment library pointed at this site sends events here unchanged.

Here: the write key (basic auth user name or `writeKey` in the body), the body's size and gzip, the per-key rate and
the per-process gate, and the endpoints. The exceptions raised here are turned into Segment-shaped error answers by
the handlers on the NinjaAPI (`leads/api.py`: exception handlers live on the API, not on a router).
"""

import base64
import binascii
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage
from ninja import Field, Router, Schema
from ninja.security.http import HttpAuthBase
from pydantic import BaseModel, ConfigDict

from leads.intake import ingest, segment
from leads.intake.problem_words import message_words
from leads.intake.problems import problems_record
from leads.models import WriteKey
from leads.services import KEY_TOUCH_EVERY, key_hash, keys_touch

router = Router(tags=["events"])


def setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# --- authentication, body, back-pressure --------------------------------------------------------------------


class WriteKeyError(Exception):
    pass


class Overloaded(Exception):
    pass


class KeyRateLimited(Exception):
    """One write key sent more than INGEST_RATE_LIMIT requests; `retry_after` seconds until its window ends."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(retry_after)


def _rate_limit(request: HttpRequest, key: WriteKey) -> None:
    """Count this request against its write key (django-ratelimit, in the shared cache); past the rate, 429."""
    usage = get_usage(
        request,
        group="ingest",
        key=lambda group, request: f"write-key:{key.pk}",
        rate=getattr(settings, "INGEST_RATE_LIMIT", "600/m"),
        increment=True,
    )
    if usage and usage["should_limit"]:
        raise KeyRateLimited(max(1, int(usage["time_left"])))


def _payload(request: HttpRequest, limit: int) -> Any:
    """The JSON body, decompressed and size-checked once per request (auth may need its writeKey first)."""
    cached = getattr(request, "_segment_payload", None)
    if cached is not None:
        return cached[0]
    encoding = request.headers.get("Content-Encoding", "")
    declared = request.META.get("CONTENT_LENGTH") or "0"
    slack = limit // 100 + 1024 if encoding.strip().lower() in ("gzip", "x-gzip") else 0
    if declared.isdigit() and int(declared) > limit + slack:
        raise segment.PayloadError(
            _("request body is %(size)s bytes; the limit is %(limit)s bytes")
            % {"size": f"{int(declared):,}", "limit": f"{limit:,}"},
            status=413,
            code="too_large",
        )
    payload = segment.parse_json(segment.decode_body(request.body, encoding=encoding, limit=limit))
    request._segment_payload = (payload,)  # type: ignore[attr-defined]
    return payload


class WriteKeyAuth(HttpAuthBase):
    """Segment's write key: the basic auth user name (password empty), or `writeKey` in the JSON body."""

    openapi_scheme = "basic"

    def __init__(self, limit_setting: str, limit_default: int) -> None:
        self.limit_setting = limit_setting
        self.limit_default = limit_default
        super().__init__()

    def __call__(self, request: HttpRequest) -> WriteKey:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _space, value = header.partition(" ")
            if scheme.lower() != "basic":
                raise WriteKeyError(
                    _(
                        "%(scheme)s authorization is not accepted here: send the write key as the basic auth user name"
                    )
                    % {"scheme": scheme}
                )
            try:
                raw = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                raise WriteKeyError(_("The Authorization header is not valid basic auth")) from None
        else:
            payload = _payload(request, setting(self.limit_setting, self.limit_default))
            raw = payload.get("writeKey") if isinstance(payload, dict) else None
            if not raw:
                raise WriteKeyError(
                    _(
                        "No write key: send it as the basic auth user name (empty password) or as writeKey in the body"
                    )
                )
        key = WriteKey.objects.filter(key_hash=key_hash(str(raw)), is_active=True).first()
        if key is None:
            raise WriteKeyError(_("Invalid or inactive write key"))
        request._write_key = key  # type: ignore[attr-defined]  # CORS: the origins this key allows
        _rate_limit(request, key)
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at >= KEY_TOUCH_EVERY:
            keys_touch(WriteKey.objects.filter(pk=key.pk), now)
        return key


batch_auth = WriteKeyAuth("INGEST_MAX_BATCH_BYTES", segment.MAX_BATCH_BYTES)
message_auth = WriteKeyAuth("INGEST_MAX_MESSAGE_BYTES", segment.MAX_MESSAGE_BYTES)


class _Gate:
    """At most INGEST_MAX_CONCURRENT ingest requests at once in this process; the next ones get a 429."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0

    @contextmanager
    def enter(self) -> Iterator[None]:
        with self._lock:
            if self.active >= setting("INGEST_MAX_CONCURRENT", 8):
                raise Overloaded()
            self.active += 1
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1


gate = _Gate()


# --- endpoints --------------------------------------------------------------------------------------------


class Success(Schema):
    success: bool = True
    set_aside: list[str] | None = Field(
        None, description="Fields or messages set aside (also listed for marketers); the rest was stored"
    )


class IngestError(Schema):
    success: bool = False
    code: str = Field(..., examples=["invalid_request"])
    message: str = Field(..., examples=["batch[3].event: required for track"])
    errors: list[str] | None = None


class SegmentMessage(BaseModel):
    """A Segment message (documentation of the body; the API validates it itself to name each bad field)."""

    model_config = ConfigDict(extra="allow")

    type: str | None = Field(
        None, description="identify, track, page (screen, group, alias accepted, not stored)"
    )
    userId: str | None = None
    anonymousId: str | None = None
    messageId: str | None = Field(None, description="Unique per message: a retried message is stored once")
    event: str | None = Field(None, description="track: the event name, e.g. “Demo Requested”")
    name: str | None = Field(None, description="page: the page name")
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = Field(None, description="identify: email, firstName, company, title, ...")
    context: dict[str, Any] | None = None
    timestamp: datetime | None = None
    originalTimestamp: datetime | None = None
    sentAt: datetime | None = None


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


MESSAGE_SCHEMA = SegmentMessage.model_json_schema()
# What a message needs to be used (without it, it is set aside and listed as a data problem): an id naming the
# person; in a batch, its type; for track, the event name.
_NAMED = {"anyOf": [{"required": ["userId"]}, {"required": ["anonymousId"]}]}


def _requiring(*fields: str, title: str) -> dict[str, Any]:
    return {**MESSAGE_SCHEMA, "title": title, "required": list(fields), **_NAMED}


BATCH_ITEM_SCHEMA = _requiring("type", title="SegmentBatchMessage")
TRACK_SCHEMA = _requiring("event", title="SegmentTrack")
IDENTIFY_SCHEMA = _requiring(title="SegmentIdentify")
PAGE_SCHEMA = _requiring(title="SegmentPage")
GROUP_SCHEMA = _requiring("groupId", title="SegmentGroup")
ALIAS_SCHEMA = {**MESSAGE_SCHEMA, "title": "SegmentAlias", "required": ["userId", "previousId"]}
BATCH_SCHEMA = {
    "title": "SegmentBatch",
    "type": "object",
    "required": ["batch"],
    "properties": {
        "batch": {"type": "array", "items": BATCH_ITEM_SCHEMA},
        "sentAt": {"type": "string", "format": "date-time"},
        "context": {"type": "object"},
        "writeKey": {"type": "string", "description": "The write key, when not sent as basic auth"},
    },
}
INGEST_RESPONSES = {200: Success, frozenset({400, 401, 413, 415, 429, 503}): IngestError}


def _store(messages: list[segment.Message], rejected: list[segment.Problem], now: datetime) -> dict[str, Any]:
    """Store the usable messages, record what was set aside, and tell the client (it may log it)."""
    ingest.events_ingest(messages=messages, now=now, source="api")
    problems_record(((problem, None) for problem in rejected), source="api", now=now)
    set_aside = [message_words(str(problem)) for problem in rejected]
    set_aside += [message_words(str(problem)) for message in messages for problem in message.problems]
    if set_aside:
        return {"success": True, "set_aside": set_aside[: segment.MAX_ERRORS]}
    return {"success": True}


@router.post(
    "/v1/batch", auth=batch_auth, response=INGEST_RESPONSES, exclude_none=True, summary="Send a batch of messages",
    openapi_extra=_body(BATCH_SCHEMA),
)  # fmt: skip
def segment_batch(request: HttpRequest) -> dict[str, Any]:
    with gate.enter():
        now = timezone.now()
        payload = _payload(request, setting("INGEST_MAX_BATCH_BYTES", segment.MAX_BATCH_BYTES))
        rejected: list[segment.Problem] = []
        messages = segment.parse_batch(
            payload,
            received_at=now,
            max_message_bytes=setting("INGEST_MAX_MESSAGE_BYTES", segment.MAX_MESSAGE_BYTES),
            rejected=rejected,
        )
        return _store(messages, rejected, now)


@router.post(
    "/v1/import", auth=batch_auth, response=INGEST_RESPONSES, exclude_none=True,
    summary="Send a batch of messages (as /v1/batch; Segment's Ruby library posts here)",
    openapi_extra=_body(BATCH_SCHEMA),
)  # fmt: skip
def segment_import(request: HttpRequest) -> dict[str, Any]:
    return segment_batch(request)


def _single(request: HttpRequest, type_: str) -> dict[str, Any]:
    with gate.enter():
        now = timezone.now()
        limit = setting("INGEST_MAX_MESSAGE_BYTES", segment.MAX_MESSAGE_BYTES)
        rejected: list[segment.Problem] = []
        try:
            message = segment.parse_message(
                _payload(request, limit),
                type_=type_,
                received_at=now,
                max_message_bytes=limit,
                rejected=rejected,
            )
        except segment.PayloadError:
            problems_record(((problem, None) for problem in rejected), source="api", now=now)
            raise
        return _store([message], [], now)


@router.post(
    "/v1/track", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True, summary="Record an event",
    openapi_extra=_body(TRACK_SCHEMA),
)  # fmt: skip
def segment_track(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "track")


@router.post(
    "/v1/identify", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True,
    summary="Say who a user is (traits → lead fields)", openapi_extra=_body(IDENTIFY_SCHEMA),
)  # fmt: skip
def segment_identify(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "identify")


@router.post(
    "/v1/page", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True, summary="Record a page view",
    openapi_extra=_body(PAGE_SCHEMA),
)  # fmt: skip
def segment_page(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "page")


@router.post(
    "/v1/group", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True,
    summary="Say which company a user belongs to (traits → company, industry, employees)",
    openapi_extra=_body(GROUP_SCHEMA),
)  # fmt: skip
def segment_group(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "group")


@router.post(
    "/v1/alias", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True,
    summary="Link a previous id (an anonymousId) to a userId: their histories become one lead",
    openapi_extra=_body(ALIAS_SCHEMA),
)  # fmt: skip
def segment_alias(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "alias")


@router.post(
    "/v1/screen", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True,
    summary="A mobile screen view (accepted, not stored)", openapi_extra=_body(PAGE_SCHEMA),
)  # fmt: skip
def segment_screen(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "screen")
