"""Segments are set up in the admin: name, precedence, conditions (JSON), the default one; the team is the
Django group "Segment: <name>" (Users → Groups)."""

from django.contrib import admin

from sla.models import Segment


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "position", "is_default", "team")
    ordering = ("position", "pk")
    readonly_fields = ("team",)
