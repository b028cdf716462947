"""CORS for the event API: a browser page (analytics.js) may post events when its origin is allowed by the write
key it sends. The preflight (OPTIONS, which carries no key) is answered for origins that some active key allows;
the real answer carries Access-Control-Allow-Origin only when the key it was sent with allows that origin."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from leads.models import WriteKey

EVENT_PREFIX = "/v1/"
PREFLIGHT_MAX_AGE = "600"


def _allowed_by_some_key(origin: str) -> bool:
    return any(
        key.allows_origin(origin) for key in WriteKey.objects.filter(is_active=True).only("allowed_origins")
    )


class WriteKeyCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin", "")
        if not origin or not request.path.startswith(EVENT_PREFIX):
            return self.get_response(request)
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            if _allowed_by_some_key(origin):
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
                response["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Content-Encoding"
                response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
            response["Vary"] = "Origin"
            return response
        response = self.get_response(request)
        key = getattr(request, "_write_key", None)
        if key is not None and key.allows_origin(origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = "Retry-After"
        response["Vary"] = "Origin"
        return response
