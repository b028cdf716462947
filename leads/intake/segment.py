"""The Segment HTTP Tracking API as Alignment reads it. Pure functions: no Django import, no database.

`decode_body` unpacks a request body (gzip, size limits), `parse_batch` / `parse_message` validate Segment
messages and map each one to what the lead model understands: an activity (track → its event's activity type,
page → `page`), the ids that name the person, and lead fields from identify traits.

Tolerance, as Segment's own pipeline has it: a malformed *field* (an e-mail "n/a", employees "unknown", an epoch
or impossible timestamp, NaN, a NUL byte, a lone surrogate, a 5,000-digit number) is set aside as a `Problem`
carried by the message, and the rest of the message is kept. A message that cannot be used at all (no type, no
id, over 32 KB) is set aside whole, and the rest of the batch is kept. Only a body that is not a batch at all is
refused. Every problem names the path of the offending field (`batch[3].traits.email`), so it can be shown.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from leads.normalise import parse_employees, seniority_from_title

MAX_MESSAGE_BYTES = 32 * 1024  # Segment: 32 KB per call
MAX_BATCH_BYTES = 4 * 1024 * 1024  # RudderStack's clients send batches of up to 4 MB (Segment's: 500 KB)
MAX_ID_LENGTH = 200  # LeadIdentity.value and Activity.message_id
MAX_TYPE_LENGTH = 60  # Activity.type
MAX_ERRORS = 20  # a batch with many bad messages reports the first ones
MAX_NUMBER_DIGITS = 40  # longer numbers are set aside (Python refuses to read over 4,300 digits at all)
MAX_OFFSET = timedelta(hours=14)  # the widest real UTC offset (Kiribati, +14:00)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # an event "before 2000" is a clock at zero (epoch), not a visit
LATEST_AHEAD = timedelta(days=1)  # an event more than a day in the future is a wrong clock

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
# identify, group and alias change leads; track and page record activities; screen is accepted and not stored.
RECORDED_TYPES = ("identify", "track", "page", "group", "alias")
# group traits (a company) → identify traits (lead fields); the others are kept as custom company_* attributes.
GROUP_TRAITS = {"name": "company", "industry": "industry", "employees": "employees",
                "employeecount": "employees", "numberofemployees": "employees"}  # fmt: skip

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
WHOLE_FLOAT = re.compile(r"-?\d{1,30}\.0+")
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
class Problem:
    """A field (or a whole message) set aside: where it was, what was wrong, a printable excerpt of the value."""

    path: str
    problem: str
    value: str = ""
    message_id: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}" if self.path else self.problem


class Unreadable:
    """A JSON value Alignment cannot store (NaN, Infinity, a number too long to be one): set aside when met."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 40 else f"{self.text[:20]}…({len(self.text):,} characters)"


def printable(value: Any, limit: int = 200) -> str:
    """A short rendering of a value that any database stores: no NUL byte, no lone surrogate."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    problems: tuple[Problem, ...] = ()  # fields set aside; the rest of the message is kept

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


def _number(text: str) -> Any:
    """A JSON number as Python reads it, or Unreadable when no database column or JSON field could hold it."""
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        return Unreadable(text)
    value: Any = float(text) if any(c in text for c in ".eE") else int(text)
    return value if not isinstance(value, float) or math.isfinite(value) else Unreadable(text)


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise PayloadError("request body is empty: send a JSON object")
    try:
        return json.loads(
            raw.decode("utf-8"), parse_int=_number, parse_float=_number, parse_constant=Unreadable
        )
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
    payload: Any,
    *,
    received_at: datetime,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    rejected: list[Problem] | None = None,
) -> list[Message]:
    """Validate a `/v1/batch` body and map every usable message.

    Only a body that is not a batch is refused (PayloadError). A message that cannot be used is set aside in
    `rejected`; without that list (callers that pass raw messages they wrote themselves) it refuses the batch.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError("request body must be a JSON object with a “batch” array")
    batch = payload.get("batch")
    if batch is None:
        raise PayloadError("batch: required (an array of messages)")
    if not isinstance(batch, list):
        raise PayloadError("batch: must be an array of messages")
    envelope: list[Problem] = []
    sent_at = _time(payload.get("sentAt"), "sentAt", envelope)
    context = _clean(_object(payload.get("context"), "context", envelope), "context", envelope)
    set_aside: list[Problem] = []
    messages = []
    for index, item in enumerate(batch):
        message = _message(
            item, path=f"batch[{index}]", index=index, endpoint_type=None, sent_at=sent_at,
            batch_context=context, received_at=received_at, max_bytes=max_message_bytes, rejected=set_aside,
        )  # fmt: skip
        if message is not None:
            if envelope:
                message = replace(message, problems=(*envelope, *message.problems))
                envelope = []  # the envelope's problems are told once, with the first message
            messages.append(message)
    if rejected is None and set_aside:
        raise PayloadError([str(problem) for problem in set_aside[:MAX_ERRORS]])
    if rejected is not None:
        rejected.extend(envelope + set_aside)
    return messages


