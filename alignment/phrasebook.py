"""English messages written by pure modules (or stored in the database) said again in the reader's language.

Pure modules (`sla.calendar`, `leads.intake.segment`, ...) import no Django and write English; data problems and
job failures are stored as that English text. A `Phrasebook` holds the templates those messages are made from
(marked for the catalogue with `gettext_noop`), recognises a message by its template and says it with
`gettext`, its values kept (a value that is itself a known message is said again too, or by the sayer given for
its placeholder: a clock's label, a duration). A text no template matches is shown as it is, so rows written
before a template existed stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from django.utils.translation import gettext

_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")


class Phrasebook:
    def __init__(
        self, templates: Iterable[str], *, sayers: Mapping[str, Callable[[str], str]] | None = None
    ) -> None:
        self._sayers = dict(sayers or {})
        self._patterns = [
            (template, re.compile(_PLACEHOLDER.sub(r"(?P<\1>.*?)", re.escape(template)), re.S))
            for template in templates
        ]

    def __iter__(self):
        return (template for template, _pattern in self._patterns)

    def knows(self, text: str) -> bool:
        return any(pattern.fullmatch(text) for _template, pattern in self._patterns)

    def say(self, text: str) -> str:
        """`text` in the active language when a template makes it; otherwise `text` unchanged."""
        for template, pattern in self._patterns:
            match = pattern.fullmatch(text)
            if match:
                values = {
                    name: self._sayers.get(name, self.say)(value) for name, value in match.groupdict().items()
                }
                return gettext(template) % values if values else gettext(template)
        return text
