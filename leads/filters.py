from __future__ import annotations

from datetime import datetime
from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alignment.names import person_name
from alignment.paging import Key
from alignment.roles import Role
from alignment.widgets import RememberedSelect
from leads.models import HANDED_OVER_STATES, ImportedLead, Lead, State, Tier

TABS = [
    ("all", _("All")),
    ("unassigned", _("Unassigned")),
    ("mine", _("Mine")),
    ("team", _("My team")),
    ("overdue", _("Overdue")),
]


def _person(user: Any) -> str:
    return person_name(user)


def _reps(request: Any = None) -> QuerySet[Any]:
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.REP.value)
        .order_by("first_name", "username")
    )


#: The queue's order: hot first, the nearest deadline, the highest score (the queue index serves it, as is)
PRIORITY = [
    Key("tier", "str"),
    Key("sla_due_at", "datetime", nullable=True),
    Key("score", "int", descending=True),
    Key("pk", "int"),
]
#: The Overdue tab: the longest late first
OVERDUE = [Key("sla_due_at", "datetime", nullable=True), Key("pk", "int")]


def queue_order(tab: str, *, now: datetime) -> tuple[list[Key], list[Q] | None]:
    """A tab's order as keyset keys. Every tab but Overdue shows what a rep can still save first (deadline not yet
    passed, in priority order), then the late ones (same order): two partitions, each read through the index."""
    if tab == "overdue":
        return OVERDUE, None
    return PRIORITY, [Q(sla_due_at__gte=now) | Q(sla_due_at__isnull=True), Q(sla_due_at__lt=now)]


class QueueFilter(django_filters.FilterSet):
    """The queue's tabs and filters; all of them live in the URL, so reload and back/forward keep them."""

    tab = django_filters.ChoiceFilter(choices=TABS, method="filter_tab", empty_label=None, label=_("Show"))
    q = django_filters.CharFilter(method="filter_text", label=_("Search"))
    tier = django_filters.ChoiceFilter(
        choices=[(Tier.HOT, _("Hot")), (Tier.WARM, _("Warm"))],
        empty_label=_("Any tier"),
        widget=RememberedSelect,
    )
    state = django_filters.ChoiceFilter(
        choices=[(s, State(s).label) for s in HANDED_OVER_STATES],
        empty_label=_("Any state"),
        widget=RememberedSelect,
    )
    # Any value filters (a link may name a source newer than the cached list); the list only fills the menu.
    source = django_filters.CharFilter(widget=RememberedSelect)
    campaign = django_filters.CharFilter(widget=RememberedSelect)
    owner = django_filters.ModelChoiceFilter(
        queryset=_reps, empty_label=_("Any owner"), widget=RememberedSelect
    )

    class Meta:
        model = Lead
        fields = ["tab", "q", "tier", "state", "source", "campaign", "owner"]

    def __init__(self, *args: Any, user: Any, choices: dict[str, list[str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.form.fields["owner"].label_from_instance = _person
        for name, empty in (("source", _("Any source")), ("campaign", _("Any campaign"))):
            values = list(choices[name])
            current = self.data.get(name) if self.data else None
            if current and current not in values:
                values.append(current)
            self.form.fields[name].widget.choices = [("", empty)] + [(value, value) for value in values]

    def filter_tab(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        """Which leads the tab shows; the order is queue_order's."""
        now = timezone.now()
        if value == "overdue":
            return queryset.overdue(now=now)
        queryset = queryset.savable(now=now)
        if value == "unassigned":
            return queryset.filter(owner__isnull=True)
        if value == "mine":
            return queryset.filter(owner=self.user)
        if value == "team":
            return queryset.filter(owner__isnull=False)
        return queryset

    def filter_text(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        query = Q()
        for word in value.split()[:5]:
            query &= (
                Q(first_name__icontains=word) | Q(last_name__icontains=word)
                | Q(email__icontains=word) | Q(company__icontains=word)
            )  # fmt: skip
        return queryset.filter(query)


class LeadListFilter(django_filters.FilterSet):
    """Every lead, in any state, imported or not: search and filters live in the URL (reload, share, back)."""

    q = django_filters.CharFilter(method="filter_text", label=_("Search"))
    state = django_filters.ChoiceFilter(choices=State.choices, empty_label=_("Any state"))
    tier = django_filters.ChoiceFilter(
        choices=[(Tier.HOT, _("Hot")), (Tier.WARM, _("Warm"))], empty_label=_("Any tier")
    )
    source = django_filters.CharFilter(widget=RememberedSelect)
    owner = django_filters.ModelChoiceFilter(
        queryset=_reps, empty_label=_("Any owner"), widget=RememberedSelect
    )
    import_job = django_filters.NumberFilter(method="filter_import", label=_("Import"))
    imported = django_filters.ChoiceFilter(
        choices=[("created", _("Created by it")), ("updated", _("Updated by it"))],
        method="filter_imported",
        empty_label=_("Created or updated"),
    )

    class Meta:
        model = Lead
        fields = ["q", "state", "tier", "source", "owner", "import_job", "imported"]

    def __init__(self, *args: Any, sources: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.form.fields["owner"].label_from_instance = _person
        values = list(sources)
        current = self.data.get("source") if self.data else None
        if current and current not in values:
            values.append(current)
        self.form.fields["source"].widget.choices = [("", _("Any source"))] + [(v, v) for v in values]

    filter_text = QueueFilter.filter_text

    # Through a subquery, not a join: a lead in several imports is one row, with no DISTINCT over the whole list

    def filter_import(self, queryset: QuerySet[Lead], name: str, value: int) -> QuerySet[Lead]:
        return queryset.filter(pk__in=ImportedLead.objects.filter(job_id=value).values("lead_id"))

    def filter_imported(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        job = self.data.get("import_job")
        links = ImportedLead.objects.filter(created=value == "created")
        if job and str(job).isdigit():
            links = links.filter(job_id=int(job))
        return queryset.filter(pk__in=links.values("lead_id"))
