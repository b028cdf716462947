"""Scoring: apply the active agreement's MQL criteria to leads and store the judgement (score, breakdown, tier,
state, SLA deadlines). `rescore` is the row-by-row path through sla.criteria.evaluate; `criteria_sql` is the
same judgement as one SQL query over many leads.

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
