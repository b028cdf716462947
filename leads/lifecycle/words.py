"""The lifecycle's refusals in the reader's language: `rules` is pure and says them in English, with the template
and its values attached, so they are translated here (the templates are in the catalogue through gettext_noop)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from leads.lifecycle import rules as life


def refusal_words(error: life.NotAllowed) -> str:
    values = {**error.values}
    if "state" in values:
        values["state"] = _(values["state"])
    return _(error.template).format(**values)


def reject_refusal_words(*, attempts: int, minimum: int) -> str | None:
    """`rules.reject_refusal` in the reader's language (None: the rep may reject)."""
    if life.reject_refusal(attempts=attempts, minimum=minimum) is None:
        return None
    values = {"minimum": minimum, "attempts": attempts, "missing": minimum - attempts}
    return (
        ngettext(
            "The agreement asks for at least %(minimum)s contact attempt before a lead is rejected; "
            "%(attempts)s logged so far. Log %(missing)s more before rejecting.",
            "The agreement asks for at least %(minimum)s contact attempts before a lead is rejected; "
            "%(attempts)s logged so far. Log %(missing)s more before rejecting.",
            minimum,
        )
        % values
    )
