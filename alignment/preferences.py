"""Per-user language and display time zone: the middleware that applies them and the service that saves them.

LocaleMiddleware picks a language from the cookie or Accept-Language; a signed-in user's saved choice wins, so a
Japanese rep sees Japanese on every device. Times are stored in UTC and shown in the user's zone (else the site's).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from alignment.models import UserPreference

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def preference_for(user: object) -> UserPreference | None:
    """The user's saved preference, or None (anonymous, or never saved). One query, cached on the user."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_alignment_pref"):
        user._alignment_pref = UserPreference.objects.filter(user=user).first()  # type: ignore[attr-defined]
    return user._alignment_pref  # type: ignore[attr-defined]


def save_preference(
    user: object, *, language: str | None = None, time_zone: str | None = None
) -> UserPreference:
    """Store a language and/or zone for the user (None leaves that part as it is)."""
    pref, _created = UserPreference.objects.get_or_create(user=user)
    if language is not None:
        pref.language = language
    if time_zone is not None:
        pref.time_zone = time_zone
    pref.full_clean()
    pref.save()
    user._alignment_pref = pref  # type: ignore[attr-defined]
    return pref


class UserPreferenceMiddleware:
    """Activate the signed-in user's language and time zone for the request (after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        pref = preference_for(getattr(request, "user", None))
        if pref and pref.language in SUPPORTED:
            translation.activate(pref.language)
            request.LANGUAGE_CODE = pref.language
        if pref and pref.time_zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(pref.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        response = self.get_response(request)
        if pref and pref.language in SUPPORTED:
            response.headers.setdefault("Content-Language", pref.language)
        return response