def parse_message(
    payload: Any,
    *,
    type_: str,
    received_at: datetime,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    rejected: list[Problem] | None = None,
) -> Message:
    """Validate a single-message body (`/v1/track`, `/v1/identify`, `/v1/page`) and map it.

    A message that cannot be used at all is refused (PayloadError naming why), after being noted in `rejected`;
    a bad field is set aside on the message as in a batch.
    """
    set_aside: list[Problem] = []
    message = _message(
        payload, path="", index=0, endpoint_type=type_, sent_at=None, batch_context={},
        received_at=received_at, max_bytes=max_message_bytes, rejected=set_aside,
    )  # fmt: skip
    if message is None:
        if rejected is not None:
            rejected.extend(set_aside)
        too_large = any(problem.problem.endswith("per message") for problem in set_aside)
        raise PayloadError(
            [str(problem) for problem in set_aside] or ["request body must be a JSON object"],
            status=413 if too_large else 400,
            code="too_large" if too_large else "invalid_request",
        )
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
    rejected: list[Problem],
) -> Message | None:
    """One message mapped, its bad fields set aside on it; None (and the reason in `rejected`) if unusable."""
    at = f"{path}." if path else ""
    if not isinstance(item, Mapping):
        rejected.append(Problem(path, "must be a JSON object", printable(item)))
        return None
    size = len(
        json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=repr).encode("utf-8", "replace")
    )
    message_id = _id(item.get("messageId"), f"{at}messageId", [])
    if size > max_bytes:
        rejected.append(
            Problem(path, f"is {size:,} bytes; the limit is {max_bytes:,} bytes per message", "", message_id)
        )
        return None
    fatal: list[Problem] = []
    problems: list[Problem] = []
    type_ = item.get("type", endpoint_type)
    if endpoint_type and type_ != endpoint_type:
        fatal.append(
            Problem(
                f"{at}type", f"must be “{endpoint_type}” on /v1/{endpoint_type} (got {printable(type_)!r})"
            )
        )
    elif type_ is None:
        fatal.append(Problem(f"{at}type", f"required ({', '.join(MESSAGE_TYPES)})"))
    elif type_ not in MESSAGE_TYPES:
        fatal.append(
            Problem(
                f"{at}type",
                f"{printable(type_)!r} is not a Segment message type ({', '.join(MESSAGE_TYPES)})",
            )
        )
    user_id = _id(item.get("userId"), f"{at}userId", problems)
    anonymous_id = _id(item.get("anonymousId"), f"{at}anonymousId", problems)
    message_id = _id(item.get("messageId"), f"{at}messageId", problems)
    if type_ == "alias":
        # alias(previousId → userId) links the two ids as identify links an anonymousId to a userId: the
        # previous id's history joins the user's lead (by identify's rules: never two different people)
        previous_id = _id(item.get("previousId"), f"{at}previousId", problems)
        if not user_id:
            fatal.append(Problem(f"{at}userId", "required for alias"))
        elif not previous_id:
            fatal.append(Problem(f"{at}previousId", "required for alias"))
        elif previous_id != user_id:
            anonymous_id = previous_id
    elif not (user_id or anonymous_id) and not fatal:
        fatal.append(Problem(f"{at}userId", "userId or anonymousId is required"))
    activity: str | None = None
    event = item.get("event")
    if type_ == "track":
        if event is None or event == "":
            fatal.append(Problem(f"{at}event", "required for track"))
        elif not isinstance(event, str) or not _storable(event):
            fatal.append(Problem(f"{at}event", "must be a string", printable(event)))
        else:
            activity = activity_type(event)
            if not activity:
                fatal.append(Problem(f"{at}event", f"{event!r} has no letters or digits to name an activity"))
    if fatal:
        rejected.extend(replace(problem, message_id=message_id) for problem in fatal)
        return None
    timestamp = _time(item.get("timestamp"), f"{at}timestamp", problems)
    original = _time(item.get("originalTimestamp"), f"{at}originalTimestamp", problems)
    own_sent_at = _time(item.get("sentAt"), f"{at}sentAt", problems)
    properties = _clean(
        _object(item.get("properties"), f"{at}properties", problems), f"{at}properties", problems
    )
    own_context = _clean(_object(item.get("context"), f"{at}context", problems), f"{at}context", problems)
    context = {**batch_context, **own_context}
    traits = _clean(_object(item.get("traits"), f"{at}traits", problems), f"{at}traits", problems)
    occurred = _occurred(timestamp, original, own_sent_at or sent_at, received_at, f"{at}timestamp", problems)
    props: dict[str, Any] = {}
    if type_ == "track":
        props = {**properties}
        props.setdefault("event", event)
    elif type_ == "page":
        page_context = _object(context.get("page"), f"{at}context.page", problems)
        props = page_properties(properties, page_context)
        for key in ("name", "category"):
            value = item.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str) or not _storable(value):
                problems.append(Problem(f"{at}{key}", "must be a string", printable(value)))
            else:
                props.setdefault(key, value)
        activity = "page"
    email, fields, custom = "", {}, {}
    # RudderStack's clients send identify traits in context.traits (on every call); the message's own win
    context_traits = _object(own_context.get("traits"), f"{at}context.traits", problems)
    if context_traits:
        email, fields, custom = lead_fields(context_traits, f"{at}context.traits", problems)
    if type_ == "identify":
        own_email, own_fields, own_custom = lead_fields(traits, f"{at}traits", problems)
        email, fields, custom = own_email or email, {**fields, **own_fields}, {**custom, **own_custom}
    elif type_ == "group":
        group_email, group_fields, group_custom = lead_fields(
            group_traits(traits, item.get("groupId")), f"{at}traits", problems
        )
        fields, custom = {**fields, **group_fields}, {**custom, **group_custom}
    if not email and user_id and is_email(user_id):
        email = user_id.strip().lower()
    return Message(
        index=index, type=type_, message_id=message_id, user_id=user_id, anonymous_id=anonymous_id,
        occurred_at=occurred, activity_type=activity, properties=props, email=email, fields=fields,
        custom=custom, defaults=campaign_defaults(context.get("campaign")),
        problems=tuple(replace(problem, message_id=message_id) for problem in problems),
    )  # fmt: skip


