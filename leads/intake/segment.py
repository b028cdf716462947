"""The Segment HTTP Tracking API as Alignment reads it. Pure functions: no Django import, no database.

`decode_body` unpacks a request body (gzip, size limits), `parse_batch` / `parse_message` validate Segment
messages and map each one to what the lead model understands: an activity (track → its event's activity type,
page → `page`), the ids that name the person, and lead fields from identify traits. Every problem is reported
with the path of the offending field (`batch[3].event: required for track`), so a client can fix its payload.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from leads.normalise import parse_employees, seniority_from_title

MAX_MESSAGE_BYTES = 32 * 1024  # Segment: 32 KB per call
MAX_BATCH_BYTES = 500 * 1024  # Segment: 500 KB per batch request
MAX_ID_LENGTH = 200  # LeadIdentity.value and Activity.message_id
MAX_TYPE_LENGTH = 60  # Activity.type
MAX_ERRORS = 20  # a batch with many bad messages reports the first ones

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
RECORDED_TYPES = ("identify", "track", "page")  # the rest are accepted (clients send them) and not stored

# Segment spec event names (and common spellings) → the activity types agreements speak of.
EVENT_ALIASES: dict[str, str] = {
    "demo requested": "demo_request",
    "demo request": "demo_request",
    "form submitted": "form_submit",
    "webinar attended": "webinar",
    "email opened": "email_open",
    "email link clicked": "email_click",
    "email clicked": "email_click",
    "asset downloaded": "download",
    "content downloaded": "download",
    "trial started": "trial_signup",
}

# Lead text fields and their column lengths; longer values are cut to fit.
TEXT_FIELDS: dict[str, int] = {
    "first_name": 100, "last_name": 100, "company": 200, "job_title": 200, "seniority": 50,
    "department": 100, "industry": 100, "country": 100, "source": 100, "campaign": 200,
}  # fmt: skip
# Identify trait names (lower case, without "_", "-" or spaces) → lead field.
TRAIT_FIELDS: dict[str, str] = {
    "firstname": "first_name", "lastname": "last_name", "title": "job_title", "jobtitle": "job_title",
    "seniority": "seniority", "department": "department", "industry": "industry",
    "employees": "employees", "employeecount": "employees", "numberofemployees": "employees",
    "country": "country", "source": "source", "campaign": "campaign",
}  # fmt: skip
PAGE_CONTEXT_KEYS = ("path", "url", "title", "referrer", "search")
MAX_EMPLOYEES = 2_147_483_647
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class PayloadError(ValueError):
    """A request the API refuses as a whole; `errors` name each offending field, the first is the message."""

    def __init__(self, errors: list[str] | str, *, status: int = 400, code: str = "invalid_request") -> None:
        self.errors = [errors] if isinstance(errors, str) else errors
        self.status = status
        self.code = code
        super().__init__(self.errors[0])

    @property
    def message(self) -> str:
        more = len(self.errors) - 1
        return self.errors[0] + (f" (and {more} more error{'s' if more > 1 else ''})" if more else "")


@dataclass(frozen=True)
class Message:
    """One accepted Segment message, mapped onto leads."""

    index: int
    type: str
    message_id: str | None
    user_id: str | None
    anonymous_id: str | None
    occurred_at: datetime
    activity_type: str | None = None  # None: the message records no activity (identify, screen, ...)
    properties: dict[str, Any] = field(default_factory=dict)
    email: str = ""  # from identify traits, or a userId that is an e-mail address
    fields: dict[str, Any] = field(default_factory=dict)  # lead fields; new values win
    custom: dict[str, Any] = field(default_factory=dict)  # custom attributes; new values win
    defaults: dict[str, Any] = field(
        default_factory=dict
    )  # lead fields filled only when blank (UTM campaign)

    @property
    def recorded(self) -> bool:
        return self.type in RECORDED_TYPES


# --- the request body -------------------------------------------------------------------------------------


def decode_body(body: bytes, *, encoding: str, limit: int) -> bytes:
    """The body as sent, gunzipped if `Content-Encoding: gzip`; never more than `limit` bytes (gzip bombs)."""
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        if len(body) > limit:
            raise PayloadError(
                f"request body is {len(body):,} bytes; the limit is {limit:,} bytes",
                status=413,
                code="too_large",
            )
        return body
    if encoding in ("gzip", "x-gzip"):
        return _gunzip(body, limit)
    raise PayloadError(
        f"Content-Encoding “{encoding}” is not supported: send the body as is or gzip-compressed",
        status=415,
        code="unsupported_encoding",
    )


def _gunzip(data: bytes, limit: int) -> bytes:
    out = bytearray()
    while data:
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += stream.decompress(data, limit + 1 - len(out))
        except zlib.error as error:
            raise PayloadError(f"request body is not valid gzip: {error}") from None
        if len(out) > limit:
            raise PayloadError(
                f"request body is over {limit:,} bytes once decompressed; the limit is {limit:,} bytes",
                status=413,
                code="too_large",
            )
        if not stream.eof:
            raise PayloadError("request body is not valid gzip: the compressed stream is truncated")
        data = stream.unused_data
        if not data.strip(b"\0"):
            break  # padding after the last member, as gzip(1) tolerates
    return bytes(out)


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise PayloadError("request body is empty: send a JSON object")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PayloadError("request body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise PayloadError(
            f"request body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise PayloadError("request body is nested too deeply") from None


# --- messages ---------------------------------------------------------------------------------------------


def parse_batch(
    payload: Any, *, received_at: datetime, max_message_bytes: int = MAX_MESSAGE_BYTES
) -> list[Message]:
    """Validate a `/v1/batch` body and map every message; one bad message refuses the whole batch."""
    if not isinstance(payload, Mapping):
        raise PayloadError("request body must be a JSON object with a “batch” array")
    errors: list[str] = []
    batch = payload.get("batch")
    if batch is None:
        raise PayloadError("batch: required (an array of messages)")
    if not isinstance(batch, list):
        raise PayloadError("batch: must be an array of messages")
    sent_at = _time(payload.get("sentAt"), "sentAt", errors)
    context = _object(payload.get("context"), "context", errors)
    if errors:
        raise PayloadError(errors)
    messages = []
    for index, item in enumerate(batch):
        message = _message(
            item, path=f"batch[{index}]", index=index, endpoint_type=None, sent_at=sent_at,
            batch_context=context, received_at=received_at, max_bytes=max_message_bytes, errors=errors,
        )  # fmt: skip
        if message is not None:
            messages.append(message)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise PayloadError(errors)
    return messages


def parse_message(
    payload: Any, *, type_: str, received_at: datetime, max_message_bytes: int = MAX_MESSAGE_BYTES
) -> Message:
    """Validate a single-message body (`/v1/track`, `/v1/identify`, `/v1/page`) and map it."""
    errors: list[str] = []
    message = _message(
        payload, path="", index=0, endpoint_type=type_, sent_at=None, batch_context={},
        received_at=received_at, max_bytes=max_message_bytes, errors=errors,
    )  # fmt: skip
    if errors or message is None:
        raise PayloadError(errors or ["request body must be a JSON object"])
    return message


def _message(
    item: Any,
    *,
    path: str,
    index: int,
    endpoint_type: str | None,
    sent_at: datetime | None,
    batch_context: Mapping[str, Any],
    received_at: datetime,
    max_bytes: int,
    errors: list[str],
) -> Message | None:
    at = f"{path}." if path else ""
    if not isinstance(item, Mapping):
        errors.append(f"{path or 'request body'}: must be a JSON object")
        return None
    size = len(json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=str).encode())
    if size > max_bytes:
        errors.append(f"{path or 'message'}: is {size:,} bytes; the limit is {max_bytes:,} bytes per message")
        return None
    before = len(errors)
    type_ = item.get("type", endpoint_type)
    if endpoint_type and type_ != endpoint_type:
        errors.append(f"{at}type: must be “{endpoint_type}” on /v1/{endpoint_type} (got {type_!r})")
        return None
    if type_ is None:
        errors.append(f"{at}type: required ({', '.join(MESSAGE_TYPES)})")
        return None
    if type_ not in MESSAGE_TYPES:
        errors.append(f"{at}type: {type_!r} is not a Segment message type ({', '.join(MESSAGE_TYPES)})")
        return None
    user_id = _id(item.get("userId"), f"{at}userId", errors)
    anonymous_id = _id(item.get("anonymousId"), f"{at}anonymousId", errors)
    message_id = _id(item.get("messageId"), f"{at}messageId", errors)
    if type_ == "alias":
        if not user_id:
            errors.append(f"{at}userId: required for alias")
    elif not (user_id or anonymous_id) and len(errors) == before:
        errors.append(f"{at}userId: userId or anonymousId is required")
    timestamp = _time(item.get("timestamp"), f"{at}timestamp", errors)
    original = _time(item.get("originalTimestamp"), f"{at}originalTimestamp", errors)
    own_sent_at = _time(item.get("sentAt"), f"{at}sentAt", errors)
    properties = _object(item.get("properties"), f"{at}properties", errors)
    context = {**batch_context, **_object(item.get("context"), f"{at}context", errors)}
    traits = _object(item.get("traits"), f"{at}traits", errors)
    occurred = occurred_at(
        timestamp=timestamp,
        original_timestamp=original,
        sent_at=own_sent_at or sent_at,
        received_at=received_at,
    )
    activity: str | None = None
    props: dict[str, Any] = {}
    if type_ == "track":
        event = item.get("event")
        if event is None or event == "":
            errors.append(f"{at}event: required for track")
        elif not isinstance(event, str):
            errors.append(f"{at}event: must be a string")
        else:
            activity = activity_type(event)
            if not activity:
                errors.append(f"{at}event: {event!r} has no letters or digits to name an activity")
            props = {**properties}
            props.setdefault("event", event)
    elif type_ == "page":
        name, category = item.get("name"), item.get("category")
        for key, value in (("name", name), ("category", category)):
            if value is not None and not isinstance(value, str):
                errors.append(f"{at}{key}: must be a string")
        activity = "page"
        props = page_properties(properties, _object(context.get("page"), f"{at}context.page", errors))
        for key, value in (("name", name), ("category", category)):
            if isinstance(value, str) and value:
                props.setdefault(key, value)
    email, fields, custom = "", {}, {}
    if type_ == "identify":
        email, fields, custom = lead_fields(traits, f"{at}traits", errors)
    if not email and user_id and is_email(user_id):
        email = user_id.strip().lower()
    if len(errors) > before:
        return None
    return Message(
        index=index, type=type_, message_id=message_id, user_id=user_id, anonymous_id=anonymous_id,
        occurred_at=occurred, activity_type=activity, properties=props, email=email, fields=fields,
        custom=custom, defaults=campaign_defaults(context.get("campaign")),
    )  # fmt: skip


def _id(value: Any, path: str, errors: list[str]) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append(f"{path}: must be a string or a number")
        return None
    text = str(value).strip()
    if len(text) > MAX_ID_LENGTH:
        errors.append(f"{path}: is {len(text)} characters; at most {MAX_ID_LENGTH}")
        return None
    return text or None


def _object(value: Any, path: str, errors: list[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(f"{path}: must be an object")
        return {}
    return dict(value)


def _time(value: Any, path: str, errors: list[str]) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.append(f"{path}: must be an ISO-8601 date-time string")
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        errors.append(f"{path}: {value!r} is not an ISO-8601 date-time")
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- mapping ----------------------------------------------------------------------------------------------


def occurred_at(
    *,
    timestamp: datetime | None,
    original_timestamp: datetime | None,
    sent_at: datetime | None,
    received_at: datetime,
) -> datetime:
    """When it happened, as Segment computes it: the client's time corrected by the client's clock skew.

    The skew is what separates the client's clock from ours when it sent the request (`receivedAt - sentAt`);
    without `sentAt` the client's time is taken as it is, and without any time the event happened on receipt.
    """
    when = timestamp or original_timestamp
    if when is None:
        return received_at
    if sent_at is None:
        return when
    return when + (received_at - sent_at)


def snake_case(name: str) -> str:
    """'Demo Requested' → 'demo_requested', 'pricingPageViewed' → 'pricing_page_viewed'."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[\W_]+", "_", text).strip("_").lower()
    return text[:MAX_TYPE_LENGTH].rstrip("_")


