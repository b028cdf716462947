"""Form widgets whose markup is remembered: a page's filter menus come out the same request after request.

Django renders a <select> through one template per option; the queue's filters (five menus, a few dozen options)
cost more than its table's SQL. `RememberedSelect` keeps the markup of each (name, value, attributes, options,
language) it has rendered, so a repeat is a dictionary look-up. Nothing else changes: the options are still read
each request (a new rep or source shows at once), only their rendering is skipped.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language

LIMIT = 512  # remembered menus per process; forgotten all at once when full (they are cheap to render again)
_rendered: dict[tuple[Any, ...], str] = {}


class RememberedSelect(forms.Select):
    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        # a model's options are one query, read once here (list() of the iterator itself would COUNT them first)
        self.choices = list(iter(self.choices))
        options = tuple((str(key), str(label)) for key, label in self.choices)
        key = (
            type(self),
            name,
            repr(value),
            tuple(sorted((attrs or {}).items())),
            tuple(sorted(self.attrs.items())),
            options,
            get_language(),
        )
        html = _rendered.get(key)
        if html is None:
            if len(_rendered) >= LIMIT:
                _rendered.clear()
            html = _rendered[key] = super().render(name, value, attrs, renderer)
        return html
