"""The Japanese locale is complete: every .po entry translated (none fuzzy), placeholders kept, and no template
shows English text outside {% translate %} / {% blocktranslate %}."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PO_FILES = sorted(ROOT.glob("locale/*/LC_MESSAGES/django.po"))
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")

# Words that are the same in every language here: product and framework names, abbreviations, units.
ALLOWED_WORDS = {"Alignment", "CSV", "MQL", "MQLs", "SQL", "SAL", "AUC", "SLA", "PDF", "id", "v", "n"}


def test_there_is_a_japanese_catalogue():
    assert ROOT / "locale/ja/LC_MESSAGES/django.po" in PO_FILES


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.parent.parent.name)
def test_every_entry_is_translated_and_none_is_fuzzy(path):
    po = polib.pofile(str(path))
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert not po.metadata_is_fuzzy


@pytest.mark.parametrize("path", PO_FILES, ids=lambda p: p.parent.parent.name)
def test_translations_keep_every_placeholder(path):
    broken = []
    for entry in polib.pofile(str(path)).translated_entries():
        wanted = set(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for text in [entry.msgstr] if not entry.msgid_plural else entry.msgstr_plural.values():
            if set(PLACEHOLDER.findall(text)) != wanted:
                broken.append(entry.msgid)
    assert broken == []


_DROP = [
    re.compile(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", re.S),
    re.compile(r"\{%\s*block \w*class\s*%\}.*?\{%\s*endblock\s*%\}", re.S),  # CSS classes, not text
    re.compile(r"\{%\s*blocktranslate.*?\{%\s*endblocktranslate\s*%\}", re.S),
    re.compile(r"\{#.*?#\}", re.S),
    re.compile(r"\{%.*?%\}", re.S),
    re.compile(r"\{\{.*?\}\}", re.S),
    re.compile(r"<(script|style)\b.*?</\1>", re.S),
]
_VISIBLE_ATTRS = re.compile(r'\b(?:title|placeholder|aria-label|alt|data-confirm|hx-confirm)="([^"]*)"')
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")


def untranslated_text(source: str) -> list[str]:
    """English words a reader would see: text between tags and in visible attributes, once template code and
    translated blocks are removed."""
    for pattern in _DROP:
        source = pattern.sub(" ", source)
    found = []
    for attr in _VISIBLE_ATTRS.findall(source):
        found += _WORD.findall(attr)
    for text in _TAG.sub("\n", source).splitlines():
        found += _WORD.findall(text.replace("&amp;", "&").replace("&nbsp;", " "))
    return [word for word in found if word not in ALLOWED_WORDS]


TEMPLATES = sorted(p for p in (ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_templates_have_no_text_outside_translation_tags(path):
    assert untranslated_text(path.read_text(encoding="utf-8")) == []


def test_the_scanner_catches_plain_text_and_attributes():
    assert untranslated_text("<p>Hello {% translate 'there' %}</p>") == ["Hello"]
    assert untranslated_text('<input placeholder="Search">') == ["Search"]
    assert untranslated_text("<p>{% blocktranslate %}Hi {{ name }}{% endblocktranslate %} · CSV</p>") == []
