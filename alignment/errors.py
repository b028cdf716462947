"""Error answers: JSON on the API paths (clients read `code` and `message`, never an HTML page), and 503 with
Retry-After while the database is out of reach (a client retries instead of dropping what it sent).

Messages follow the request's language (Accept-Language, or the signed-in user's choice); `code` never changes, so
clients can rely on it. Django's handler400/403/404/500 point here (alignment/urls.py); pages keep their HTML templates. A database
outage is caught twice: by DatabaseUnavailableMiddleware for view errors (also under DEBUG, where Django would
show its technical page) and by `server_error` for errors raised in middleware (sessions, auth).
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

API_PREFIXES = ("/v1/", "/api/")
DATABASE_ERRORS = (OperationalError, InterfaceError)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def retry_after() -> str:
    return str(getattr(settings, "DATABASE_RETRY_AFTER_SECONDS", 5))


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 + Retry-After: the database is down or restarting; nothing was stored, the same request may be sent again."""
    message = _("The database is unavailable: retry after the delay in Retry-After; nothing was stored")
    if is_api(request):
        response: HttpResponse = JsonResponse(
            {"success": False, "code": "unavailable", "message": message}, status=503
        )
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = retry_after()
    return response


def _json(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"success": False, "code": code, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return _json(400, "invalid_request", _("The request could not be read"))
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return _json(403, "forbidden", str(exception) if exception and str(exception) else _("Forbidden"))
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return _json(404, "not_found", _("No such API path: %(path)s") % {"path": request.path})
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_ERRORS):
        return unavailable(request)
    if is_api(request):
        return _json(500, "server_error", _("An unexpected error: it has been logged"))
    return defaults.server_error(request)


class DatabaseUnavailableMiddleware:
    """A view that fails on a lost database connection answers 503 + Retry-After, not a 500."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except DATABASE_ERRORS:
            logger.exception("database unavailable")
            return unavailable(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            logger.exception("database unavailable", exc_info=exception)
            return unavailable(request)
        return None
