"""Alignment's HTTP API (django-ninja): the Segment-compatible event ingest and the read API for leads.

Ingest speaks Segment's HTTP Tracking API (`POST /v1/batch`, `/v1/track`, `/v1/identify`, `/v1/page`), so any
Segment library pointed at this site sends events here unchanged. Reads (`GET /api/leads/`) take a personal API
token or a logged-in session. One OpenAPI document covers both: /api/openapi.json.
"""

import base64
import binascii
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_ratelimit.core import get_usage
from ninja import Field, NinjaAPI, Path, Query, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.pagination import PaginationBase, paginate
from ninja.security import HttpBearer, SessionAuth
from ninja.security.http import HttpAuthBase
from pydantic import BaseModel, ConfigDict, field_validator

from alignment import errors
from alignment.paging import MAX_CURSOR, BadCursor, keyset_page
from alignment.paging import Key as PagingKey
from alignment.roles import user_roles
from leads.intake import ingest, segment
from leads.intake.problems import problems_record
from leads.models import ApiToken, Lead, State, WriteKey
from leads.services import key_hash

TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


api = NinjaAPI(
    urls_namespace="api",
    title="Alignment API",
    version="1",
    description=(
        "**Events in** — Segment's HTTP Tracking API: point any Segment library's `host` at this site. "
        "Authenticate with a write key as the HTTP basic auth user name (empty password) or as `writeKey` in "
        "the JSON body. Bodies may be gzip-compressed (`Content-Encoding: gzip`); at most 32 KB per message "
        "and 4 MB per batch request once decompressed (INGEST_MAX_BATCH_BYTES). A message whose `messageId` was "
        "stored before is skipped, so retries never count twice. A malformed field (an e-mail “n/a”, employees "
        "“unknown”, an impossible timestamp, NaN, a NUL byte) is set aside and the rest of the message kept; "
        "a message that cannot be used at all (no type, no id, over 32 KB) is set aside and the rest of the "
        "batch kept: the 200 answer lists them in `set_aside`, and marketers see them as data problems. Only a "
        "body that is not a batch is refused (400 naming why); a 429 or 503 with `Retry-After` asks the client "
        "to retry later.\n\n"
        "**Leads out** — `GET /api/leads/` and `/api/leads/{id}` with `Authorization: Bearer <API token>` "
        "or a logged-in session of any role; follow `next` (`?cursor=`) for the following page."
    ),
    openapi_url="/api/openapi.json",
    docs_url=None,  # Swagger UI would load from a CDN; the site works offline, so only the JSON is published
)


# --- ingest: authentication, body, back-pressure ------------------------------------------------------------


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
            f"request body is {int(declared):,} bytes; the limit is {limit:,} bytes",
            status=413,
            code="too_large",
        )
    payload = segment.parse_json(segment.decode_body(request.body, encoding=encoding, limit=limit))
    request._segment_payload = (payload,)  # type: ignore[attr-defined]
    return payload


def _touch(keys: QuerySet[Any], now: datetime) -> None:
    """Note when a key was last used; a busy database skips it (the next minute's request will note it)."""
    with suppress(OperationalError):
        keys.update(last_used_at=now)


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
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "basic":
                raise WriteKeyError(
                    f"{scheme} authorization is not accepted here: send the write key as the basic auth user name"
                )
            try:
                raw = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                raise WriteKeyError("The Authorization header is not valid basic auth") from None
        else:
            payload = _payload(request, _setting(self.limit_setting, self.limit_default))
            raw = payload.get("writeKey") if isinstance(payload, dict) else None
            if not raw:
                raise WriteKeyError(
                    "No write key: send it as the basic auth user name (empty password) or as writeKey in the body"
                )
        key = WriteKey.objects.filter(key_hash=key_hash(str(raw)), is_active=True).first()
        if key is None:
            raise WriteKeyError("Invalid or inactive write key")
        request._write_key = key  # type: ignore[attr-defined]  # CORS: the origins this key allows
        _rate_limit(request, key)
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
            _touch(WriteKey.objects.filter(pk=key.pk), now)
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
            if self.active >= _setting("INGEST_MAX_CONCURRENT", 8):
                raise Overloaded()
            self.active += 1
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1


