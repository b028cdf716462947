"""Forms for editing a draft agreement: each turns its fields into one piece of the content document."""

from __future__ import annotations

import zoneinfo
from datetime import date
from functools import cache
from typing import Any

import holidays
from django import forms
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from sla.criteria import FRAMEWORK_TEMPLATES, FRAMEWORKS, Op

LEAD_FIELDS = [
    "email", "first_name", "last_name", "company", "job_title", "seniority", "department",
    "industry", "employees", "country", "source", "campaign",
]  # fmt: skip
ACTIVITY_TYPES = [
    "page", "form_submit", "download", "webinar", "email_open", "email_click",
    "demo_request", "trial_signup", "event",
]  # fmt: skip
OP_CHOICES = [
    (Op.EQUALS, pgettext_lazy("operator", "is")),
    (Op.NOT_EQUALS, pgettext_lazy("operator", "is not")),
    (Op.ONE_OF, pgettext_lazy("operator", "is one of")),
    (Op.CONTAINS, pgettext_lazy("operator", "contains")),
    (Op.STARTS_WITH, pgettext_lazy("operator", "starts with")),
    (Op.GTE, "≥"),
    (Op.LTE, "≤"),
    (Op.BETWEEN, pgettext_lazy("operator", "is between")),
    (Op.IS_EMPTY, pgettext_lazy("operator", "is empty")),
    (Op.IS_NOT_EMPTY, pgettext_lazy("operator", "is not empty")),
    (Op.FREE_MAIL, pgettext_lazy("operator", "is a free-mail address")),
]
VALUE_HELP = _("For “is one of” separate values with commas; for “is between” give two numbers: 10, 500.")


