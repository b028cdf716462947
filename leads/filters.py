from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alignment.roles import Role
from leads.models import HANDED_OVER_STATES, Lead, State, Tier

TABS = [
    ("all", _("All")),
    ("unassigned", _("Unassigned")),
    ("mine", _("Mine")),
    ("team", _("My team")),
    ("overdue", _("Overdue")),
]


def _reps(request: Any = None) -> QuerySet[Any]:
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.REP.value)
        .order_by("first_name", "username")
    )


class QueueFilter(django_filters.FilterSet):
    """The queue's tabs and filters; all of them live in the URL, so reload and back/forward keep them."""

    tab = django_filters.ChoiceFilter(choices=TABS, method="filter_tab", empty_label=None, label=_("Show"))
    q = django_filters.CharFilter(method="filter_text", label=_("Search"))
    tier = django_filters.ChoiceFilter(
        choices=[(Tier.HOT, _("Hot")), (Tier.WARM, _("Warm"))], empty_label=_("Any tier")
    )
    state = django_filters.ChoiceFilter(
        choices=[(s, State(s).label) for s in HANDED_OVER_STATES], empty_label=_("Any state")
    )
    # Any value filters (a link may name a source newer than the cached list); the list only fills the menu.
    source = django_filters.CharFilter(widget=forms.Select)
    campaign = django_filters.CharFilter(widget=forms.Select)
    owner = django_filters.ModelChoiceFilter(queryset=_reps, empty_label=_("Any owner"))

    class Meta:
        model = Lead
        fields = ["tab", "q", "tier", "state", "source", "campaign", "owner"]

    def __init__(self, *args: Any, user: Any, choices: dict[str, list[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        for name, empty in (("source", _("Any source")), ("campaign", _("Any campaign"))):
            values = list(choices[name])
            current = self.data.get(name) if self.data else None
            if current and current not in values:
                values.append(current)
            self.form.fields[name].widget.choices = [("", empty)] + [(value, value) for value in values]

    def filter_tab(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        if value == "unassigned":
            return queryset.filter(owner__isnull=True)
        if value == "mine":
            return queryset.filter(owner=self.user)
        if value == "team":
            return queryset.filter(owner__isnull=False)
        if value == "overdue":
            return queryset.overdue(now=timezone.now())
        return queryset

    def filter_text(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        query = Q()
        for word in value.split()[:5]:
            query &= (
                Q(first_name__icontains=word) | Q(last_name__icontains=word)
                | Q(email__icontains=word) | Q(company__icontains=word)
            )  # fmt: skip
        return queryset.filter(query)