gate = _Gate()


def _ingest_error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    # `code` and `message` are what Segment's libraries read from an error body and log.
    return api.create_response(
        request, {"success": False, "code": code, "message": message, **extra}, status=status
    )


@api.exception_handler(segment.PayloadError)
def _payload_error(request: HttpRequest, exc: segment.PayloadError) -> HttpResponse:
    return _ingest_error(request, exc.status, exc.code, exc.message, errors=exc.errors)


@api.exception_handler(WriteKeyError)
def _write_key_error(request: HttpRequest, exc: WriteKeyError) -> HttpResponse:
    response = _ingest_error(request, 401, "unauthorized", str(exc))
    response["WWW-Authenticate"] = 'Basic realm="Alignment events"'
    return response


def _busy(request: HttpRequest, message: str) -> HttpResponse:
    response = _ingest_error(request, 429, "rate_limited", message)
    response["Retry-After"] = str(_setting("INGEST_RETRY_AFTER_SECONDS", 2))
    return response


@api.exception_handler(Overloaded)
def _overloaded(request: HttpRequest, exc: Overloaded) -> HttpResponse:
    return _busy(request, "Too many event requests at once: retry after the delay in Retry-After")


@api.exception_handler(KeyRateLimited)
def _key_rate_limited(request: HttpRequest, exc: KeyRateLimited) -> HttpResponse:
    response = _ingest_error(
        request, 429, "rate_limited",
        f"This write key sent more than {settings.INGEST_RATE_LIMIT} requests: retry after the delay in Retry-After",
    )  # fmt: skip
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ingest.IngestBusy)
def _database_busy(request: HttpRequest, exc: ingest.IngestBusy) -> HttpResponse:
    return _busy(request, "The database is busy: retry after the delay in Retry-After; nothing was stored")


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    errors.logger.error("database unavailable", exc_info=exc)
    return errors.unavailable(request)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        {"detail": "Authentication required: send Authorization: Bearer <API token>, or log in"},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="Alignment API"'
    return response


# --- ingest: endpoints --------------------------------------------------------------------------------------


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
    set_aside = [str(problem) for problem in rejected]
    set_aside += [str(problem) for message in messages for problem in message.problems]
    if set_aside:
        return {"success": True, "set_aside": set_aside[: segment.MAX_ERRORS]}
    return {"success": True}


@api.post(
    "/v1/batch", auth=batch_auth, response=INGEST_RESPONSES, exclude_none=True, tags=["events"], summary="Send a batch of messages",
    openapi_extra=_body(BATCH_SCHEMA),
)  # fmt: skip
def segment_batch(request: HttpRequest) -> dict[str, Any]:
    with gate.enter():
        now = timezone.now()
        payload = _payload(request, _setting("INGEST_MAX_BATCH_BYTES", segment.MAX_BATCH_BYTES))
        rejected: list[segment.Problem] = []
        messages = segment.parse_batch(
            payload,
            received_at=now,
            max_message_bytes=_setting("INGEST_MAX_MESSAGE_BYTES", segment.MAX_MESSAGE_BYTES),
            rejected=rejected,
        )
        return _store(messages, rejected, now)


@api.post(
    "/v1/import", auth=batch_auth, response=INGEST_RESPONSES, exclude_none=True, tags=["events"],
    summary="Send a batch of messages (as /v1/batch; Segment's Ruby library posts here)",
    openapi_extra=_body(BATCH_SCHEMA),
)  # fmt: skip
def segment_import(request: HttpRequest) -> dict[str, Any]:
    return segment_batch(request)


def _single(request: HttpRequest, type_: str) -> dict[str, Any]:
    with gate.enter():
        now = timezone.now()
        limit = _setting("INGEST_MAX_MESSAGE_BYTES", segment.MAX_MESSAGE_BYTES)
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


