"""Segment scoping of leads: a user of some segments sees and works only their leads (an admin, or a member of
no segment, sees all). Views fetch a lead through `lead_or_404`, so another segment's lead is a 404."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404

from leads.models import Lead, LeadQuerySet
from sla.services import segment_scope


def visible_leads(user: Any, queryset: LeadQuerySet | None = None) -> LeadQuerySet:
    queryset = Lead.objects.all() if queryset is None else queryset
    scope = segment_scope(user)
    return queryset if scope is None else queryset.in_segments(scope)


def lead_or_404(user: Any, pk: int, queryset: LeadQuerySet | None = None) -> Lead:
    return get_object_or_404(visible_leads(user, queryset), pk=pk)
