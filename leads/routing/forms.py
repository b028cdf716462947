from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from leads.models import RepProfile


class RepRoutingForm(forms.ModelForm):
    """One rep's routing settings; times are in the site's time zone."""

    weight = forms.IntegerField(
        min_value=1,
        max_value=20,
        label=_("Weight"),
        help_text=_("Round-robin share: 2 gets twice the leads of 1."),
    )
    capacity = forms.IntegerField(min_value=0, max_value=10_000, label=_("Capacity (open leads)"))

    class Meta:
        model = RepProfile
        fields = ["is_away", "away_from", "away_until", "works_from", "works_until", "capacity", "weight"]
        labels = {
            "is_away": _("Away now"),
            "away_from": _("Away from"),
            "away_until": _("Away until"),
            "works_from": _("Works from"),
            "works_until": _("Works until"),
        }
        widgets = {
            "away_from": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "away_until": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "works_from": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "works_until": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        away_from, away_until = data.get("away_from"), data.get("away_until")
        if away_from and away_until and away_until <= away_from:
            self.add_error("away_until", _("The absence must end after it starts."))
        if bool(data.get("works_from")) != bool(data.get("works_until")):
            self.add_error("works_until", _("Give both ends of the working hours, or neither."))
        return data
