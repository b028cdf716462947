"""Alignment's HTTP API (django-ninja): one NinjaAPI, one OpenAPI document (/api/openapi.json), two routers.

- `leads.intake.events_api`: the Segment-compatible event ingest (`POST /v1/batch`, `/v1/track`, ...).
- `leads.read_api`: the read API for leads (`GET /api/leads/`, `/api/leads/{id}`).

Exception handlers live here, on the API (django-ninja has none per router): Segment-shaped errors (`success`,
`code`, `message`) for the event API, 401 with a Bearer challenge for reads, 503 + Retry-After while the database
is out of reach.
"""

from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.operation import Operation

from alignment import errors
from leads import read_api
from leads.intake import events_api, ingest, problem_words, segment
from leads.intake.events_api import KeyRateLimited, Overloaded, WriteKeyError


class AlignmentApi(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """The operation ids published before the routers were split out (client generators name methods after
        them), so moving an endpoint between modules does not rename it in the OpenAPI document."""
        return f"leads_intake_api_{operation.view_func.__name__}"


api = AlignmentApi(
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


def _ingest_error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    # `code` and `message` are what Segment's libraries read from an error body and log.
    return api.create_response(
        request, {"success": False, "code": code, "message": message, **extra}, status=status
    )


@api.exception_handler(segment.PayloadError)
def _payload_error(request: HttpRequest, exc: segment.PayloadError) -> HttpResponse:
    errors = [problem_words.message_words(error) for error in exc.errors]
    return _ingest_error(request, exc.status, exc.code, problem_words.errors_words(exc.errors), errors=errors)


@api.exception_handler(WriteKeyError)
def _write_key_error(request: HttpRequest, exc: WriteKeyError) -> HttpResponse:
    response = _ingest_error(request, 401, "unauthorized", str(exc))
    response["WWW-Authenticate"] = 'Basic realm="Alignment events"'
    return response


def _busy(request: HttpRequest, message: str) -> HttpResponse:
    response = _ingest_error(request, 429, "rate_limited", message)
    response["Retry-After"] = str(events_api.setting("INGEST_RETRY_AFTER_SECONDS", 2))
    return response


@api.exception_handler(Overloaded)
def _overloaded(request: HttpRequest, exc: Overloaded) -> HttpResponse:
    return _busy(request, _("Too many event requests at once: retry after the delay in Retry-After"))


@api.exception_handler(KeyRateLimited)
def _key_rate_limited(request: HttpRequest, exc: KeyRateLimited) -> HttpResponse:
    response = _ingest_error(
        request, 429, "rate_limited",
        _("This write key sent more than %(rate)s requests: retry after the delay in Retry-After")
        % {"rate": settings.INGEST_RATE_LIMIT},
    )  # fmt: skip
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ingest.IngestBusy)
def _database_busy(request: HttpRequest, exc: ingest.IngestBusy) -> HttpResponse:
    return _busy(request, _("The database is busy: retry after the delay in Retry-After; nothing was stored"))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def _database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    errors.logger.error("database unavailable", exc_info=exc)
    return errors.unavailable(request)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        {"detail": _("Authentication required: send Authorization: Bearer <API token>, or log in")},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="Alignment API"'
    return response


api.add_router("", events_api.router)
api.add_router("", read_api.router)

# alignment/urls.py mounts these at the site root: path("", include("leads.api")).
app_name = "api"
urlpatterns = api.urls[0]