def activity_type(event: str) -> str:
    """A track event's activity type: the alias of a Segment spec event, otherwise its name in snake_case."""
    snake = snake_case(event)
    return EVENT_ALIASES.get(snake.replace("_", " "), snake)


def page_properties(properties: Mapping[str, Any], context_page: Mapping[str, Any]) -> dict[str, Any]:
    """A page view's properties: its own, completed from `context.page`; `path` derived from `url` if missing."""
    props = dict(properties)
    for key in PAGE_CONTEXT_KEYS:
        if props.get(key) in (None, "") and context_page.get(key) not in (None, ""):
            props[key] = context_page[key]
    url = props.get("url")
    if props.get("path") in (None, "") and isinstance(url, str) and url:
        props["path"] = urlsplit(url).path or "/"
    return props


def is_email(value: str) -> bool:
    return len(value) <= 254 and bool(EMAIL_RE.match(value.strip()))


def lead_fields(
    traits: Mapping[str, Any], path: str, errors: list[str]
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Identify traits → (e-mail, lead fields, custom attributes). Nulls and blanks are left out."""
    email = ""
    fields: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    full_name = ""
    for key, value in traits.items():
        if value is None or value == "":
            continue
        name = re.sub(r"[\s_-]+", "", key).lower()
        where = f"{path}.{key}"
        if name == "email":
            email = _email(value, where, errors)
        elif name == "company" and isinstance(value, Mapping):
            for part, part_value in value.items():
                part_name = re.sub(r"[\s_-]+", "", str(part)).lower()
                target = {"name": "company", "employeecount": "employees", "employees": "employees",
                          "industry": "industry"}.get(part_name)  # fmt: skip
                if part_value in (None, ""):
                    continue
                if target:
                    _set(fields, target, part_value, f"{where}.{part}", errors)
                else:
                    custom[f"company_{snake_case(str(part))}"] = part_value
        elif name == "company":
            _set(fields, "company", value, where, errors)
        elif name == "address" and isinstance(value, Mapping):
            for part, part_value in value.items():
                if part_value in (None, ""):
                    continue
                if str(part).lower() == "country":
                    _set(fields, "country", part_value, f"{where}.{part}", errors)
                else:
                    custom[f"address_{snake_case(str(part))}"] = part_value
        elif name == "name" and isinstance(value, str):
            full_name = value.strip()
        elif name in TRAIT_FIELDS:
            _set(fields, TRAIT_FIELDS[name], value, where, errors)
        else:
            custom[key] = value
    if full_name and not ({"first_name", "last_name"} & fields.keys()):
        first, _, last = full_name.partition(" ")
        _set(fields, "first_name", first, f"{path}.name", errors)
        if last.strip():
            _set(fields, "last_name", last.strip(), f"{path}.name", errors)
    if "seniority" not in fields and fields.get("job_title"):
        seniority = seniority_from_title(fields["job_title"])
        if seniority:
            fields["seniority"] = seniority
    return email, fields, custom


def _email(value: Any, path: str, errors: list[str]) -> str:
    if not isinstance(value, str) or not is_email(value):
        errors.append(f"{path}: {value!r} is not a valid e-mail address")
        return ""
    return value.strip().lower()


def _set(fields: dict[str, Any], name: str, value: Any, path: str, errors: list[str]) -> None:
    if name == "employees":
        try:
            number = parse_employees(value)
        except ValueError as error:
            errors.append(f"{path}: {error}")
            return
        if number is not None and number > MAX_EMPLOYEES:
            errors.append(f"{path}: {number} is not a plausible number of employees")
            return
        if number is not None:
            fields["employees"] = number
        return
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.append(f"{path}: must be text")
        return
    text = str(value).strip()
    if text:
        fields[name] = text[: TEXT_FIELDS[name]]


def campaign_defaults(campaign: Any) -> dict[str, Any]:
    """UTM parameters (`context.campaign`) name the source and campaign of a lead that has none yet."""
    if not isinstance(campaign, Mapping):
        return {}
    found = {}
    for key, target in (("source", "source"), ("name", "campaign")):
        value = campaign.get(key)
        if isinstance(value, str) and value.strip():
            found[target] = value.strip()[: TEXT_FIELDS[target]]
    return found
