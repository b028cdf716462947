"""Admin for the API's keys: write keys (events in) and personal API tokens (reads). Only hashes are stored;
a new key is shown once, on the page that answers the add form, and never again."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.utils import timezone

from leads import services
from leads.models import ApiToken, WriteKey

SHOWN_ONCE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% block content %}
<h1>{{ what }} “{{ obj.name }}” created</h1>
<p>Copy it now: only its hash is stored, so it cannot be shown again.</p>
<p><input type="text" readonly value="{{ raw }}" size="48" aria-label="{{ what }}"></p>
{% if hint %}<p>{{ hint }}</p>{% endif %}
<p><a href="{{ back }}">Back to the list</a></p>
{% endblock %}"""
)


class _ShownOnceAdmin(admin.ModelAdmin):
    """Adding creates the key through the service and answers with the raw key (no redirect, never stored)."""

    what = "Key"
    hint = ""
    add_fields: tuple[str, ...] = ("name",)
    readonly_fields = ("prefix", "created_at", "last_used_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.add_fields if obj is None else (*self.add_fields, "prefix", "created_at", "last_used_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def create(self, obj: Any, now: Any) -> tuple[Any, str]:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created, raw = self.create(obj, timezone.now())
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = (
            created.pk,
            created.prefix,
            created.key_hash,
            created.created_at,
        )
        obj._state.adding = False
        request._raw_key = raw  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> HttpResponse:
        raw = getattr(request, "_raw_key", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request), "what": self.what, "obj": obj, "raw": raw, "hint": self.hint,
            "back": "../", "title": f"{self.what} created", "opts": self.model._meta,
        }  # fmt: skip
        response = HttpResponse(SHOWN_ONCE.render(context, request))
        response["Cache-Control"] = "no-store"
        return response


@admin.register(WriteKey)
class WriteKeyAdmin(_ShownOnceAdmin):
    what = "Write key"
    hint = "Give it to the Segment library as its write key, with host set to this site's address."
    list_display = ["name", "prefix", "is_active", "created_at", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "prefix"]
    actions = ["deactivate"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)
        return fields if obj is None else (*fields[:1], "is_active", *fields[1:])

    def create(self, obj: WriteKey, now: Any) -> tuple[WriteKey, str]:
        return services.write_key_create(name=obj.name, now=now)

    @admin.action(description="Deactivate the selected write keys")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[WriteKey]) -> None:
        count = queryset.update(is_active=False)
        self.message_user(request, f"{count} write key(s) deactivated.", messages.SUCCESS)


@admin.register(ApiToken)
class ApiTokenAdmin(_ShownOnceAdmin):
    what = "API token"
    hint = "Send it as “Authorization: Bearer <token>” to /api/leads/."
    add_fields = ("user", "name")
    list_display = ["name", "user", "prefix", "created_at", "last_used_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ("user", "prefix", "created_at", "last_used_at")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.add_fields if obj is None else ("user", "name", "prefix", "created_at", "last_used_at")

    def create(self, obj: ApiToken, now: Any) -> tuple[ApiToken, str]:
        return services.api_token_create(user=obj.user, name=obj.name, now=now)