def _storable(text: str) -> bool:
    """Whether every database takes this text: PostgreSQL refuses NUL bytes, UTF-8 has no lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clean(value: dict[str, Any], path: str, problems: list[Problem]) -> dict[str, Any]:
    """A JSON object without the values no database stores (set aside one by one, the rest kept)."""
    return _clean_value(value, path, problems)


def _clean_value(value: Any, path: str, problems: list[Problem]) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            where = f"{path}.{printable(key, 80)}"
            if not _storable(str(key)):
                problems.append(Problem(where, "the name holds a NUL byte or an invalid character"))
                continue
            cleaned = _clean_value(item, where, problems)
            if cleaned is not _DROP:
                out[key] = cleaned
        return out
    if isinstance(value, list):
        kept = [_clean_value(item, f"{path}[{i}]", problems) for i, item in enumerate(value)]
        return [item for item in kept if item is not _DROP]
    if isinstance(value, Unreadable):
        problems.append(Problem(path, "is not a number that can be stored (NaN, Infinity or too many digits)",
                                printable(value)))  # fmt: skip
        return _DROP
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(Problem(path, "is not a finite number", printable(value)))
        return _DROP
    if isinstance(value, str) and not _storable(value):
        problems.append(
            Problem(path, "holds a NUL byte or an invalid character (a lone surrogate)", printable(value))
        )
        return _DROP
    return value


_DROP = object()


def _id(value: Any, path: str, problems: list[Problem]) -> str | None:
    """An id as text; numbers that are equal are one id (1, "1" and 1.0 name the same user)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.append(Problem(path, "must be a string or a number", printable(value)))
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.append(Problem(path, "must be a finite number", printable(value)))
            return None
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        text = str(value).strip()
        if WHOLE_FLOAT.fullmatch(text):  # Segment's clients send a float id 1.0 as the text "1.0"
            text = text.split(".")[0]
    if not _storable(text):
        problems.append(
            Problem(path, "holds a NUL byte or an invalid character (a lone surrogate)", printable(text))
        )
        return None
    if len(text) > MAX_ID_LENGTH:
        problems.append(Problem(path, f"is {len(text)} characters; at most {MAX_ID_LENGTH}", printable(text)))
        return None
    return text or None


