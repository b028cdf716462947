"""Rules and conditions in the reader's language, for the agreement pages.

`sla.criteria.describe` (pure, English) stays the engine's own wording (evidence strings, tests); this module says
the same things through Django's gettext. In English both read alike; field names and activity codes are
translated by context ("lead field", "activity type"), so a Japanese manager reads 役職レベル, not "seniority".
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext, pgettext_lazy

from alignment.phrasebook import Phrasebook
from sla.criteria import ActivityMatch, Condition, CriteriaError, Op
from sla.criteria.schema import _fmt

# Marked for makemessages; read at call time in the reader's language (field_word, activity_word)
FIELD_WORDS = {
    "email": pgettext_lazy("lead field", "email"), "first_name": pgettext_lazy("lead field", "first_name"),
    "last_name": pgettext_lazy("lead field", "last_name"), "company": pgettext_lazy("lead field", "company"),
    "job_title": pgettext_lazy("lead field", "job_title"), "seniority": pgettext_lazy("lead field", "seniority"),
    "department": pgettext_lazy("lead field", "department"), "industry": pgettext_lazy("lead field", "industry"),
    "employees": pgettext_lazy("lead field", "employees"), "country": pgettext_lazy("lead field", "country"),
    "source": pgettext_lazy("lead field", "source"), "campaign": pgettext_lazy("lead field", "campaign"),
    "path": pgettext_lazy("lead field", "path"), "url": pgettext_lazy("lead field", "url"),
    "name": pgettext_lazy("lead field", "name"), "asset": pgettext_lazy("lead field", "asset"),
}  # fmt: skip
ACTIVITY_WORDS = {
    "page": pgettext_lazy("activity type", "page"), "form_submit": pgettext_lazy("activity type", "form_submit"),
    "download": pgettext_lazy("activity type", "download"), "webinar": pgettext_lazy("activity type", "webinar"),
    "email_open": pgettext_lazy("activity type", "email_open"), "email_click": pgettext_lazy("activity type", "email_click"),
    "demo_request": pgettext_lazy("activity type", "demo_request"),
    "trial_signup": pgettext_lazy("activity type", "trial_signup"), "event": pgettext_lazy("activity type", "event"),
}  # fmt: skip


RULE_KIND_WORDS = {
    "fit": pgettext_lazy("rule kind", "fit"), "engagement": pgettext_lazy("rule kind", "engagement"),
    "trigger": pgettext_lazy("rule kind", "trigger"),
}  # fmt: skip


def field_word(name: str) -> str:
    return pgettext("lead field", name) if name in _FIELDS else name


def activity_word(code: str) -> str:
    return pgettext("activity type", code) if code in _ACTIVITIES else code


_FIELDS = frozenset(FIELD_WORDS)
_ACTIVITIES = frozenset(ACTIVITY_WORDS)


def condition_words(condition: Condition | ActivityMatch) -> str:
    """ "employees ≥ 100", "従業員数が 100 以上"."""
    subject = field_word(condition.field if isinstance(condition, Condition) else condition.property)
    op, value = condition.op, condition.value
    if op is Op.EQUALS:
        return _("%(subject)s is %(value)s") % {"subject": subject, "value": _fmt(value)}
    if op is Op.NOT_EQUALS:
        return _("%(subject)s is not %(value)s") % {"subject": subject, "value": _fmt(value)}
    if op is Op.ONE_OF:
        values = _(", ").join(_fmt(item) for item in value)
        return _("%(subject)s is one of %(values)s") % {"subject": subject, "values": values}
    if op is Op.CONTAINS:
        return _("%(subject)s contains %(value)s") % {"subject": subject, "value": _fmt(value)}
    if op is Op.STARTS_WITH:
        return _("%(subject)s starts with %(value)s") % {"subject": subject, "value": _fmt(value)}
    if op is Op.GTE:
        return _("%(subject)s ≥ %(value)s") % {"subject": subject, "value": _fmt(value)}
    if op is Op.LTE:
        return _("%(subject)s ≤ %(value)s") % {"subject": subject, "value": _fmt(value)}
    if op is Op.BETWEEN:
        return _("%(subject)s is between %(low)s and %(high)s") % {
            "subject": subject, "low": _fmt(value[0]), "high": _fmt(value[1])}  # fmt: skip
    if op is Op.IS_EMPTY:
        return _("%(subject)s is empty") % {"subject": subject}
    if op is Op.IS_NOT_EMPTY:
        return _("%(subject)s is not empty") % {"subject": subject}
    return _("%(subject)s is a free-mail address") % {"subject": subject}


def rule_words(section: str, rule: dict[str, Any]) -> str:
    """A rule as the agreement page says it ("each page where path starts with /pricing in the last 30 days")."""
    if section in ("fit_rules", "gates"):
        return condition_words(Condition.from_dict(rule["condition"]))
    code = rule.get("activity", "")
    what = _("any activity") if code == "*" else activity_word(code)
    if rule.get("where"):
        what = _("%(activity)s where %(condition)s") % {
            "activity": what, "condition": condition_words(ActivityMatch.from_dict(rule["where"]))}  # fmt: skip
    if section == "engagement_rules":
        days = rule.get("window_days")
        window = _("in the last %(days)s days") % {"days": days} if days else _("ever")
        if (rule.get("min_count") or 1) > 1:
            return _("%(count)s+ × %(what)s %(window)s (scores once)") % {
                "count": rule["min_count"], "what": what, "window": window}  # fmt: skip
        if rule.get("max_count"):
            return _("each %(what)s %(window)s, at most %(max)s×") % {
                "what": what, "window": window, "max": rule["max_count"]}  # fmt: skip
        return _("each %(what)s %(window)s") % {"what": what, "window": window}
    parts = [what, _("within %(days)s days") % {"days": rule.get("within_days")}]
    if rule.get("attribute"):
        parts.append(
            _("and %(condition)s") % {"condition": condition_words(Condition.from_dict(rule["attribute"]))}
        )
    if rule.get("requires_gates"):
        parts.append(_("and passes the gates"))
    if rule.get("min_silence_days"):
        parts.append(_("after %(days)s+ days of silence") % {"days": rule["min_silence_days"]})
    return " ".join(parts)


def problem_words(error: Exception) -> str:
    """An agreement content problem without its path, in the reader's language: the schema (pure) raises
    `CriteriaError` with an English template and values; other problems are said as they are."""
    cause = error if isinstance(error, CriteriaError) else error.__cause__
    if isinstance(cause, CriteriaError):
        return _(cause.template) % cause.values if cause.values else _(cause.template)
    text = str(error)
    if TERMS.knows(text):
        return TERMS.say(text)
    return TERMS.say(text.split(": ", 1)[-1])


# The messages of the pure modules sla.terms, sla.calendar and sla.content (their path left out): said again in
# the reader's language by `problem_words`.
TERMS = Phrasebook([
    gettext_noop("The agreement content must be an object."),
    gettext_noop("Unknown section(s): %(sections)s"),
    gettext_noop("is missing"),
    gettext_noop("must be an object"),
    gettext_noop("unknown key"),
    gettext_noop("is required"),
    gettext_noop("must be a positive whole number"),
    gettext_noop("must be a whole number of %(minimum)s or more"),
    gettext_noop("must be true or false"),
    gettext_noop("must be a list of lead field names"),
    gettext_noop("must be a lead field name without surrounding spaces"),
    gettext_noop("must not repeat a field"),
    gettext_noop("must be one of %(allowed)s"),
    gettext_noop("must be a list of steps"),
    gettext_noop("steps must come in order of their delay"),
    gettext_noop("tier names must be non-empty strings"),
    gettext_noop("unknown tier %(name)s (the terms define: %(known)s)"),
    gettext_noop("must be a time as HH:MM"),
    gettext_noop("must be a list of weekday numbers (0=Monday … 6=Sunday)"),
    gettext_noop("must be a weekday number from 0 (Monday) to 6 (Sunday)"),
    gettext_noop("%(day)s is not a weekday number from 0 (Monday) to 6 (Sunday)"),
    gettext_noop("must not repeat a day"),
    gettext_noop("must be a list of dates as YYYY-MM-DD"),
    gettext_noop("must be a date as YYYY-MM-DD"),
    gettext_noop("must not repeat a date"),
    gettext_noop("must be an IANA time zone name such as Europe/London"),
    gettext_noop("unknown time zone %(zone)s"),
    gettext_noop("must name at least one weekday"),
    gettext_noop("must be HH:MM before closes"),
    gettext_noop("must be a string"),
    gettext_noop("unknown country code %(country)s (a code such as GB, optionally with a subdivision such as GB-ENG)"),
    gettext_noop("%(day)s is not a date"),
    gettext_noop("no working time in the %(days)s days from %(day)s"),
    gettext_noop("must be a whole number of 0 or more"),
])  # fmt: skip
