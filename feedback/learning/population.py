"""Every lead whose result is known, labelled with where the result came from.

Learning only from hand-overs conditions every figure on the old score (a rule's lift among MQLs is not its lift
among leads), so the population is every lead with a known result: a closed hand-over (won = 1; rejected, lost or
disqualified = 0), else an outcome imported with the lead (a converted / won column read as `outcome_converted`
or `outcome_won`) or from a CRM opportunity export (feedback.opportunities). Each lead keeps its label so every figure can say which population it is about.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from feedback.models import Cycle
from leads.models import Lead
from leads.normalise import LEAD_FIELDS, lead_attributes
from leads.scoring.rescore import attributes_of, facts_for
from sla.criteria import Activity as Fact

# Labels said next to every figure; marked for translation, translated where they are shown.
HANDED_OVER = gettext_noop("handed over, won")
REJECTED = gettext_noop("handed over, not won")
IMPORTED = gettext_noop("outcome imported, not closed by sales")
IMPORTED_CRM = gettext_noop("CRM opportunity imported, not closed by sales")
CRM_SOURCE = "crm opportunity export"  # feedback.opportunities writes it as `outcome_source`
IMPORTED_OUTCOME_FIELDS = ("outcome_converted", "outcome_won")
_TRUE = {"1", "1.0", "true", "yes", "won", "converted", "y"}
_FALSE = {"0", "0.0", "false", "no", "lost", "not converted", "n"}


@dataclass
class Population:
    lead_ids: np.ndarray
    attributes: list[dict[str, Any]]
    activities: list[list[Fact]]
    won: np.ndarray  # 1.0 won / converted, 0.0 not
    labels: list[str]

    _columns: dict[str, tuple[np.ndarray, list[Any]]] = field(default_factory=dict, repr=False)

    def column(self, name: str) -> tuple[np.ndarray, list[Any]]:
        """One attribute over the population as (codes, distinct raw values): conditions are judged once per
        distinct value, not once per lead."""
        if name not in self._columns:
            index: dict[str, int] = {}
            values: list[Any] = []
            codes = np.empty(len(self), dtype=np.int64)
            for i, attributes in enumerate(self.attributes):
                raw = attributes.get(name)
                key = json.dumps(raw, sort_keys=True, default=str)
                if key not in index:
                    index[key] = len(values)
                    values.append(raw)
                codes[i] = index[key]
            self._columns[name] = (codes, values)
        return self._columns[name]

    def __len__(self) -> int:
        return len(self.lead_ids)

    def subset(self, mask: np.ndarray) -> Population:
        keep = np.flatnonzero(mask)
        return Population(
            lead_ids=self.lead_ids[keep], attributes=[self.attributes[i] for i in keep],
            activities=[self.activities[i] for i in keep], won=self.won[keep], labels=[self.labels[i] for i in keep],
        )  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """How many leads, how many won, and where their results came from: shown next to every figure."""
        return {
            "leads": len(self), "won": int(self.won.sum()),
            "conversion": float(self.won.mean()) if len(self) else None,
            "by_source": dict(sorted(Counter(self.labels).items())),
            "text": (_("%(leads)s leads with a known result, %(won)s converted") % {"leads": len(self),
                     "won": int(self.won.sum())} + " — "
                     + ", ".join(f"{n} {_(label)}" for label, n in sorted(Counter(self.labels).items()))),
        }  # fmt: skip


def imported_outcome(attributes: dict[str, Any]) -> float | None:
    """The result an import recorded on the lead: a CRM opportunity export first, then a converted / won
    column that came with the lead."""
    names = ("outcome_won", *IMPORTED_OUTCOME_FIELDS) if _from_crm(attributes) else IMPORTED_OUTCOME_FIELDS
    for name in names:
        raw = attributes.get(name)
        if raw is None or raw == "":
            continue
        text = str(raw).strip().casefold()
        if text in _TRUE:
            return 1.0
        if text in _FALSE:
            return 0.0
    return None


def _from_crm(attributes: dict[str, Any]) -> bool:
    return attributes.get("outcome_source") == CRM_SOURCE and attributes.get("outcome_won") not in (None, "")


def population_of(outcomes: dict[int, float], label: str) -> Population:
    """Leads whose results are known outside the product (e.g. a held-out part of a file), in lead id order."""
    ids = sorted(outcomes)
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=ids)}
    facts = facts_for(ids)
    return Population(
        lead_ids=np.array(ids, dtype=np.int64), attributes=[attributes_of(leads[pk]) for pk in ids],
        activities=[facts.get(pk, []) for pk in ids], won=np.array([outcomes[pk] for pk in ids], dtype=float),
        labels=[label] * len(ids),
    )  # fmt: skip


def known_results(lead_ids: Iterable[int] | None = None) -> Population:
    """The population, in lead id order. The latest closed hand-over decides; a lead never closed by sales counts
    when an imported column says how it ended."""
    leads = Lead.objects.order_by("pk")
    if lead_ids is not None:
        leads = leads.filter(pk__in=lead_ids if isinstance(lead_ids, QuerySet) else list(lead_ids))
    closed: dict[int, str] = dict(
        Cycle.objects.filter(closed_at__isnull=False, lead__in=leads)
        .order_by("lead_id", "closed_at", "id")
        .values_list("lead_id", "outcome")
    )  # later rows overwrite earlier ones: the latest closed cycle wins
    rows: list[tuple[int, dict[str, Any], float, str]] = []
    # only the columns criteria read (a whole Lead also decodes its stored breakdown and a dozen timestamps)
    values = leads.values_list("pk", "attributes", *LEAD_FIELDS)
    for pk, custom, *fields in values.iterator(chunk_size=2000):
        attributes = lead_attributes(dict(zip(LEAD_FIELDS, fields, strict=True)), custom or {})
        if pk in closed:
            won = 1.0 if closed[pk] == Cycle.Outcome.WON else 0.0
            rows.append((pk, attributes, won, HANDED_OVER if won else REJECTED))
            continue
        outcome = imported_outcome(attributes)
        if outcome is not None:
            rows.append((pk, attributes, outcome, IMPORTED_CRM if _from_crm(attributes) else IMPORTED))
    ids = [row[0] for row in rows]
    facts = facts_for(ids)
    return Population(
        lead_ids=np.array(ids, dtype=np.int64), attributes=[row[1] for row in rows],
        activities=[facts.get(pk, []) for pk in ids], won=np.array([row[2] for row in rows], dtype=float),
        labels=[row[3] for row in rows],
    )  # fmt: skip
