"""What counts as an English word left on a Japanese screen, shared by the Japanese page tests.

Every word in Latin letters must be data (names, companies, e-mail addresses, the agreement's own rule names,
reason labels people typed) or a code written the same in Japanese business use (MQL, SLA, CSV, ...).
"""

from __future__ import annotations

import html
import re

from django.contrib.auth import get_user_model
from django.utils import translation

# Written the same in Japanese business use: abbreviations, product and format names, units.
CODES = {
    "MQL", "MQLs", "SQL", "SAL", "SLA", "AUC", "CSV", "PDF", "BANT", "CHAMP", "ANUM", "CRM", "Excel", "Alignment",
    "ID", "id", "URL", "API", "UTC", "JST", "min", "vs", "Asia", "Tokyo", "Slack", "HubSpot", "Salesforce",
    "British", "English",  # the language switcher names each language in that language
    "Webhook", "Webhooks", "Mautic", "Segment", "JSON", "MB", "BOM", "UTF", "Windows", "EUC", "JP", "Google", "google", "Standard",
}  # fmt: skip
# Identifiers written as they are: event types and attribute names (lead.mql, outcome_tags), encodings and
# standards (UTF-8, Shift_JIS, CP932, ISO-8601), file extensions (.xlsx), HTTP header names and status classes.
IDENTIFIERS = re.compile(
    r"[A-Za-z]\w*_\w*|[A-Za-z]\w*(?:\.\w+)+|[A-Za-z]+-\d+|[A-Z]+-[A-Z]+|[A-Z]+\d+|\.[a-z]{3,4}\b|webhook-[a-z]+|\dxx\b"
    r"|\b[A-Z][A-Za-z]+/[A-Za-z_/+-]+|\b[A-Z]{2,3}\b"  # IANA time zone names (Asia/Tokyo), ISO country codes
)
LATIN = re.compile(r"[A-Za-z](?:[A-Za-z]|['’](?=[A-Za-z]))+")  # a word of 2+ letters, "don't" whole


def data_words() -> set[str]:
    """Every Latin word the database holds as data a user typed or imported: lead and user names, companies,
    addresses, titles, sources, campaigns, activity types, the agreement's rule names and reason labels."""
    from alignment.models import OutboxMessage, WebhookSubscription
    from feedback.models import Reason
    from leads.models import Activity, DataProblem, ImportJob, Lead
    from sla.models import AgreementVersion

    words: set[str] = set()

    def add(*values: object) -> None:
        for value in values:
            if isinstance(value, dict):
                add(*value.values())
            elif isinstance(value, list | tuple):
                add(*value)
            elif isinstance(value, str):
                words.update(LATIN.findall(value))

    for row in Lead.objects.values_list(
        "first_name",
        "last_name",
        "company",
        "email",
        "job_title",
        "industry",
        "country",
        "source",
        "campaign",
    ):
        add(*row)
    for user in get_user_model().objects.all():
        add(user.username, user.first_name, user.last_name, user.email)
    for version in AgreementVersion.objects.all():
        add(version.title, _named_values(version.content))
    with translation.override("ja"):  # a default reason's label has its Japanese words: not data
        add(*(reason.label for reason in Reason.objects.all() if reason.display_label == reason.label))
    for kind, properties in Activity.objects.values_list("type", "properties").distinct():
        add(kind, properties)
    for job in ImportJob.objects.only("filename", "mapping"):
        add(job.filename, list(job.mapping or {}))
    add(*DataProblem.objects.values_list("field", "value"))
    add(*WebhookSubscription.objects.values_list("url", "description", "secret"))
    add(*OutboxMessage.objects.values_list("key", flat=True))
    return words


def _named_values(node: object) -> list[str]:
    """The rule names, checklist labels and trigger reasons inside agreement content (what the managers wrote)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("name", "label", "reason", "value", "time_zone", "country") and isinstance(
                value, str | list
            ):
                found += value if isinstance(value, list) else [value]
            else:
                found += _named_values(value)
    elif isinstance(node, list):
        for value in node:
            found += _named_values(value)
    return [str(v) for v in found]


def english_in(text: str, allowed: set[str]) -> list[str]:
    """Latin words in `text` that are neither data nor codes, each with the text around it."""
    text = re.sub(r"\S+@\S+|https?://\S+|whsec_\S+", " ", text)  # e-mail addresses, links, secrets: data
    text = IDENTIFIERS.sub(" ", text)
    return sorted(
        {f"{m.group()} «{text[max(m.start() - 30, 0) : m.end() + 30]}»" for m in LATIN.finditer(text)
         if m.group() not in allowed and m.group() not in CODES}
    )  # fmt: skip


_HIDDEN = re.compile(r"<(script|style|template)\b.*?</\1>|<!--.*?-->", re.S | re.I)
_SHOWN_ATTRS = re.compile(
    r'\b(?:aria-label|title|placeholder|alt|data-label|data-confirm|hx-confirm)="([^"]*)"', re.I
)


def page_text(content: str) -> str:
    """What a person reads on an HTML page (or fragment): text, and the labels, tooltips, placeholders and
    confirmation questions a browser shows or announces. Scripts, styles and attribute values are not read."""
    content = _HIDDEN.sub(" ", content)
    shown = " ".join(_SHOWN_ATTRS.findall(content))
    text = re.sub(r"<[^>]+>", " ", content)
    return html.unescape(re.sub(r"\s+", " ", f"{text} {shown}"))
