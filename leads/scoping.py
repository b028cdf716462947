"""Segment scoping of leads: a user of some segments sees and works only their leads (an admin, or a member of
no segment, sees all). Views fetch a lead through `lead_or_404`, so another segment's lead is a 404."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404

from leads.models import Lead, LeadQuerySet
from sla.models import Segment
from sla.services import segment_scope


def visible_leads(user: Any, queryset: LeadQuerySet | None = None) -> LeadQuerySet:
    queryset = Lead.objects.all() if queryset is None else queryset
    scope = segment_scope(user)
    return queryset if scope is None else queryset.in_segments(scope)


def lead_or_404(user: Any, pk: int, queryset: LeadQuerySet | None = None) -> Lead:
    return get_object_or_404(visible_leads(user, queryset), pk=pk)


def segments_of(user: Any) -> list[Segment]:
    """The segments this user may pick in a segment tab or selector."""
    scope = segment_scope(user)
    return list(Segment.objects.all()) if scope is None else scope


def chosen_segment(user: Any, value: Any) -> Segment | None:
    """The segment named by a `segment` query parameter, if this user works in it (else None: all of theirs)."""
    try:
        wanted = int(value)
    except (TypeError, ValueError):
        return None
    return next((segment for segment in segments_of(user) if segment.pk == wanted), None)
