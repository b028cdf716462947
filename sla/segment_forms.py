"""The segment form: name, description, conditions on lead attributes (the agreement editor's field vocabulary and
operators, `sla.forms`), and the team's members."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from alignment.names import person_name
from alignment.roles import ROLE_LABELS, Role
from sla.forms import ConditionMixin, _condition_fields, _condition_initial
from sla.models import Segment
from sla.segments import SegmentError, conditions_from


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    members = forms.MultipleChoiceField(
        label=_("Team"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Its reps and managers: they see, work, sign and are alerted only in their segments."),
    )

    def __init__(self, *args: Any, segment: Segment | None, candidates: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.segment = segment
        self.fields["members"].choices = [(str(user.pk), _member_label(user)) for user in candidates]

    @classmethod
    def initial_from(cls, segment: Segment | None, member_ids: list[int]) -> dict[str, Any]:
        if segment is None:
            return {}
        return {
            "name": segment.name,
            "description": segment.description,
            "members": [str(pk) for pk in member_ids],
        }

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = Segment.objects.filter(name__iexact=name)
        if self.segment is not None:
            taken = taken.exclude(pk=self.segment.pk)
        if taken.exists():
            raise forms.ValidationError(_("Another segment is called “%(name)s”."), params={"name": name})
        return name

    def member_ids(self) -> list[int]:
        return [int(pk) for pk in self.cleaned_data.get("members", [])]


def _member_label(user: Any) -> str:
    """ "Hanako Sato (Rep)": the person and their roles, in the reader's language."""
    names = {group.name for group in user.groups.all()}  # prefetched by team_candidates
    roles = ", ".join(str(ROLE_LABELS[role]) for role in Role if role.value in names)
    return f"{person_name(user)} ({roles})" if roles else person_name(user)


class ConditionForm(ConditionMixin, forms.Form):
    """One condition, `field op value`; a row left blank (or marked for removal) is dropped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_condition_fields("", subject="field", required=False, label=_("Lead field")))
        self.fields["value"].help_text = ""  # said once under the rows
        self.fields["value"].widget.attrs["class"] = "cond-value"

    @classmethod
    def initial_from(cls, condition: dict[str, Any]) -> dict[str, Any]:
        return _condition_initial("", "field", condition)


class BaseConditionFormSet(forms.BaseFormSet):
    def conditions(self) -> list[dict[str, Any]] | None:
        """The conditions typed, in order; None (with errors on the rows) when one does not read."""
        found = []
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            condition = form.condition("")
            if form.errors:
                return None
            if condition is not None:
                found.append(condition)
        try:
            conditions_from(found)
        except SegmentError as error:
            self._non_form_errors = self.error_class([str(error)])
            return None
        return found


ConditionFormSet = forms.formset_factory(
    ConditionForm, formset=BaseConditionFormSet, extra=2, can_delete=True, max_num=20, validate_max=True
)


def condition_formset(segment: Segment | None, data: Any = None) -> Any:
    """The segment's conditions as rows (and blank ones to add). Bound, the rows are read as typed: each row
    that is not blank is a condition, whatever it held before."""
    if data is not None:
        return ConditionFormSet(data, prefix="cond")
    initial = [ConditionForm.initial_from(c) for c in (segment.conditions if segment else [])]
    return ConditionFormSet(initial=initial, prefix="cond")
