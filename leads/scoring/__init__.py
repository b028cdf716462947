"""Scoring: apply the active agreement's MQL criteria to leads and store the judgement (score, breakdown, tier,
state, SLA deadlines).

One evaluator, `sla.criteria.evaluate`, on every database and every path: ingest, CSV import, ageing and an
activation's bulk rescore (`leads_rescore_chunk` over any queryset of leads with a given version: set-based reads,
and on PostgreSQL a COPY + UPDATE ... FROM write-back) store what it says; the what-if (feedback.whatif) asks
`judge` the same question about a draft without storing anything, on the same reads (`facts_for`).

Public interface: the names below.
"""

from leads.rules import Rules, active_rules
from leads.scoring.rescore import (
    DEADLINE_FIELDS,
    SCORE_FIELDS,
    RescoreChunk,
    RescoreResult,
    attributes_of,
    facts_for,
    judge,
    leads_rescore,
    leads_rescore_chunk,
)

__all__ = [
    "DEADLINE_FIELDS",
    "SCORE_FIELDS",
    "RescoreChunk",
    "RescoreResult",
    "Rules",
    "active_rules",
    "attributes_of",
    "facts_for",
    "judge",
    "leads_rescore",
    "leads_rescore_chunk",
]
