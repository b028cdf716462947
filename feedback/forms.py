from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from feedback.models import ContactAttempt, Reason
from sla.criteria import SqlCriteria


class ContactForm(forms.Form):
    channel = forms.ChoiceField(
        choices=ContactAttempt.Channel.choices,
        initial="call",
        label=pgettext_lazy("how a contact was made", "Channel"),
    )
    connected = forms.BooleanField(required=False, label=_("Reached them"))
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label=_("Note")
    )


class ReasonForm(forms.Form):
    kind: str = ""
    reason = forms.ModelChoiceField(
        queryset=Reason.objects.none(), empty_label=_("Choose a reason…"), label=_("Reason")
    )
    comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label=_("Comment")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = Reason.objects.filter(kind=self.kind, is_active=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        reason = data.get("reason")
        if reason and reason.needs_comment and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Say more: “%(reason)s” needs a comment.") % {"reason": reason.label})
        return data


class RejectForm(ReasonForm):
    kind = Reason.Kind.REJECTION


class LoseForm(ReasonForm):
    kind = Reason.Kind.LOSS


class DisqualifyForm(ReasonForm):
    kind = Reason.Kind.DISQUALIFICATION


class QualifyForm(forms.Form):
    """One checkbox and a note per checklist item of the agreement in force."""

    def __init__(
        self, *args: Any, criteria: SqlCriteria, answers: dict[str, dict[str, Any]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for item in criteria.items:
            answer = answers.get(item.key, {})
            label = _("%(item)s (required)") % {"item": item.label} if item.required else item.label
            self.fields[f"{item.key}_met"] = forms.BooleanField(
                required=False, label=label, initial=answer.get("met")
            )
            self.fields[f"{item.key}_note"] = forms.CharField(
                required=False,
                label=_("%(item)s: note") % {"item": item.label},
                initial=answer.get("note", ""),
                max_length=1000,
            )

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"{item.key}_met"], self[f"{item.key}_note"]) for item in self.criteria.items]

    def answers(self) -> dict[str, dict[str, Any]]:
        return {
            item.key: {
                "met": self.cleaned_data[f"{item.key}_met"],
                "note": self.cleaned_data[f"{item.key}_note"],
            }
            for item in self.criteria.items
        }


class OpportunityForm(forms.Form):
    amount = forms.DecimalField(min_value=0.01, max_digits=12, decimal_places=2, label=_("Amount"))
    expected_close = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Expected close")
    )


class WinForm(forms.Form):
    amount = forms.DecimalField(min_value=0.01, max_digits=12, decimal_places=2, label=_("Amount won"))
