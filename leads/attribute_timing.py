"""When each attribute is known, against each lead's hand-off: an attribute most handed-over leads got only after
their hand-off (a CRM stage, a field sales fill in) describes the result, not the lead, so a rule on it is refused
in the agreement editor (the `sla.signals.agreement_fields_checking` receiver) and the review never proposes one.

Read from `Lead.attribute_seen_at` (noted by `leads.services.lead_facts_apply`) and each lead's first
`HandOver`. Leads without a noted time for a field (stored before times were noted) are not counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min
from django.utils.translation import gettext as _

from leads.models import HandOver, Lead

LATE_SHARE = 0.5  # more than half of the handed-over leads that have it got it after their hand-off ...
MIN_LEADS = 20  # ... among at least this many


@dataclass(frozen=True, slots=True)
class LateAttribute:
    name: str
    late: int  # handed-over leads that got it only after their first hand-off
    known: int  # handed-over leads that have it, with a noted time

    @property
    def share(self) -> float:
        return self.late / self.known

    def refusal(self) -> str:
        return _(
            "“%(name)s” is written after hand-off for %(share)s of handed-over leads (%(late)s of %(known)s): "
            "a rule on it would score the result, not the lead."
        ) % {"name": self.name, "share": f"{self.share:.0%}", "late": self.late, "known": self.known}


def late_attributes(names: Iterable[str] | None = None) -> dict[str, LateAttribute]:
    """The attributes (of `names`, or all) written after hand-off for most handed-over leads, by name."""
    wanted = None if names is None else set(names)
    if wanted is not None and not wanted:
        return {}
    handed = dict(
        HandOver.objects.values("lead_id").annotate(first=Min("at")).values_list("lead_id", "first")
    )
    late: Counter[str] = Counter()
    known: Counter[str] = Counter()
    rows = Lead.objects.filter(pk__in=HandOver.objects.values("lead_id")).values_list(
        "pk", "attribute_seen_at"
    )
    for pk, seen in rows.iterator(chunk_size=2000):
        for name, stamp in (seen or {}).items():
            if wanted is not None and name not in wanted:
                continue
            try:
                at = datetime.fromisoformat(stamp)
            except (TypeError, ValueError):
                continue
            known[name] += 1
            late[name] += at > handed[pk]
    return {
        name: LateAttribute(name, late[name], count)
        for name, count in known.items()
        if count >= MIN_LEADS and late[name] / count > LATE_SHARE
    }
