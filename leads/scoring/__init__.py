"""Scoring: apply the active agreement's MQL criteria to leads and store the judgement (score, breakdown, tier,
state, SLA deadlines).

Which evaluator runs where: everything stored on a lead comes from one evaluator, `sla.criteria.evaluate`, on
every database and every path — ingest, CSV import, ageing, and an activation's bulk rescore (`leads_rescore_chunk`
over any queryset of leads with a given version: set-based reads, and on PostgreSQL a COPY + UPDATE ... FROM
write-back). `criteria_sql` stores nothing: it counts (the what-if preview of a draft over every open lead, on
both databases), and leads/tests/test_criteria_sql.py holds what it computes equal to the evaluator.

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
    "leads_rescore",
    "leads_rescore_chunk",
]
