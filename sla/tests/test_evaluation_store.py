"""A lead's stored breakdown reads back as the evaluation that was stored (`Evaluation.from_dict`)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given

from sla.criteria import Activity, Evaluation, MqlCriteria, Tier, evaluate
from sla.tests.test_criteria import NOW, PROPERTY_SETTINGS, activity_lists, attribute_dicts, mql_dicts


@PROPERTY_SETTINGS
@given(data=mql_dicts(), attributes=attribute_dicts, activities=activity_lists())
def test_a_stored_evaluation_reads_back_equal(
    data: dict[str, Any], attributes: dict[str, Any], activities: list[Activity]
) -> None:
    # given an evaluation stored as JSON (as Lead.breakdown is)
    result = evaluate(MqlCriteria.from_dict(data), attributes, activities, NOW)
    stored = json.loads(json.dumps(result.to_dict()))
    # when it is read back, then it is the same evaluation
    assert Evaluation.from_dict(stored) == result


def test_an_empty_or_old_breakdown_reads_as_nothing_scored():
    assert Evaluation.from_dict({}).breakdown == ()
    assert Evaluation.from_dict(None).tier == Tier.NONE
    # a breakdown written by hand, missing most keys, still reads (the trigger's reason is kept)
    old = Evaluation.from_dict({"triggers": [{"reason": "requested a demo"}], "tier": "gold"})
    assert [hit.reason for hit in old.triggers] == ["requested a demo"]
    assert old.triggers[0].occurred_at is None and old.tier == Tier.NONE