@api.post(
    "/v1/track", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True, tags=["events"], summary="Record an event",
    openapi_extra=_body(TRACK_SCHEMA),
)  # fmt: skip
def segment_track(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "track")


@api.post(
    "/v1/identify", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True, tags=["events"],
    summary="Say who a user is (traits → lead fields)", openapi_extra=_body(IDENTIFY_SCHEMA),
)  # fmt: skip
def segment_identify(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "identify")


@api.post(
    "/v1/page", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True, tags=["events"], summary="Record a page view",
    openapi_extra=_body(PAGE_SCHEMA),
)  # fmt: skip
def segment_page(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "page")


@api.post(
    "/v1/group", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True, tags=["events"],
    summary="Say which company a user belongs to (traits → company, industry, employees)",
    openapi_extra=_body(GROUP_SCHEMA),
)  # fmt: skip
def segment_group(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "group")


@api.post(
    "/v1/alias", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True, tags=["events"],
    summary="Link a previous id (an anonymousId) to a userId: their histories become one lead",
    openapi_extra=_body(ALIAS_SCHEMA),
)  # fmt: skip
def segment_alias(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "alias")


@api.post(
    "/v1/screen", auth=message_auth, response=INGEST_RESPONSES, exclude_none=True, tags=["events"],
    summary="A mobile screen view (accepted, not stored)", openapi_extra=_body(PAGE_SCHEMA),
)  # fmt: skip
def segment_screen(request: HttpRequest) -> dict[str, Any]:
    return _single(request, "screen")


# --- read API -----------------------------------------------------------------------------------------------


def _require_role(user: Any) -> Any:
    if not user_roles(user):
        raise HttpError(403, "Your account holds no role in Alignment, so it may not read leads")
    return user


class ApiTokenAuth(HttpBearer):
    """A personal API token (leads.ApiToken): `Authorization: Bearer <token>`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = ApiToken.objects.select_related("user").filter(key_hash=key_hash(token.strip())).first()
        if row is None or not row.user.is_active:
            return None
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            _touch(ApiToken.objects.filter(pk=row.pk), now)
        return _require_role(row.user)


class RoleSessionAuth(SessionAuth):
    """A logged-in session of a user holding any role (CSRF applies to unsafe methods, as for any form)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not request.user.is_authenticated:
            return None
        return _require_role(request.user)


read_auth = [ApiTokenAuth(), RoleSessionAuth()]


class TierFilter(StrEnum):
    HOT = "hot"
    WARM = "warm"
    NONE = "none"


MAX_ID = 2**63 - 1  # the largest primary key a database column holds: larger ids are a 422, not a 500


#: /api/leads/ order: oldest change first, so a client can follow changes (index leads_updated_sort_idx)
LEAD_ORDER = [PagingKey("updated_at", "datetime"), PagingKey("pk", "int")]


