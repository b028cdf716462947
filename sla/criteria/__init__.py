"""MQL and SQL criteria of an agreement ("mql" and "sql" in the agreement content). Pure Python: no Django.

- `schema`: the criteria's shape (operators, conditions, rules, gates, triggers, MqlCriteria) and validation;
- `operators`: how a condition matches a value, and how it is described in words;
- `engine`: `evaluate`, which judges a lead's facts against the MQL criteria at an instant, and `retain`, the
  part of a history that decides every later evaluation (incremental scoring);
- `checklist`: the SQL criteria (framework, checklist items) and `sql_check`.

Import the public names from here (`from sla.criteria import evaluate, MqlCriteria`).
"""

from sla.criteria.checklist import (
    FRAMEWORK_TEMPLATES,
    FRAMEWORKS,
    SqlCriteria,
    SqlItem,
    SqlResult,
    sql_check,
    sql_template,
)
from sla.criteria.engine import (
    Activity,
    Evaluation,
    Evidence,
    GateResult,
    RuleHit,
    TriggerHit,
    evaluate,
    may_trigger,
    retain,
)
from sla.criteria.operators import condition_holds, describe
from sla.criteria.schema import (
    ANY_ACTIVITY,
    EVIDENCE_LIMIT,
    FREE_MAIL_DOMAINS,
    ActivityMatch,
    Condition,
    CriteriaError,
    EngagementRule,
    FitRule,
    Gate,
    Inactivity,
    MqlCriteria,
    Op,
    Tier,
    Trigger,
    Where,
)

__all__ = [
    "EVIDENCE_LIMIT",
    "FRAMEWORKS",
    "FRAMEWORK_TEMPLATES",
    "FREE_MAIL_DOMAINS",
    "ANY_ACTIVITY",
    "Activity",
    "ActivityMatch",
    "Where",
    "Condition",
    "CriteriaError",
    "EngagementRule",
    "Evaluation",
    "Evidence",
    "FitRule",
    "Gate",
    "GateResult",
    "Inactivity",
    "MqlCriteria",
    "may_trigger",
    "retain",
    "Op",
    "RuleHit",
    "SqlCriteria",
    "SqlItem",
    "SqlResult",
    "Tier",
    "Trigger",
    "TriggerHit",
    "condition_holds",
    "describe",
    "evaluate",
    "sql_check",
    "sql_template",
]
