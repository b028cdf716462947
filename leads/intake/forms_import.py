"""Forms of the CSV import: the upload, and the column mapping (one target and one name per column)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from leads.intake import imports
from leads.intake.imports import ColumnMap, ColumnMapping

TARGET_CHOICES = [
    (
        _("Identify the lead"),
        [
            ("email", imports.FIELD_LABELS["email"]),
            (imports.EXTERNAL_ID, imports.TARGETS[imports.EXTERNAL_ID]),
        ],
    ),
    (_("Lead field"), [(name, label) for name, label in imports.FIELD_LABELS.items() if name != "email"]),
    (
        _("Custom attribute"),
        [
            (imports.CUSTOM, imports.TARGETS[imports.CUSTOM]),
            (imports.NUMBER, imports.TARGETS[imports.NUMBER]),
        ],
    ),
    (_("Skip"), [(imports.IGNORE, imports.TARGETS[imports.IGNORE])]),
]


def _upload_help() -> str:
    return _(
        "CSV (comma, semicolon or tab separated; UTF-8, Shift_JIS, EUC-JP, UTF-16 or Windows-1252) or an "
        "Excel .xlsx workbook; at most %(mb)d MB."
    ) % {"mb": imports.MAX_BYTES // 1024 // 1024}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=lazy(_upload_help, str)(),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx,text/csv", "autofocus": True}),
    )
    encoding = forms.ChoiceField(
        label=_("Encoding"),
        choices=[("", _("Detect automatically"))] + list(imports.ENCODINGS.items()),
        required=False,
        help_text=_("Leave on “Detect”: the next page shows what was detected, and you can change it."),
    )
    preset = forms.ChoiceField(
        label=_("Exported from"),
        choices=list(imports.PRESETS.items()),
        initial="auto",
        help_text=_("Suggests where each column goes; you check and change it on the next page."),
    )


class EncodingForm(forms.Form):
    encoding = forms.ChoiceField(
        label=_("Read the file as"),
        choices=[("", _("Detect automatically"))] + list(imports.ENCODINGS.items()),
        required=False,
    )


class MappingForm(forms.Form):
    """One select (where the column goes) and one text input (the custom attribute's name) per CSV column."""

    def __init__(
        self, *args: Any, columns: Sequence[tuple[str, ColumnMapping, list[str]]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.columns = list(columns)
        for index, (header, current, _samples) in enumerate(self.columns):
            self.fields[f"c{index}_target"] = forms.ChoiceField(
                label=gettext("Where “%(header)s” goes") % {"header": header},
                choices=TARGET_CHOICES,
                initial=current.target,
            )
            self.fields[f"c{index}_name"] = forms.CharField(
                label=gettext("Attribute name for “%(header)s”") % {"header": header},
                required=False,
                max_length=60,
                initial=current.name or imports.slug(header, fallback=f"column_{index + 1}"),
                widget=forms.TextInput(attrs={"size": 24, "spellcheck": "false", "autocomplete": "off"}),
            )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "header": header,
                "samples": samples,
                "target": self[f"c{index}_target"],
                "name": self[f"c{index}_name"],
            }
            for index, (header, _, samples) in enumerate(self.columns)
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        for index in range(len(self.columns)):
            target = cleaned.get(f"c{index}_target")
            name = (cleaned.get(f"c{index}_name") or "").strip()
            if target in (imports.CUSTOM, imports.NUMBER):
                if not imports.CUSTOM_NAME.fullmatch(name):
                    self.add_error(
                        f"c{index}_name",
                        _("Start with a letter; use only lower-case letters, digits and _."),
                    )
                elif name in imports.FIELD_LABELS:
                    self.add_error(
                        f"c{index}_name",
                        gettext("“%(name)s” is a lead field: choose it in the list instead.")
                        % {"name": name},
                    )
        if not self.errors:
            for problem in imports.mapping_problems(self.mapping()):
                self.add_error(None, problem)
        return cleaned

    def mapping(self) -> ColumnMap:
        result: ColumnMap = {}
        for index, (header, _current, _samples) in enumerate(self.columns):
            target = self.cleaned_data[f"c{index}_target"]
            name = (self.cleaned_data.get(f"c{index}_name") or "").strip()
            custom = target in (imports.CUSTOM, imports.NUMBER)
            result[header] = ColumnMapping(target, name if custom else "")
        return result