def _object(value: Any, path: str, problems: list[Problem]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(Problem(path, "must be an object", printable(value)))
        return {}
    return dict(value)


def _time(value: Any, path: str, problems: list[Problem]) -> datetime | None:
    """An ISO-8601 instant, or None (the problem set aside) when it is not one a clock could show."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _storable(value):
        problems.append(Problem(path, "must be an ISO-8601 date-time string", printable(value)))
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        problems.append(Problem(path, f"{printable(value)!r} is not an ISO-8601 date-time", printable(value)))
        return None
    offset = parsed.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        problems.append(
            Problem(path, f"{printable(value)!r} has a UTC offset beyond ±14:00", printable(value))
        )
        return None
    try:
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        problems.append(Problem(path, f"{printable(value)!r} is out of range", printable(value)))
        return None


def _occurred(
    timestamp: datetime | None,
    original: datetime | None,
    sent_at: datetime | None,
    received_at: datetime,
    path: str,
    problems: list[Problem],
) -> datetime:
    """occurred_at, or the time of receipt when the client's clock gives an instant no visit could have."""
    try:
        when = occurred_at(
            timestamp=timestamp, original_timestamp=original, sent_at=sent_at, received_at=received_at
        )
    except OverflowError:
        when = None
    if when is None or not EARLIEST <= when <= received_at + LATEST_AHEAD:
        stated = timestamp or original
        problems.append(
            Problem(
                path,
                "is not a plausible time (before 2000 or in the future): the time of receipt is used",
                printable(stated.isoformat() if stated else ""),
            )  # fmt: skip
        )
        return received_at
    return when


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
    traits: Mapping[str, Any], path: str, problems: list[Problem]
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
            email = _email(value, where, problems)
        elif name == "company" and isinstance(value, Mapping):
            for part, part_value in value.items():
                part_name = re.sub(r"[\s_-]+", "", str(part)).lower()
                target = {"name": "company", "employeecount": "employees", "employees": "employees",
                          "industry": "industry"}.get(part_name)  # fmt: skip
                if part_value in (None, ""):
                    continue
                if target:
                    _set(fields, target, part_value, f"{where}.{part}", problems)
                else:
                    custom[f"company_{snake_case(str(part))}"] = part_value
        elif name == "company":
            _set(fields, "company", value, where, problems)
        elif name == "address" and isinstance(value, Mapping):
            for part, part_value in value.items():
                if part_value in (None, ""):
                    continue
                if str(part).lower() == "country":
                    _set(fields, "country", part_value, f"{where}.{part}", problems)
                else:
                    custom[f"address_{snake_case(str(part))}"] = part_value
        elif name == "name" and isinstance(value, str):
            full_name = value.strip()
        elif name in TRAIT_FIELDS:
            _set(fields, TRAIT_FIELDS[name], value, where, problems)
        else:
            custom[key] = value
    if full_name and not ({"first_name", "last_name"} & fields.keys()):
        first, _, last = full_name.partition(" ")
        _set(fields, "first_name", first, f"{path}.name", problems)
        if last.strip():
            _set(fields, "last_name", last.strip(), f"{path}.name", problems)
    if "seniority" not in fields and fields.get("job_title"):
        seniority = seniority_from_title(fields["job_title"])
        if seniority:
            fields["seniority"] = seniority
    return email, fields, custom


def _email(value: Any, path: str, problems: list[Problem]) -> str:
    if not isinstance(value, str) or not is_email(value):
        problems.append(
            Problem(path, f"{printable(value)!r} is not a valid e-mail address", printable(value))
        )
        return ""
    return value.strip().lower()


def _set(fields: dict[str, Any], name: str, value: Any, path: str, problems: list[Problem]) -> None:
    if name == "employees":
        try:
            number = parse_employees(value)
        except ValueError as error:
            problems.append(Problem(path, str(error), printable(value)))
            return
        if number is not None and number > MAX_EMPLOYEES:
            problems.append(
                Problem(path, f"{number} is not a plausible number of employees", printable(value))
            )
            return
        if number is not None:
            fields["employees"] = number
        return
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.append(Problem(path, "must be text", printable(value)))
        return
    text = str(value).strip()
    if text:
        fields[name] = text[: TEXT_FIELDS[name]]


def group_traits(traits: Mapping[str, Any], group_id: Any) -> dict[str, Any]:
    """A group call's traits (the company) as identify traits: name → company, industry, employees, others
    as company_* attributes; the group's own e-mail or phone is the company's, not the lead's, so it is kept aside."""
    out: dict[str, Any] = {}
    for key, value in traits.items():
        target = GROUP_TRAITS.get(re.sub(r"[\s_-]+", "", str(key)).lower())
        out[target or f"company_{snake_case(str(key))}"] = value
    if isinstance(group_id, str | int) and not isinstance(group_id, bool) and str(group_id).strip():
        out.setdefault("company_id", str(group_id).strip()[:MAX_ID_LENGTH])
    return out


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