def parse_value(op: str, raw: str) -> Any:
    """Turn the text a user typed into the JSON value the operator expects; ValueError says what is wrong."""
    raw = (raw or "").strip()
    if op in (Op.IS_EMPTY, Op.IS_NOT_EMPTY, Op.FREE_MAIL):
        return None
    if not raw:
        raise ValueError(gettext("Enter a value for this operator."))
    if op == Op.ONE_OF:
        items = [item.strip() for item in raw.split(",") if item.strip()]
        if not items:
            raise ValueError(gettext("Enter at least one value, separated by commas."))
        return items
    if op in (Op.GTE, Op.LTE):
        return _number(raw)
    if op == Op.BETWEEN:
        parts = [part for part in raw.replace("–", ",").replace(";", ",").split(",") if part.strip()]
        if len(parts) != 2:
            raise ValueError(gettext("Enter two numbers separated by a comma, e.g. 10, 500."))
        low, high = _number(parts[0]), _number(parts[1])
        if low > high:
            raise ValueError(gettext("The first number must not be larger than the second."))
        return [low, high]
    return raw


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(format_value(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(raw: str) -> int | float:
    try:
        number = float(raw.strip().replace(",", ""))
    except ValueError:
        raise ValueError(gettext("“%(value)s” is not a number.") % {"value": raw.strip()}) from None
    return int(number) if number.is_integer() else number


class ConditionMixin:
    """Adds `<prefix>field`, `<prefix>op`, `<prefix>value` and turns them into a condition dict."""

    def condition(self, prefix: str, *, subject: str = "field") -> dict[str, Any] | None:
        data = self.cleaned_data  # type: ignore[attr-defined]
        name = (data.get(f"{prefix}{subject}") or "").strip()
        op = data.get(f"{prefix}op") or ""
        if not name and not op:
            return None
        if not name:
            self.add_error(f"{prefix}{subject}", _("Say which field this condition looks at."))  # type: ignore[attr-defined]
            return None
        if not op:
            self.add_error(f"{prefix}op", _("Choose an operator."))  # type: ignore[attr-defined]
            return None
        try:
            value = parse_value(op, data.get(f"{prefix}value", ""))
        except ValueError as error:
            self.add_error(f"{prefix}value", str(error))  # type: ignore[attr-defined]
            return None
        return {subject: name, "op": op, "value": value}


def _condition_fields(prefix: str, *, subject: str, required: bool, label: str) -> dict[str, forms.Field]:
    return {
        f"{prefix}{subject}": forms.CharField(
            label=label,
            required=required,
            max_length=80,
            widget=forms.TextInput(attrs={"list": f"{subject}-names"}),
        ),
        f"{prefix}op": forms.ChoiceField(
            label=_("Operator"), required=required, choices=[("", "—")] + OP_CHOICES
        ),
        f"{prefix}value": forms.CharField(
            label=_("Value"), required=False, max_length=500, help_text=VALUE_HELP
        ),
    }


def _condition_initial(prefix: str, subject: str, condition: dict[str, Any] | None) -> dict[str, Any]:
    if not condition:
        return {}
    return {
        f"{prefix}{subject}": condition.get(subject, ""),
        f"{prefix}op": condition.get("op", ""),
        f"{prefix}value": format_value(condition.get("value")),
    }


class RuleForm(ConditionMixin, forms.Form):
    section: str = ""
    # (prefix, subject, required, label) of each condition the form edits
    conditions: tuple[tuple[str, str, bool, str], ...] = ()
    name = forms.CharField(max_length=120, label=_("Name"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for prefix, subject, required, label in self.conditions:
            self.fields.update(_condition_fields(prefix, subject=subject, required=required, label=label))

    @classmethod
    def initial_from(cls, rule: dict[str, Any]) -> dict[str, Any]:
        return {"name": rule.get("name", "")}

    def to_rule(self) -> dict[str, Any] | None:
        raise NotImplementedError


class FitRuleForm(RuleForm):
    section = "fit_rules"
    points = forms.IntegerField(
        min_value=-1000, max_value=1000, label=_("Points"), help_text=_("Negative points are allowed.")
    )
    conditions = (("", "field", True, _("Lead field")),)

    @classmethod
    def initial_from(cls, rule: dict[str, Any]) -> dict[str, Any]:
        return {
            **super().initial_from(rule),
            "points": rule.get("points"),
            **_condition_initial("", "field", rule.get("condition")),
        }

    def to_rule(self) -> dict[str, Any] | None:
        condition = self.condition("")
        if condition is None:
            return None
        return {
            "name": self.cleaned_data["name"],
            "points": self.cleaned_data["points"],
            "condition": condition,
        }


class GateForm(RuleForm):
    section = "gates"
    conditions = (("", "field", True, _("Lead field")),)

    @classmethod
    def initial_from(cls, rule: dict[str, Any]) -> dict[str, Any]:
        return {**super().initial_from(rule), **_condition_initial("", "field", rule.get("condition"))}

    def to_rule(self) -> dict[str, Any] | None:
        condition = self.condition("")
        if condition is None:
            return None
        return {"name": self.cleaned_data["name"], "condition": condition}


class ActivityRuleForm(RuleForm):
    activity = forms.CharField(
        max_length=60,
        label=_("Activity type"),
        widget=forms.TextInput(attrs={"list": "activity-types"}),
        help_text=_("An activity type such as page, download, webinar; * means any activity."),
    )
    conditions = (("where_", "property", False, _("Where property")),)

    @classmethod
    def initial_from(cls, rule: dict[str, Any]) -> dict[str, Any]:
        return {
            **super().initial_from(rule),
            "activity": rule.get("activity", ""),
            **_condition_initial("where_", "property", rule.get("where")),
        }


class EngagementRuleForm(ActivityRuleForm):
    section = "engagement_rules"
    points = forms.IntegerField(min_value=-1000, max_value=1000, label=_("Points"))
    window_days = forms.IntegerField(
        min_value=1,
        required=False,
        label=_("Counts for (days)"),
        help_text=_("Older activity ages out. Empty: never."),
    )
    max_count = forms.IntegerField(
        min_value=1, required=False, label=_("At most (times)"), help_text=_("Empty: no cap.")
    )
    min_count = forms.IntegerField(
        min_value=1,
        initial=1,
        label=_("Needs at least (times)"),
        help_text=_(
            "1: each matching activity scores. 3: three or more in the window score the points once."
        ),
    )

    @classmethod
    def initial_from(cls, rule: dict[str, Any]) -> dict[str, Any]:
        return {
            **super().initial_from(rule),
            "points": rule.get("points"),
            "window_days": rule.get("window_days"),
            "max_count": rule.get("max_count"),
            "min_count": rule.get("min_count", 1),
        }

    def to_rule(self) -> dict[str, Any] | None:
        where = self.condition("where_", subject="property")
        if self.errors:
            return None
        data = self.cleaned_data
        return {
            "name": data["name"],
            "points": data["points"],
            "activity": data["activity"].strip(),
            "where": where,
            "max_count": data.get("max_count"),
            "window_days": data.get("window_days"),
            "min_count": data.get("min_count") or 1,
        }


class TriggerForm(ActivityRuleForm):
    section = "triggers"
    conditions = (
        ("where_", "property", False, _("Where property")),
        ("attr_", "field", False, _("And lead field")),
    )
    requires_gates = forms.BooleanField(
        required=False, initial=True, label=_("Only if the lead passes the gates")
    )
    min_silence_days = forms.IntegerField(
        min_value=1,
        required=False,
        label=_("After silence of (days)"),
        help_text=_("Set for a dormant lead coming back."),
    )
    within_days = forms.IntegerField(min_value=1, initial=7, label=_("Hot for (days)"))
    reason = forms.CharField(
        max_length=200, label=_("Reason"), help_text=_("Shown to the rep, e.g. “requested a demo”.")
    )

    @classmethod
    def initial_from(cls, rule: dict[str, Any]) -> dict[str, Any]:
        return {
            **super().initial_from(rule),
            **_condition_initial("attr_", "field", rule.get("attribute")),
            "requires_gates": rule.get("requires_gates", True),
            "min_silence_days": rule.get("min_silence_days"),
            "within_days": rule.get("within_days", 7),
            "reason": rule.get("reason", ""),
        }

    def to_rule(self) -> dict[str, Any] | None:
        where = self.condition("where_", subject="property")
        attribute = self.condition("attr_")
        if self.errors:
            return None
        data = self.cleaned_data
        return {
            "name": data["name"],
            "activity": data["activity"].strip(),
            "where": where,
            "attribute": attribute,
            "requires_gates": data["requires_gates"],
            "min_silence_days": data.get("min_silence_days"),
            "within_days": data["within_days"],
            "reason": data["reason"],
        }


RULE_FORMS: dict[str, type[RuleForm]] = {
    form.section: form for form in (FitRuleForm, EngagementRuleForm, GateForm, TriggerForm)
}


class PartForm(forms.Form):
    """A form for one non-rule part of the content; `apply` writes it into a content dict."""

    part: str = ""

    @classmethod
    def initial_from(cls, content: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class ThresholdForm(PartForm):
    part = "threshold"
    threshold = forms.IntegerField(label=_("MQL threshold (points)"), min_value=-10000, max_value=10000)
    inactivity_days = forms.IntegerField(
        label=_("Inactivity window (days)"),
        min_value=1,
        required=False,
        help_text=_("Empty: no inactivity penalty."),
    )
    inactivity_points = forms.IntegerField(label=_("Inactivity points"), max_value=0, required=False)

    @classmethod
    def initial_from(cls, content: dict[str, Any]) -> dict[str, Any]:
        inactivity = content["mql"].get("inactivity") or {}
        return {
            "threshold": content["mql"].get("threshold"),
            "inactivity_days": inactivity.get("days"),
            "inactivity_points": inactivity.get("points"),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (data.get("inactivity_days") is None) != (data.get("inactivity_points") is None):
            self.add_error("inactivity_points", _("Give both the window and the points, or neither."))
        return data

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        content["mql"]["threshold"] = data["threshold"]
        days = data.get("inactivity_days")
        content["mql"]["inactivity"] = {"days": days, "points": data["inactivity_points"]} if days else None
        return content


class SqlForm(PartForm):
    part = "sql"
    framework = forms.ChoiceField(
        choices=[(f, f.upper() if f != "custom" else _("Custom")) for f in FRAMEWORKS], label=_("Framework")
    )
    items = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        label=_("Checklist items"),
        help_text=_("One checklist item per line; start a line with * to make it required."),
    )
    min_met = forms.IntegerField(min_value=1, label=_("Items that must be met in total"))

    @classmethod
    def initial_from(cls, content: dict[str, Any]) -> dict[str, Any]:
        sql = content["sql"]
        lines = [("* " if item.get("required") else "") + item["label"] for item in sql.get("items", [])]
        return {"framework": sql.get("framework"), "items": "\n".join(lines), "min_met": sql.get("min_met")}

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        # Sent only by the "Fill items from the framework's template" button. Not a form field: a hidden input
        # would come back holding "on" when the form is shown again, and the next Save would refill the items.
        if self.data.get(self.add_prefix("fill_template")) and data["framework"] in FRAMEWORK_TEMPLATES:
            items = [dict(item) for item in FRAMEWORK_TEMPLATES[data["framework"]]]
        else:
            items = self._parse_items(data["items"])
        content["sql"] = {"framework": data["framework"], "items": items, "min_met": data["min_met"]}
        return content

    def clean_items(self) -> str:
        self._parse_items(self.cleaned_data["items"])
        return self.cleaned_data["items"]

    @staticmethod
    def _parse_items(text: str) -> list[dict[str, Any]]:
        items, keys = [], set()
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            required = line.startswith("*")
            label = line.lstrip("*").strip()
            key = "_".join(label.lower().split())[:40]
            if not key:
                raise forms.ValidationError(_("Line %(number)d has no label.") % {"number": number})
            if key in keys:
                raise forms.ValidationError(
                    _("Line %(number)d: “%(label)s” is listed twice.") % {"number": number, "label": label}
                )
            keys.add(key)
            items.append({"key": key, "label": label, "required": required})
        if not items:
            raise forms.ValidationError(_("List at least one checklist item."))
        return items


TIER_FIELDS = (
    ("claim_minutes", _("Claim within (business minutes)")),
    ("first_contact_minutes", _("First contact within (business minutes)")),
    ("accept_minutes", _("Accept or reject within (business minutes)")),
    ("outcome_days", _("Outcome within (business days)")),
    ("status_update_days", _("Status update every (days)")),
)


_TIER_TITLES = {"hot": _("Hot"), "warm": _("Warm")}


class TermsForm(PartForm):
    part = "terms"
    on_breach = forms.ChoiceField(
        choices=[
            ("none", _("Only notify")),
            ("return_to_queue", _("Return to the shared queue")),
            ("reassign", _("Reassign round-robin")),
        ],
        label=_("On breach"),
    )
    notify_manager = forms.BooleanField(required=False, label=_("Notify the sales manager on breach"))
    auto_assign = forms.BooleanField(required=False, label=_("Assign new MQLs round-robin"))
    warn_before_minutes = forms.IntegerField(
        min_value=0, required=False, label=_("Warn the owner before a deadline (business minutes)"),
        help_text=_("Empty or 0: no warning."),
    )  # fmt: skip
    min_contact_attempts = forms.IntegerField(
        min_value=0, max_value=50, required=False, label=_("Contact attempts required before a reject"),
        help_text=_("Empty or 0: a rep may reject at once."),
    )  # fmt: skip
    pause_on_customer = forms.BooleanField(
        required=False, label=_("Clocks pause while a lead waits on the customer")
    )
    # The escalation ladder: each step's delay after the breach (calendar minutes); empty leaves the step out.
    step_notify_owner = forms.IntegerField(
        min_value=0, required=False, label=_("Escalation: notify the owner (minutes after the breach)")
    )
    step_reassign = forms.IntegerField(
        min_value=0, required=False, label=_("Escalation: reassign round-robin (minutes after the breach)")
    )
    step_notify_managers_manager = forms.IntegerField(
        min_value=0,
        required=False,
        label=_("Escalation: notify the manager's manager (minutes after the breach)"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for tier in ("hot", "warm"):
            for key, label in TIER_FIELDS:
                self.fields[f"{tier}_{key}"] = forms.IntegerField(
                    min_value=1,
                    label=gettext("%(tier)s: %(label)s") % {"tier": _TIER_TITLES[tier], "label": label},
                )

    @classmethod
    def initial_from(cls, content: dict[str, Any]) -> dict[str, Any]:
        terms = content["terms"]
        initial = {key: terms.get(key) for key in ("on_breach", "notify_manager", "auto_assign")}
        initial.update(
            warn_before_minutes=terms.get("warn_before_minutes", 0),
            min_contact_attempts=terms.get("min_contact_attempts", 0),
            pause_on_customer=terms.get("pause_on_customer", False),
        )
        for step in terms.get("escalation", []):
            initial[f"step_{step['action']}"] = step["after_minutes"]
        for tier in ("hot", "warm"):
            for key, _label in TIER_FIELDS:
                initial[f"{tier}_{key}"] = terms["tiers"].get(tier, {}).get(key)
        return initial

    def tier_rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(label, [self[f"hot_{key}"], self[f"warm_{key}"]]) for key, label in TIER_FIELDS]

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        terms = content["terms"]
        for tier in ("hot", "warm"):
            terms["tiers"][tier] = {key: data[f"{tier}_{key}"] for key, _ in TIER_FIELDS}
        for key in ("on_breach", "notify_manager", "auto_assign", "pause_on_customer"):
            terms[key] = data[key]
        terms["warn_before_minutes"] = data["warn_before_minutes"] or 0
        terms["min_contact_attempts"] = data["min_contact_attempts"] or 0
        ladder = [
            {"after_minutes": data[f"step_{action}"], "action": action}
            for action in ("notify_owner", "reassign", "notify_managers_manager")
            if data[f"step_{action}"] is not None
        ]
        terms["escalation"] = sorted(ladder, key=lambda step: step["after_minutes"])
        return content


class MarketingForm(PartForm):
    part = "marketing"
    mql_per_month = forms.IntegerField(min_value=0, label=_("MQLs marketing commits to per month"))
    required_fields = forms.CharField(
        max_length=500,
        required=False,
        label=_("Fields a handed-over lead must have"),
        help_text=_("Comma separated."),
    )

    @classmethod
    def initial_from(cls, content: dict[str, Any]) -> dict[str, Any]:
        marketing = content["terms"]["marketing"]
        return {
            "mql_per_month": marketing.get("mql_per_month"),
            "required_fields": ", ".join(marketing.get("required_fields", [])),
        }

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        fields = [name.strip() for name in self.cleaned_data["required_fields"].split(",") if name.strip()]
        content["terms"]["marketing"] = {
            "mql_per_month": self.cleaned_data["mql_per_month"],
            "required_fields": fields,
        }
        return content


@cache
def _time_zones() -> list[tuple[str, str]]:
    return [
        (name, name)
        for name in sorted(zoneinfo.available_timezones())
        if "/" in name and not name.startswith("Etc/")
    ]


@cache
def _countries() -> list[tuple[str, str]]:
    return [("", _("No public holidays"))] + [
        (code, code) for code in sorted(holidays.list_supported_countries())
    ]


WEEKDAYS = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]

# One click sets a whole business calendar; the fields stay editable afterwards.
CALENDAR_PRESETS: dict[str, dict[str, Any]] = {
    "jp": {
        "time_zone": "Asia/Tokyo",
        "workdays": [0, 1, 2, 3, 4],
        "opens": "09:00",
        "closes": "18:00",
        "country": "JP",
    },
    "gb": {
        "time_zone": "Europe/London",
        "workdays": [0, 1, 2, 3, 4],
        "opens": "09:00",
        "closes": "17:30",
        "country": "GB",
    },
    "us": {
        "time_zone": "America/New_York",
        "workdays": [0, 1, 2, 3, 4],
        "opens": "09:00",
        "closes": "17:00",
        "country": "US",
    },
}
PRESET_CHOICES = [
    ("", _("— keep the values below —")),
    ("jp", _("Japan: Mon–Fri 9:00–18:00 Asia/Tokyo, Japanese public holidays")),
    ("gb", _("United Kingdom: Mon–Fri 9:00–17:30 Europe/London, UK bank holidays")),
    ("us", _("United States: Mon–Fri 9:00–17:00 America/New_York, US federal holidays")),
]


class CalendarForm(PartForm):
    part = "calendar"
    preset = forms.ChoiceField(
        choices=PRESET_CHOICES,
        required=False,
        label=_("Preset"),
        help_text=_("Fills time zone, working days, hours and holidays in one go."),
    )
    time_zone = forms.ChoiceField(choices=_time_zones, label=_("Time zone"))
    workdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, label=_("Working days")
    )
    opens = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), label=_("Opens"))
    closes = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), label=_("Closes")
    )
    country = forms.ChoiceField(choices=_countries, required=False, label=_("Public holidays of"))
    closed_dates = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=_("Also closed"),
        help_text=_("Extra closed days, one YYYY-MM-DD per line."),
    )

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # A chosen preset overrides the posted values before validation, so what is saved is what it says.
        prefix = kwargs.get("prefix") or ""

        def key(name: str) -> str:
            return f"{prefix}-{name}" if prefix else name

        preset = CALENDAR_PRESETS.get(data.get(key("preset"), "")) if data is not None else None
        if preset:
            data = data.copy()
            for name, value in preset.items():
                if name == "workdays":
                    data.setlist(key(name), [str(day) for day in value])
                else:
                    data[key(name)] = value
        super().__init__(data, *args, **kwargs)

    @classmethod
    def initial_from(cls, content: dict[str, Any]) -> dict[str, Any]:
        cal = content["terms"]["calendar"]
        return {**{key: cal.get(key) for key in ("time_zone", "workdays", "opens", "closes", "country")},
                "closed_dates": "\n".join(cal.get("closed_dates", []))}  # fmt: skip

    def clean_closed_dates(self) -> list[str]:
        dates = []
        for number, line in enumerate(self.cleaned_data["closed_dates"].splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            try:
                dates.append(date.fromisoformat(line).isoformat())
            except ValueError:
                raise forms.ValidationError(
                    _("Line %(number)d: “%(line)s” is not a date like 2026-12-24.")
                    % {"number": number, "line": line}
                ) from None
        return sorted(set(dates))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("opens") and data.get("closes") and data["opens"] >= data["closes"]:
            self.add_error("closes", _("Closing time must be after opening time."))
        return data

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        content["terms"]["calendar"] = {
            "time_zone": data["time_zone"],
            "workdays": sorted(data["workdays"]),
            "opens": data["opens"].strftime("%H:%M"),
            "closes": data["closes"].strftime("%H:%M"),
            "country": data["country"],
            "closed_dates": data["closed_dates"],
        }
        return content


PART_FORMS: dict[str, type[PartForm]] = {
    form.part: form for form in (ThresholdForm, SqlForm, TermsForm, MarketingForm, CalendarForm)
}


class DetailsForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    summary = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("What changes, and why")
    )


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=_("Comment"), max_length=5000)
