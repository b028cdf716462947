"""The language switcher and the preferences page (language + display time zone)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_http_methods, require_POST

from alignment.models import UserPreference
from alignment.preferences import SUPPORTED, preference_for, save_preference
from alignment.roles import ALL_ROLES, role_required


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = UserPreference
        fields = ["language", "time_zone"]
        labels = {"language": _l("Language"), "time_zone": _l("Display time zone")}


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.headers.get("referer") or "/"
    ok = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if ok else "/"


def _remember(response: HttpResponse, language: str) -> HttpResponse:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@require_POST
def set_language_pref(request: HttpRequest) -> HttpResponse:
    """Switch the UI language; open to everyone (the login page too), saved on the user when signed in."""
    language = request.POST.get("language", "")
    if language not in SUPPORTED:
        return HttpResponseBadRequest(_("Unknown language."))
    if request.user.is_authenticated:
        save_preference(request.user, language=language, request=request)
    translation.activate(language)
    return _remember(HttpResponseRedirect(_safe_next(request)), language)


@role_required(ALL_ROLES)
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    pref = preference_for(request.user) or UserPreference(user=request.user)
    form = PreferenceForm(request.POST or None, instance=pref)
    if request.method == "POST":
        if form.is_valid():
            pref = save_preference(
                request.user,
                language=form.cleaned_data["language"],
                time_zone=form.cleaned_data["time_zone"],
                request=request,
            )
            if pref.language:
                translation.activate(pref.language)
            messages.success(request, _("Your preferences are saved."))
            response = HttpResponseRedirect(request.path)
            return _remember(response, pref.language) if pref.language else response
        return render(request, "preferences.html", {"form": form}, status=422)
    return render(request, "preferences.html", {"form": form})
