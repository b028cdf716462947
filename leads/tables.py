from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from leads.models import Lead


class QueueTable(tables.Table):
    """One row per lead: tier, who, why now, score, SLA clock, owner, state, actions."""

    tier = tables.Column(verbose_name="", orderable=False)
    who = tables.Column(verbose_name=_("Who"), accessor="last_name", order_by=("last_name", "first_name"))
    why = tables.Column(verbose_name=_("Why now"), accessor="pk", orderable=False)
    score = tables.Column(verbose_name=_("Score"), attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    sla_due_at = tables.Column(verbose_name=_("SLA clock"), order_by=("sla_due_at",))
    owner = tables.Column(verbose_name=_("Owner"), order_by=("owner__first_name", "owner__username"))
    state = tables.Column(verbose_name=_("State"))
    actions = tables.Column(
        verbose_name="", accessor="pk", orderable=False, attrs={"td": {"class": "no-print actions"}}
    )

    class Meta:
        model = Lead
        fields = ("tier", "who", "why", "score", "sla_due_at", "owner", "state", "actions")
        empty_text = _("No lead matches. Clear the filters, or enjoy the calm.")
        attrs = {"class": "queue"}
        row_attrs = {
            "id": lambda record: f"lead-{record.pk}",
            "class": lambda record: f"tier-{record.tier or 'none'}",
        }

    def __init__(self, *args: Any, context: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context_extra = context

    def _cell(self, name: str, record: Lead) -> str:
        return render_to_string(f"leads/cells/{name}.html", {"lead": record, **self.context_extra})

    def render_tier(self, record: Lead) -> str:
        return self._cell("tier", record)

    def render_who(self, record: Lead) -> str:
        return self._cell("who", record)

    def render_why(self, record: Lead) -> str:
        return self._cell("why", record)

    def render_score(self, record: Lead) -> str:
        return self._cell("score", record)

    def render_sla_due_at(self, record: Lead) -> str:
        return self._cell("clock", record)

    def render_owner(self, record: Lead) -> str:
        return self._cell("owner", record)

    def render_state(self, record: Lead) -> str:
        return record.get_state_display()

    def render_actions(self, record: Lead) -> str:
        return self._cell("actions", record)


class LeadListTable(tables.Table):
    """The all-leads list: who, company, state, tier, score, owner, source, when it arrived and last changed."""

    who = tables.Column(
        verbose_name="Who", accessor="last_name", order_by=("last_name", "first_name", "email")
    )
    company = tables.Column(verbose_name="Company")
    state = tables.Column(verbose_name="State", attrs={"td": {"data-label": "State"}})
    tier = tables.Column(verbose_name="Tier")
    score = tables.Column(
        verbose_name="Score", attrs={"td": {"class": "num", "data-label": "Score"}, "th": {"class": "num"}}
    )
    owner = tables.Column(
        verbose_name="Owner",
        order_by=("owner__first_name", "owner__username"),
        attrs={"td": {"data-label": "Owner"}},
    )
    source = tables.Column(verbose_name="Source", attrs={"td": {"data-label": "Source"}})
    created_at = tables.DateTimeColumn(
        verbose_name="Arrived", format="j M Y", attrs={"td": {"data-label": "Arrived"}}
    )
    updated_at = tables.DateTimeColumn(
        verbose_name="Last change", format="j M Y, H:i", attrs={"td": {"data-label": "Last change"}}
    )

    class Meta:
        model = Lead
        fields = ("who", "company", "state", "tier", "score", "owner", "source", "created_at", "updated_at")
        empty_text = "No lead matches these filters."
        attrs = {"class": "leads-list"}

    def render_who(self, record: Lead) -> str:
        return render_to_string("leads/cells/who.html", {"lead": record})

    def render_owner(self, record: Lead) -> str:
        return render_to_string("leads/cells/owner.html", {"lead": record})

    def render_tier(self, record: Lead) -> str:
        return render_to_string("leads/cells/tier.html", {"lead": record})