class LeadPages(PaginationBase):
    """Cursor pages: `next` is the cursor of the page after this one (null on the last), so page 20,000 costs what
    page 1 does (no OFFSET, no COUNT). A cursor this API did not give is a 422 naming `cursor`."""

    class Input(Schema):
        cursor: str | None = Field(
            None, max_length=MAX_CURSOR, pattern=r"^[A-Za-z0-9_-]*$",
            description="`next` from the previous page; leave out for the first page",
        )  # fmt: skip
        page_size: int = Field(50, ge=1, le=500)

    class Output(Schema):
        items: list[Any]
        next: str | None = Field(None, description="The cursor of the next page, or null on the last page")

    def paginate_queryset(
        self, queryset: QuerySet[Lead], pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        try:
            page = keyset_page(queryset, LEAD_ORDER, per_page=pagination.page_size, after=pagination.cursor)
        except BadCursor as error:
            raise ValidationError(
                [{"type": "value_error", "loc": ["query", "cursor"], "msg": f"{error}: use `next` as given"}]
            ) from None
        return {"items": page.records, "next": page.next_cursor}


class LeadFilters(Schema):
    email: str | None = Field(
        None, description="Exact e-mail address (case-insensitive)", max_length=254, pattern=r"^[^\x00]*$"
    )
    state: State | None = None
    tier: TierFilter | None = None
    updated_since: datetime | None = Field(None, description="Changed at or after this instant (ISO-8601)")

    @field_validator("updated_since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """As UTC (the database compares in UTC); an instant that has no UTC equivalent is refused."""
        if value is None:
            return None
        try:
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        except OverflowError:
            raise ValueError("is out of range once converted to UTC") from None

    def apply(self, leads: QuerySet[Lead]) -> QuerySet[Lead]:
        if self.email:
            leads = leads.with_email(self.email)
        if self.state:
            leads = leads.filter(state=self.state)
        if self.tier:
            leads = leads.filter(tier="" if self.tier is TierFilter.NONE else self.tier.value)
        if self.updated_since:
            leads = leads.filter(updated_at__gte=self.updated_since)
        return leads


class OwnerOut(Schema):
    id: int
    username: str
    name: str


class DeadlinesOut(Schema):
    claim: datetime | None
    first_contact: datetime | None
    accept: datetime | None
    outcome: datetime | None


class LeadOut(Schema):
    id: int
    url: str
    email: str
    first_name: str
    last_name: str
    company: str
    job_title: str
    seniority: str
    department: str
    industry: str
    employees: int | None
    country: str
    source: str
    campaign: str
    attributes: dict[str, Any]
    state: State
    tier: str = Field(..., description="hot, warm, or empty when the lead is not an MQL")
    score: int
    fit_score: int = Field(..., description="Points from attributes (fit rules)")
    engagement_score: int = Field(..., description="Points from activities (engagement rules, with ageing)")
    breakdown: dict[str, Any] = Field(..., description="The evaluation: rules, evidence, gates, triggers")
    owner: OwnerOut | None
    deadlines: DeadlinesOut
    mql_at: datetime | None
    last_activity_at: datetime | None
    scored_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_url(lead: Lead) -> str:
        return lead.get_absolute_url()

    @staticmethod
    def resolve_owner(lead: Lead) -> dict[str, Any] | None:
        owner = lead.owner
        if owner is None:
            return None
        return {
            "id": owner.pk,
            "username": owner.get_username(),
            "name": owner.get_full_name() or owner.get_username(),
        }

    @staticmethod
    def resolve_deadlines(lead: Lead) -> dict[str, datetime | None]:
        return {
            "claim": lead.claim_due_at,
            "first_contact": lead.first_contact_due_at,
            "accept": lead.accept_due_at,
            "outcome": lead.outcome_due_at,
        }


class Detail(Schema):
    detail: str | list[dict[str, Any]] = Field(
        ..., description="Why: a sentence, or (422) one entry per bad parameter with its location"
    )


READ_ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 422}): Detail, 503: IngestError}


@api.get(
    "/api/leads/", auth=read_auth, response={200: list[LeadOut], **READ_ERRORS}, tags=["leads"],
    summary="List leads",
)  # fmt: skip
@paginate(LeadPages)
def leads_list(request: HttpRequest, filters: Query[LeadFilters]) -> QuerySet[Lead]:
    """Leads in order of their last change (oldest first, so `updated_since` can page through changes); follow
    `next` (`?cursor=`) for the following page."""
    return filters.apply(Lead.objects.select_related("owner"))


@api.get(
    "/api/leads/{lead_id}", auth=read_auth, response={200: LeadOut, **READ_ERRORS}, tags=["leads"],
    summary="One lead",
)  # fmt: skip
def lead_detail(request: HttpRequest, lead_id: int = Path(..., ge=1, le=MAX_ID)) -> Lead:
    return get_object_or_404(Lead.objects.select_related("owner"), pk=lead_id)


# alignment/urls.py mounts these at the site root: path("", include("leads.intake.api")).
app_name = "api"
urlpatterns = api.urls[0]
