"""The lifecycle's refusals in the reader's language: `rules` is pure and says them in English, with the template
and its values attached, so they are translated here (the templates are in the catalogue through gettext_noop)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from leads.lifecycle import rules as life


def refusal_words(error: life.NotAllowed) -> str:
    values = {**error.values}
    if "state" in values:
        values["state"] = _(values["state"])
    return _(error.template).format(**values)
