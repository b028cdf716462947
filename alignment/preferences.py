"""Per-user language and display time zone: the middleware that applies them and the service that saves them.

LocaleMiddleware picks a language from the cookie or Accept-Language; a signed-in user's saved choice wins, so a
Japanese rep sees Japanese on every device. Times are stored in UTC and shown in the user's zone (else the site's).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from alignment.models import UserPreference

SUPPORTED = {code for code, _name in settings.LANGUAGES}


SESSION_KEY = "alignment_pref"  # {"language": ..., "time_zone": ...}: read on every request without a query


def preference_for(user: object) -> UserPreference | None:
    """The user's saved preference, or None (anonymous, or never saved). One query, cached on the user."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_alignment_pref"):
        user._alignment_pref = UserPreference.objects.filter(user=user).first()  # type: ignore[attr-defined]
    return user._alignment_pref  # type: ignore[attr-defined]


def remember_in_session(request: HttpRequest, pref: UserPreference | None) -> dict[str, str]:
    values = {"language": pref.language if pref else "", "time_zone": pref.time_zone if pref else ""}
    if hasattr(request, "session"):
        request.session[SESSION_KEY] = values
    return values


@receiver(user_logged_in)
def _load_on_login(sender: object, request: HttpRequest | None, user: object, **kwargs: object) -> None:
    """Read the preference once, at login, so pages never pay a query for it."""
    if request is not None:
        remember_in_session(request, UserPreference.objects.filter(user=user).first())


def save_preference(
    user: object,
    *,
    language: str | None = None,
    time_zone: str | None = None,
    request: HttpRequest | None = None,
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
    if request is not None:
        remember_in_session(request, pref)
    return pref


class UserPreferenceMiddleware:
    """Activate the signed-in user's language and time zone for the request (after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        values: dict[str, str] = {}
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            values = request.session.get(SESSION_KEY) or remember_in_session(
                request, preference_for(request.user)
            )
        language, zone = values.get("language", ""), values.get("time_zone", "")
        if language in SUPPORTED:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone)) if zone else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        response = self.get_response(request)
        if language in SUPPORTED:
            response.headers.setdefault("Content-Language", language)
        return response
