import copy
import json
import pickle
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sla.criteria import (
    FRAMEWORK_TEMPLATES,
    FREE_MAIL_DOMAINS,
    Activity,
    ActivityMatch,
    Condition,
    CriteriaError,
    Evaluation,
    Evidence,
    MqlCriteria,
    Op,
    SqlCriteria,
    Tier,
    condition_holds,
    describe,
    evaluate,
    retain,
    sql_check,
    sql_template,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DOC = Path(__file__).resolve().parents[2] / "docs" / "agreement-content.md"


def doc_content() -> dict[str, Any]:
    return json.loads(re.search(r"```json\n(.*?)```", DOC.read_text(), re.S).group(1))


def ago(days: float = 0, *, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def act(type_: str, when: datetime, id_: int | str | None = None, **properties: Any) -> Activity:
    return Activity(id=id_, type=type_, occurred_at=when, properties=properties)


def fit(rule_id: str, points: int, field: str, op: str, value: Any = None, name: str = "") -> dict[str, Any]:
    condition = {"field": field, "op": op, "value": value}
    return {"id": rule_id, "name": name or rule_id, "points": points, "condition": condition}


def engagement(
    rule_id: str,
    points: int,
    activity: str,
    *,
    where: dict[str, Any] | None = None,
    max_count: int | None = None,
    window_days: int | None = None,
    min_count: int = 1,
    name: str = "",
) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": name or rule_id,
        "points": points,
        "activity": activity,
        "where": where,
        "max_count": max_count,
        "window_days": window_days,
        "min_count": min_count,
    }


def gate(gate_id: str, field: str, op: str, value: Any = None, name: str = "") -> dict[str, Any]:
    return {"id": gate_id, "name": name or gate_id, "condition": {"field": field, "op": op, "value": value}}


def trigger(trigger_id: str, activity: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "id": trigger_id,
        "name": trigger_id,
        "activity": activity,
        "where": None,
        "attribute": None,
        "requires_gates": False,
        "min_silence_days": None,
        "within_days": 7,
        "reason": "",
    }
    return {**data, **overrides}


def criteria(**sections: Any) -> MqlCriteria:
    data = {
        "threshold": 50,
        "fit_rules": [],
        "engagement_rules": [],
        "inactivity": None,
        "gates": [],
        "triggers": [],
    }
    return MqlCriteria.from_dict({**data, **sections})


PRICING = {"property": "path", "op": "starts_with", "value": "/pricing"}


# ---------------------------------------------------------------------------------------------------------
# Operators


@pytest.mark.parametrize(
    ("op", "value", "attribute", "expected"),
    [
        ("equals", "gb", " GB ", True),
        ("equals", "gb", "FR", False),
        ("equals", 100, "100", True),
        ("equals", 100, 100.0, True),
        ("equals", 100, "abc", False),
        ("equals", "100", 100, True),
        ("equals", True, "TRUE", True),
        ("equals", True, True, True),
        ("equals", True, 1, False),
        ("not_equals", "gb", "FR", True),
        ("not_equals", "gb", " Gb", False),
        ("one_of", ["director", "vp"], " VP ", True),
        ("one_of", ["director", "vp"], "manager", False),
        ("one_of", [10, 20], "20", True),
        ("one_of", [10, 20], 20.0, True),
        ("contains", "Marketing", "Head of MARKETING", True),
        ("contains", "marketing", "Head of Sales", False),
        ("starts_with", "/pricing", " /Pricing/enterprise", True),
        ("starts_with", "/pricing", "/blog/pricing", False),
        ("gte", 100, 100, True),
        ("gte", 100, "99", False),
        ("gte", 100, "1,200", True),
        ("gte", 100, " 150 ", True),
        ("gte", 100, "51-200", False),
        ("gte", 100, "many", False),
        ("gte", 100, True, False),
        ("gte", 100, float("nan"), False),
        ("lte", 50, 50, True),
        ("lte", 50, 50.5, False),
        ("lte", 50, "", False),
        ("between", [100, 500], 100, True),
        ("between", [100, 500], 500, True),
        ("between", [100, 500], 501, False),
        ("between", [100, 500], "99.9", False),
        ("between", [100, 500], [200], False),
        ("is_empty", None, "   ", True),
        ("is_empty", None, [], True),
        ("is_empty", None, "x", False),
        ("is_empty", None, 0, False),
        ("is_not_empty", None, "x", True),
        ("is_not_empty", None, "  ", False),
        ("free_mail", None, " Jo@GMail.com ", True),
        ("free_mail", None, "jo@hotmail.co.uk", True),
        ("free_mail", None, "jo@acme.com", False),
        ("free_mail", None, "gmail.com", True),
        ("free_mail", None, "jo@mail.gmail.com", False),
    ],
)
def test_operator(op: str, value: Any, attribute: Any, expected: bool) -> None:
    # given
    condition = Condition.from_dict({"field": "x", "op": op, "value": value})

    # when
    holds = condition_holds(condition, {"x": attribute})

    # then
    assert holds is expected


VALID_VALUES = {
    "equals": "x",
    "not_equals": "x",
    "one_of": ["x"],
    "contains": "x",
    "starts_with": "x",
    "gte": 1,
    "lte": 1,
    "between": [1, 2],
    "is_empty": None,
    "is_not_empty": None,
    "free_mail": None,
}


@pytest.mark.parametrize("op", list(Op))
@pytest.mark.parametrize("attributes", [{}, {"x": None}])
def test_missing_attribute_only_matches_is_empty(op: Op, attributes: dict[str, Any]) -> None:
    # given
    condition = Condition(field="x", op=op, value=VALID_VALUES[op])

    # when
    holds = condition_holds(condition, attributes)

    # then
    assert holds is (op is Op.IS_EMPTY)


def test_every_operator_has_a_valid_value_case() -> None:
    assert set(VALID_VALUES) == {op.value for op in Op}


ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@given(op=st.sampled_from(list(Op)), raw=ANY_VALUE)
def test_conditions_never_raise_whatever_the_attribute(op: Op, raw: Any) -> None:
    # given
    condition = Condition(field="x", op=op, value=VALID_VALUES[op])

    # when
    holds = condition_holds(condition, {"x": raw})

    # then
    assert isinstance(holds, bool)


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (Condition("employees", Op.GTE, 100), "employees ≥ 100"),
        (Condition("employees", Op.LTE, 99.5), "employees ≤ 99.5"),
        (Condition("seniority", Op.ONE_OF, ["director", "vp"]), "seniority is one of director, vp"),
        (Condition("email", Op.FREE_MAIL), "email is a free-mail address"),
        (Condition("country", Op.EQUALS, "GB"), "country is GB"),
        (Condition("country", Op.NOT_EQUALS, "GB"), "country is not GB"),
        (Condition("job_title", Op.CONTAINS, "market"), "job_title contains market"),
        (Condition("employees", Op.BETWEEN, [100, 500.0]), "employees is between 100 and 500"),
        (Condition("phone", Op.IS_EMPTY), "phone is empty"),
        (Condition("phone", Op.IS_NOT_EMPTY), "phone is not empty"),
        (ActivityMatch("path", Op.STARTS_WITH, "/pricing"), "path starts with /pricing"),
    ],
)
def test_describe(condition: Condition | ActivityMatch, text: str) -> None:
    assert describe(condition) == text


def test_free_mail_domains_cover_the_big_providers() -> None:
    assert {
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "icloud.com",
        "aol.com",
    } <= FREE_MAIL_DOMAINS
    assert len(FREE_MAIL_DOMAINS) >= 40
    assert all(domain == domain.lower().strip() for domain in FREE_MAIL_DOMAINS)


# ---------------------------------------------------------------------------------------------------------
# Parsing and validation


def test_doc_example_round_trips_exactly() -> None:
    # given
    content = doc_content()

    # when
    mql = MqlCriteria.from_dict(content["mql"])
    sql = SqlCriteria.from_dict(content["sql"])

    # then
    assert mql.to_dict() == content["mql"]
    assert sql.to_dict() == content["sql"]
    assert MqlCriteria.from_dict(mql.to_dict()) == mql
    assert SqlCriteria.from_dict(sql.to_dict()) == sql


def test_to_dict_is_plain_json() -> None:
    # given
    mql = MqlCriteria.from_dict(doc_content()["mql"])

    # when
    text = json.dumps(mql.to_dict())

    # then
    assert json.loads(text) == doc_content()["mql"]
    assert '"op": "one_of"' in text


def test_optional_keys_take_their_defaults() -> None:
    # given
    data = {
        "threshold": 10.0,
        "engagement_rules": [{"id": "e1", "name": "Webinar", "points": 10, "activity": "webinar"}],
        "triggers": [{"id": "t1", "name": "Demo", "activity": "demo_request"}],
    }

    # when
    mql = MqlCriteria.from_dict(data)

    # then
    assert mql.threshold == 10 and isinstance(mql.threshold, int)
    rule = mql.engagement_rules[0]
    assert (rule.where, rule.max_count, rule.window_days, rule.min_count) == (None, None, None, 1)
    assert mql.triggers[0].requires_gates is False
    assert mql.triggers[0].reason == ""
    assert mql.fit_rules == () and mql.gates == () and mql.inactivity is None


def test_unused_values_are_stored_as_null() -> None:
    # given
    data = {"field": "email", "op": "free_mail", "value": "whatever"}

    # when
    condition = Condition.from_dict(data)

    # then
    assert condition.value is None
    assert condition.to_dict() == {"field": "email", "op": "free_mail", "value": None}


def mql_doc() -> dict[str, Any]:
    return {
        "threshold": 50,
        "fit_rules": [
            fit("f1", 20, "seniority", "one_of", ["vp"]),
            fit("f2", 10, "employees", "gte", 100),
            fit("f3", -20, "email", "free_mail"),
        ],
        "engagement_rules": [engagement("e1", 15, "page", where=dict(PRICING), max_count=2, window_days=30)],
        "inactivity": {"days": 90, "points": -20},
        "gates": [gate("g1", "employees", "gte", 100)],
        "triggers": [trigger("t1", "demo_request")],
    }


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = re.findall(r"[^.\[\]]+", path)
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("fit_rules.2.points", "x", "mql.fit_rules[2].points: must be a whole number"),
        ("fit_rules.2.points", 1.5, "mql.fit_rules[2].points: must be a whole number"),
        ("fit_rules.0.points", True, "mql.fit_rules[0].points: must be a whole number"),
        ("threshold", "50", "mql.threshold: must be a whole number"),
        ("threshold", DELETE, "mql.threshold: is required"),
        ("fit_rules", {}, "mql.fit_rules: must be a list"),
        ("fit_rules.0", "f1", "mql.fit_rules[0]: must be an object"),
        ("fit_rules.0.name", " ", "mql.fit_rules[0].name: must be a non-empty string"),
        ("fit_rules.0.id", 7, "mql.fit_rules[0].id: must be a non-empty string"),
        ("fit_rules.0.condition", DELETE, "mql.fit_rules[0].condition: is required"),
        ("fit_rules.0.condition.field", DELETE, "mql.fit_rules[0].condition.field: is required"),
        ("fit_rules.0.condition.value", [], "mql.fit_rules[0].condition.value: must be a non-empty list"),
        ("fit_rules.0.condition.value", "vp", "mql.fit_rules[0].condition.value: must be a non-empty list"),
        ("fit_rules.0.condition.value", ["vp", None], "mql.fit_rules[0].condition.value[1]: "
         "must be text, a number or true/false"),
        ("fit_rules.1.condition.value", "100", "mql.fit_rules[1].condition.value: must be a number"),
        ("fit_rules.1.condition.value", float("inf"), "mql.fit_rules[1].condition.value: must be a number"),
        ("gates.0.condition.op", "between",
         "mql.gates[0].condition.value: must be a [low, high] pair of numbers"),
        ("gates.0.condition.value", [500, 100], None),
        ("engagement_rules.0.where.value", "", "mql.engagement_rules[0].where.value: must be non-empty text"),
        ("engagement_rules.0.window_days", 0,
         "mql.engagement_rules[0].window_days: must be a positive whole number or null"),
        ("engagement_rules.0.max_count", -1,
         "mql.engagement_rules[0].max_count: must be a positive whole number or null"),
        ("engagement_rules.0.min_count", 0,
         "mql.engagement_rules[0].min_count: must be a positive whole number"),
        ("engagement_rules.0.min_count", None,
         "mql.engagement_rules[0].min_count: must be a positive whole number"),
        ("engagement_rules.0.activity", "", "mql.engagement_rules[0].activity: must be a non-empty string"),
        ("inactivity.points", 5, "mql.inactivity.points: must be zero or negative (it is a penalty)"),
        ("inactivity.days", 0, "mql.inactivity.days: must be a positive whole number"),
        ("triggers.0.requires_gates", "yes", "mql.triggers[0].requires_gates: must be true or false"),
        ("triggers.0.within_days", 0, "mql.triggers[0].within_days: must be a positive whole number or null"),
        ("triggers.0.min_silence_days", 2.5,
         "mql.triggers[0].min_silence_days: must be a positive whole number or null"),
        ("triggers.0.reason", 3, "mql.triggers[0].reason: must be a string"),
        ("triggers.0.attribute", {"op": "equals", "value": "x"},
         "mql.triggers[0].attribute.field: is required"),
        ("triggers.0.where", {"property": "path", "op": "like", "value": "/x"}, None),
    ],
)  # fmt: skip
def test_invalid_mql_is_rejected_with_path_and_message(path: str, value: Any, message: str | None) -> None:
    # given
    data = mql_doc()
    set_path(data, path, value)

    # when
    with pytest.raises(CriteriaError) as caught:
        MqlCriteria.from_dict(data)

    # then
    if message is not None:
        assert str(caught.value) == message
    assert str(caught.value).startswith(caught.value.path + ": ")


def test_between_with_low_above_high_names_both() -> None:
    # given
    data = mql_doc()
    data["gates"][0]["condition"] = {"field": "employees", "op": "between", "value": [500, 100]}

    # when
    with pytest.raises(CriteriaError) as caught:
        MqlCriteria.from_dict(data)

    # then
    assert str(caught.value) == "mql.gates[0].condition.value: low (500) must not be greater than high (100)"


def test_unknown_operator_lists_the_known_ones() -> None:
    # given
    data = mql_doc()
    data["triggers"][0]["where"] = {"property": "path", "op": "like", "value": "/x"}

    # when
    with pytest.raises(CriteriaError) as caught:
        MqlCriteria.from_dict(data)

    # then
    assert caught.value.path == "mql.triggers[0].where.op"
    assert caught.value.message.startswith(
        'unknown operator "like" (expected one of equals, not_equals, one_of'
    )


def test_unknown_key_is_rejected() -> None:
    # given
    data = mql_doc()
    data["fit_rules"][0]["pionts"] = 5

    # when
    with pytest.raises(CriteriaError) as caught:
        MqlCriteria.from_dict(data)

    # then
    assert (
        str(caught.value)
        == "mql.fit_rules[0].pionts: unknown key (expected one of id, name, points, condition)"
    )


def test_rule_ids_are_unique_across_the_whole_document() -> None:
    # given
    data = mql_doc()
    data["gates"][0]["id"] = "f1"

    # when
    with pytest.raises(CriteriaError) as caught:
        MqlCriteria.from_dict(data)

    # then
    assert str(caught.value) == 'mql.gates[0].id: duplicate id "f1" (already used by mql.fit_rules[0])'


def test_criteria_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^mql: must be an object$"):
        MqlCriteria.from_dict([])


def test_conditions_built_in_code_are_checked_too() -> None:
    with pytest.raises(CriteriaError, match="must be a non-empty list"):
        Condition("seniority", Op.ONE_OF, [])
    with pytest.raises(CriteriaError, match="unknown operator"):
        Condition("seniority", "similar_to", "x")  # type: ignore[arg-type]


def sql_doc() -> dict[str, Any]:
    return {
        "framework": "bant",
        "items": [
            {"key": "need", "label": "Need", "required": True},
            {"key": "authority", "label": "Authority", "required": True},
            {"key": "budget", "label": "Budget", "required": False},
            {"key": "timeframe", "label": "Timeframe", "required": False},
        ],
        "min_met": 3,
    }


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("framework", "meddic", "sql.framework: must be one of bant, champ, anum, custom"),
        ("items.1.key", "need", 'sql.items[1].key: duplicate key "need"'),
        ("items.1.label", "", "sql.items[1].label: must be a non-empty string"),
        ("items.1.required", "no", "sql.items[1].required: must be true or false"),
        ("items", [], "sql.items: must list at least one item"),
        ("min_met", 1, "sql.min_met: must be between 2 (the required items) and 4 (all items)"),
        ("min_met", 5, "sql.min_met: must be between 2 (the required items) and 4 (all items)"),
        ("min_met", "3", "sql.min_met: must be a whole number"),
        ("min_met", DELETE, "sql.min_met: is required"),
    ],
)
def test_invalid_sql_is_rejected_with_path_and_message(path: str, value: Any, message: str) -> None:
    # given
    data = sql_doc()
    set_path(data, path, value)

    # when
    with pytest.raises(CriteriaError) as caught:
        SqlCriteria.from_dict(data)

    # then
    assert str(caught.value) == message


def test_criteria_pickle_and_deepcopy_keep_working() -> None:
    # given
    mql = MqlCriteria.from_dict(mql_doc())
    activities = [act("page", ago(1), 1, path="/pricing"), act("demo_request", ago(2), 2)]
    attributes = {"seniority": "vp", "employees": 500}

    # when
    copies = [pickle.loads(pickle.dumps(mql)), copy.deepcopy(mql)]

    # then
    for other in copies:
        assert other == mql
        assert evaluate(other, attributes, activities, NOW) == evaluate(mql, attributes, activities, NOW)


# ---------------------------------------------------------------------------------------------------------
# Fit and gates


def test_fit_points_add_up_and_can_be_negative() -> None:
    # given
    mql = criteria(
        fit_rules=[
            fit("f1", 20, "seniority", "one_of", ["director", "vp"], name="Decision maker"),
            fit("f2", -20, "email", "free_mail", name="Free mail"),
            fit("f3", 10, "employees", "gte", 100),
        ]
    )

    # when
    result = evaluate(mql, {"seniority": "Director", "email": "a@gmail.com", "employees": 40}, [], NOW)

    # then
    assert (result.fit, result.engagement, result.total) == (0, 0, 0)
    assert [(hit.rule_id, hit.kind, hit.name, hit.points) for hit in result.breakdown] == [
        ("f1", "fit", "Decision maker", 20),
        ("f2", "fit", "Free mail", -20),
    ]


def test_negative_total() -> None:
    # given
    mql = criteria(
        fit_rules=[fit("f1", -20, "email", "free_mail")],
        engagement_rules=[engagement("careers", -50, "page", where={"property": "path", "op": "contains",
                                                                      "value": "careers"})],
    )  # fmt: skip

    # when
    result = evaluate(mql, {"email": "x@yahoo.com"}, [act("page", ago(3), 1, path="/careers/open")], NOW)

    # then
    assert (result.fit, result.engagement, result.total) == (-20, -50, -70)
    assert not result.is_mql and result.tier is Tier.NONE


def test_failed_gates_say_what_failed_and_the_lead_value() -> None:
    # given
    mql = criteria(
        gates=[
            gate("g1", "employees", "gte", 100, name="Company of 100+"),
            gate("g2", "country", "one_of", ["GB", "DE"], name="Core market"),
            gate("g3", "company", "is_not_empty", name="Has company"),
        ]
    )

    # when
    result = evaluate(mql, {"employees": 40, "country": "GB", "company": "  "}, [], NOW)

    # then
    assert result.gates_passed is False
    assert [(g.gate_id, g.name, g.text) for g in result.failed_gates] == [
        ("g1", "Company of 100+", "employees ≥ 100 (is 40)"),
        ("g3", "Has company", "company is not empty (is empty)"),
    ]


def test_failed_gate_on_missing_attribute() -> None:
    # given
    mql = criteria(gates=[gate("g1", "employees", "gte", 100)])

    # when
    result = evaluate(mql, {}, [], NOW)

    # then
    assert result.failed_gates[0].text == "employees ≥ 100 (is missing)"
    assert result.failed_gates[0].to_dict()["text"] == "employees ≥ 100 (is missing)"


def test_failing_a_gate_blocks_mql_whatever_the_score_or_trigger() -> None:
    # given
    mql = criteria(
        threshold=10,
        fit_rules=[fit("f1", 50, "seniority", "equals", "vp")],
        gates=[gate("g1", "employees", "gte", 100)],
        triggers=[trigger("t1", "demo_request", requires_gates=False, reason="requested a demo")],
    )

    # when
    result = evaluate(mql, {"seniority": "vp", "employees": 10}, [act("demo_request", ago(1), 1)], NOW)

    # then
    assert result.total == 50
    assert [hit.trigger_id for hit in result.triggers] == ["t1"]
    assert (result.is_mql, result.tier) == (False, Tier.NONE)


def test_no_gates_means_gates_pass() -> None:
    result = evaluate(criteria(threshold=0), {}, [], NOW)

    assert result.gates_passed and result.failed_gates == ()
    assert (result.is_mql, result.tier) == (True, Tier.WARM)


# ---------------------------------------------------------------------------------------------------------
# Engagement


def test_each_rule_scores_every_match_up_to_max_count_most_recent_first() -> None:
    # given
    mql = criteria(
        engagement_rules=[
            engagement("e1", 15, "page", where=PRICING, max_count=2, window_days=30, name="Pricing")
        ]
    )
    activities = [
        act("page", ago(3), 3, path="/pricing/enterprise"),
        act("page", ago(1), 1, path="/pricing"),
        act("page", ago(2), 2, path="/Pricing"),
        act("page", ago(1), 4, path="/blog"),
    ]

    # when
    result = evaluate(mql, {}, activities, NOW)

    # then
    (hit,) = result.breakdown
    assert (hit.rule_id, hit.kind, hit.name, hit.points, hit.count) == ("e1", "engagement", "Pricing", 30, 2)
    assert hit.evidence == (
        Evidence(1, "page", ago(1), "/pricing"),
        Evidence(2, "page", ago(2), "/Pricing"),
    )
    assert result.aged_out == ()


def test_no_cap_counts_every_match() -> None:
    # given
    mql = criteria(engagement_rules=[engagement("e1", 1, "email_open")])
    activities = [act("email_open", ago(days)) for days in range(12)]

    # when
    result = evaluate(mql, {}, activities, NOW)

    # then
    assert result.engagement == 12
    assert result.breakdown[0].count == 12
    assert len(result.breakdown[0].evidence) == 5  # quoted evidence is capped, the count is not


def test_frequency_rule_scores_once_when_reached() -> None:
    # given
    mql = criteria(engagement_rules=[engagement("e1", 10, "page", min_count=3, window_days=7, max_count=1)])
    two = [act("page", ago(1), 1), act("page", ago(2), 2)]
    three = [*two, act("page", ago(6), 3)]
    four = [*three, act("page", ago(6, hours=1), 4)]

    # when
    results = [evaluate(mql, {}, activities, NOW) for activities in (two, three, four)]

    # then
    assert [result.engagement for result in results] == [0, 10, 10]
    assert results[0].breakdown == ()
    assert [(hit.points, hit.count) for hit in results[2].breakdown] == [(10, 4)]


def test_frequency_rule_only_counts_activity_in_the_window() -> None:
    # given
    mql = criteria(engagement_rules=[engagement("e1", 10, "page", min_count=3, window_days=7)])
    activities = [act("page", ago(1), 1), act("page", ago(2), 2), act("page", ago(8), 3)]

    # when
    result = evaluate(mql, {}, activities, NOW)

    # then
    assert result.engagement == 0
    (aged,) = result.aged_out
    assert (aged.rule_id, aged.count, aged.points) == ("e1", 1, 10)
    assert result.next_change_at == ago(2) + timedelta(days=7)


def test_activity_exactly_window_days_old_no_longer_counts() -> None:
    # given
    mql = criteria(engagement_rules=[engagement("e1", 15, "page", window_days=30)])
    boundary = [act("page", ago(30), 1)]
    just_inside = [act("page", ago(30) + timedelta(microseconds=1), 1)]

    # when
    at_boundary = evaluate(mql, {}, boundary, NOW)
    inside = evaluate(mql, {}, just_inside, NOW)

    # then
    assert at_boundary.engagement == 0
    assert [(hit.rule_id, hit.count, hit.points) for hit in at_boundary.aged_out] == [("e1", 1, 15)]
    assert inside.engagement == 15
    assert inside.next_change_at == NOW + timedelta(microseconds=1)


def test_aged_out_reports_what_ageing_costs() -> None:
    # given
    mql = criteria(
        engagement_rules=[
            engagement("e1", 15, "page", where=PRICING, max_count=2, window_days=30, name="Pricing")
        ]
    )
    activities = [
        act("page", ago(5), 1, path="/pricing"),
        act("page", ago(40), 2, path="/pricing"),
        act("page", ago(50), 3, path="/pricing"),
    ]

    # when
    result = evaluate(mql, {}, activities, NOW)

    # then
    assert result.engagement == 15
    (aged,) = result.aged_out
    assert (aged.name, aged.count, aged.points) == ("Pricing", 2, 15)  # capped at 2: one more would count
    assert [evidence.activity_id for evidence in aged.evidence] == [2, 3]
    assert aged.evidence[0].detail == "/pricing"


def test_aged_out_costs_nothing_when_the_cap_is_reached_anyway() -> None:
    # given
    mql = criteria(engagement_rules=[engagement("e1", 15, "page", max_count=1, window_days=30)])
    activities = [act("page", ago(5), 1), act("page", ago(40), 2)]

    # when
    result = evaluate(mql, {}, activities, NOW)

    # then
    assert result.engagement == 15
    assert [(hit.count, hit.points) for hit in result.aged_out] == [(1, 0)]


def test_rule_without_window_never_ages() -> None:
    # given
    mql = criteria(engagement_rules=[engagement("e1", -50, "page", where={"property": "path", "op": "equals",
                                                                          "value": "/careers"})])  # fmt: skip

    # when
    result = evaluate(mql, {}, [act("page", ago(3000), 1, path="/careers")], NOW)

    # then
    assert result.engagement == -50
    assert result.aged_out == ()
    assert result.next_change_at is None


def test_activity_types_match_case_insensitively_and_star_matches_any() -> None:
    # given
    mql = criteria(engagement_rules=[engagement("e1", 5, "Webinar"), engagement("e2", 1, "*")])
    activities = [act("webinar ", ago(1), 1), act("WEBINAR", ago(2), 2), act("email_open", ago(3), 3)]

    # when
    result = evaluate(mql, {}, activities, NOW)

    # then
    assert [(hit.rule_id, hit.points) for hit in result.breakdown] == [("e1", 10), ("e2", 3)]


def test_where_on_a_missing_property_does_not_match() -> None:
    # given
    mql = criteria(engagement_rules=[engagement("e1", 15, "page", where=PRICING)])

    # when
    result = evaluate(mql, {}, [act("page", ago(1), 1), act("page", ago(1), 2, url="/pricing")], NOW)

    # then
    assert result.engagement == 0


def test_where_matching_is_remembered_per_value_but_never_confuses_types() -> None:
    # given: True, 1 and 1.0 are one dict key, but only True reads "true"
    mql = criteria(
        engagement_rules=[
            engagement("e1", 1, "event", where={"property": "vip", "op": "equals", "value": True})
        ]
    )
    activities = [
        act("event", ago(1), 1, vip=1),
        act("event", ago(2), 2, vip=True),
        act("event", ago(3), 3, vip="true"),
    ]

    # when
    first = evaluate(mql, {}, activities, NOW)
    again = evaluate(mql, {}, list(reversed(activities)), NOW)

    # then
    assert first.engagement == again.engagement == 2
    assert [evidence.activity_id for evidence in first.breakdown[0].evidence] == [2, 3]


def test_unhashable_property_values_are_matched_without_error() -> None:
    # given
    mql = criteria(
        engagement_rules=[engagement("e1", 1, "page", where={"property": "tags", "op": "is_empty"})]
    )

    # when
    result = evaluate(mql, {}, [act("page", ago(1), 1, tags=[]), act("page", ago(1), 2, tags=["a"])], NOW)

    # then
    assert result.engagement == 1


def test_evidence_detail_falls_back_to_common_properties() -> None:
    # given
    mql = criteria(engagement_rules=[engagement("e1", 1, "download")])

    # when
    result = evaluate(mql, {}, [act("download", ago(1), 9, asset="case-study.pdf", path="")], NOW)

    # then
    assert result.breakdown[0].evidence == (Evidence(9, "download", ago(1), "case-study.pdf"),)


def test_future_activities_are_ignored_until_they_happen() -> None:
    # given
    mql = criteria(engagement_rules=[engagement("e1", 10, "webinar", window_days=30)])
    future = NOW + timedelta(hours=2)

    # when
    result = evaluate(mql, {}, [act("webinar", future, 1)], NOW)

    # then
    assert result.engagement == 0
    assert result.next_change_at == future
    assert evaluate(mql, {}, [act("webinar", future, 1)], future).engagement == 10


# ---------------------------------------------------------------------------------------------------------
# Inactivity


def test_inactivity_applies_from_exactly_days_after_the_last_activity() -> None:
    # given
    mql = criteria(inactivity={"days": 90, "points": -20}, engagement_rules=[engagement("e1", 3, "page")])
    last = ago(90)

    # when
    silent = evaluate(mql, {}, [act("page", ago(200), 1), act("email_open", last, 2)], NOW)
    not_yet = evaluate(mql, {}, [act("email_open", last + timedelta(seconds=1), 2)], NOW)

    # then
    assert (silent.engagement, silent.total) == (-17, -17)
    hit = silent.breakdown[-1]
    assert (hit.rule_id, hit.kind, hit.name, hit.points) == (
        "inactivity",
        "inactivity",
        "No activity for 90 days",
        -20,
    )
    assert hit.evidence == (Evidence(2, "email_open", last, "last activity"),)
    assert not_yet.engagement == 0
    assert not_yet.next_change_at == NOW + timedelta(seconds=1)


def test_inactivity_needs_at_least_one_activity() -> None:
    # given
    mql = criteria(inactivity={"days": 90, "points": -20})

    # when
    result = evaluate(mql, {}, [], NOW)

    # then
    assert result.total == 0
    assert result.next_change_at is None


def test_inactivity_ignores_future_activity() -> None:
    # given
    mql = criteria(inactivity={"days": 90, "points": -20})

    # when
    result = evaluate(mql, {}, [act("page", ago(100), 1), act("page", NOW + timedelta(days=1), 2)], NOW)

    # then
    assert result.engagement == -20
    assert result.next_change_at == NOW + timedelta(days=1)


# ---------------------------------------------------------------------------------------------------------
# Triggers, MQL and tier


def test_trigger_fires_within_days_and_makes_the_lead_hot() -> None:
    # given
    mql = criteria(triggers=[trigger("t1", "demo_request", reason="requested a demo", name="Demo request")])
    activities = [act("demo_request", ago(3), 1), act("demo_request", ago(1), 2)]

    # when
    result = evaluate(mql, {}, activities, NOW)

    # then
    assert result.total == 0
    assert [
        (hit.trigger_id, hit.name, hit.reason, hit.activity_id, hit.occurred_at) for hit in result.triggers
    ] == [("t1", "Demo request", "requested a demo", 2, ago(1))]
    assert (result.is_mql, result.tier) == (True, Tier.HOT)
    assert result.next_change_at == ago(1) + timedelta(days=7)


def test_trigger_expires_exactly_within_days_after_the_activity() -> None:
    # given
    mql = criteria(triggers=[trigger("t1", "demo_request", within_days=7)])
    activities = [act("demo_request", ago(7), 1)]

    # when
    at_expiry = evaluate(mql, {}, activities, NOW)
    just_before = evaluate(mql, {}, activities, NOW - timedelta(microseconds=1))

    # then
    assert at_expiry.triggers == () and at_expiry.tier is Tier.NONE
    assert [hit.trigger_id for hit in just_before.triggers] == ["t1"]
    assert just_before.next_change_at == NOW


def test_trigger_without_within_days_never_expires() -> None:
    # given
    mql = criteria(triggers=[trigger("t1", "trial_signup", within_days=None)])

    # when
    result = evaluate(mql, {}, [act("trial_signup", ago(900), 1)], NOW)

    # then
    assert [hit.trigger_id for hit in result.triggers] == ["t1"]
    assert result.next_change_at is None


def test_trigger_reason_defaults_to_its_name() -> None:
    mql = criteria(triggers=[trigger("t1", "demo_request", name="Demo request", reason="")])

    result = evaluate(mql, {}, [act("demo_request", ago(1), 1)], NOW)

    assert result.triggers[0].reason == "Demo request"


def test_trigger_with_where_and_attribute_condition() -> None:
    # given
    mql = criteria(
        triggers=[
            trigger(
                "t1",
                "page",
                where=PRICING,
                attribute={"field": "seniority", "op": "one_of", "value": ["director", "vp"]},
                within_days=2,
                reason="viewed pricing",
            )
        ]
    )
    activities = [
        act("page", ago(minutes=3), 1, path="/pricing"),
        act("page", ago(minutes=1), 2, path="/blog"),
    ]

    # when
    director = evaluate(mql, {"seniority": "Director"}, activities, NOW)
    intern = evaluate(mql, {"seniority": "intern"}, activities, NOW)

    # then
    assert [(hit.activity_id, hit.reason) for hit in director.triggers] == [(1, "viewed pricing")]
    assert intern.triggers == ()
    assert intern.next_change_at is None


def test_trigger_requiring_gates_needs_every_gate() -> None:
    # given
    mql = criteria(
        gates=[gate("g1", "employees", "gte", 100)],
        triggers=[trigger("t1", "demo_request", requires_gates=True)],
    )
    activities = [act("demo_request", ago(1), 1)]

    # when
    small = evaluate(mql, {"employees": 10}, activities, NOW)
    large = evaluate(mql, {"employees": 1000}, activities, NOW)

    # then
    assert small.triggers == () and small.next_change_at is None
    assert [hit.trigger_id for hit in large.triggers] == ["t1"]
    assert large.tier is Tier.HOT


def dormant_trigger(**overrides: Any) -> MqlCriteria:
    return criteria(triggers=[trigger("t1", "*", min_silence_days=180, within_days=3, **overrides)])


def test_dormant_lead_coming_back_fires() -> None:
    # given
    activities = [act("email_open", ago(200), 1), act("page", ago(1), 2), act("page", ago(hours=2), 3)]

    # when
    result = evaluate(dormant_trigger(), {}, activities, NOW)

    # then: the page view that ended the silence fires, not the one right after it
    assert [hit.activity_id for hit in result.triggers] == [2]
    assert result.next_change_at == ago(1) + timedelta(days=3)


@pytest.mark.parametrize(
    ("silence", "fires"),
    [
        (timedelta(days=180), True),
        (timedelta(days=180) - timedelta(seconds=1), False),
        (timedelta(days=30), False),
    ],
)
def test_dormant_silence_must_last_at_least_min_silence_days(silence: timedelta, fires: bool) -> None:
    # given
    activities = [act("email_open", ago(1) - silence, 1), act("page", ago(1), 2)]

    # when
    result = evaluate(dormant_trigger(), {}, activities, NOW)

    # then
    assert bool(result.triggers) is fires


def test_first_ever_activity_is_no_comeback() -> None:
    result = evaluate(dormant_trigger(), {}, [act("page", ago(1), 1)], NOW)

    assert result.triggers == ()


def test_activity_at_the_same_instant_does_not_break_the_silence() -> None:
    # given
    activities = [act("email_open", ago(400), 1), act("page", ago(1), 2), act("form_submit", ago(1), 3)]

    # when
    result = evaluate(dormant_trigger(), {}, activities, NOW)

    # then
    assert len(result.triggers) == 1
    assert result.triggers[0].occurred_at == ago(1)


@pytest.mark.parametrize(("points", "is_mql", "tier"), [(49, False, Tier.NONE), (50, True, Tier.WARM)])
def test_mql_by_score_is_warm(points: int, is_mql: bool, tier: Tier) -> None:
    # given
    mql = criteria(threshold=50, fit_rules=[fit("f1", points, "seniority", "is_not_empty")])

    # when
    result = evaluate(mql, {"seniority": "vp"}, [], NOW)

    # then
    assert (result.is_mql, result.tier) == (is_mql, tier)


def test_trigger_beats_score_for_tier() -> None:
    # given
    mql = criteria(
        threshold=10,
        fit_rules=[fit("f1", 100, "seniority", "is_not_empty")],
        triggers=[trigger("t1", "demo_request")],
    )

    # when
    result = evaluate(mql, {"seniority": "vp"}, [act("demo_request", ago(1), 1)], NOW)

    # then
    assert (result.is_mql, result.tier) == (True, Tier.HOT)


# ---------------------------------------------------------------------------------------------------------
# next_change_at and the whole evaluation


def test_next_change_at_is_the_earliest_ageing_event() -> None:
    # given
    mql = criteria(
        engagement_rules=[
            engagement("e1", 15, "page", window_days=30),
            engagement("e2", 10, "webinar", window_days=90),
        ],
        inactivity={"days": 10, "points": -5},
        triggers=[trigger("t1", "demo_request", within_days=7)],
    )
    activities = [act("page", ago(25), 1), act("webinar", ago(89), 2), act("demo_request", ago(4), 3)]

    # when
    result = evaluate(mql, {}, activities, NOW)

    # then: webinar ages in 1 day, the demo trigger expires in 3, the page in 5, silence hits in 6
    assert result.next_change_at == ago(89) + timedelta(days=90)


def test_next_change_at_is_none_when_nothing_ages() -> None:
    mql = criteria(
        fit_rules=[fit("f1", 5, "seniority", "equals", "vp")], engagement_rules=[engagement("e1", 1, "page")]
    )

    result = evaluate(mql, {"seniority": "vp"}, [act("page", ago(10), 1)], NOW)

    assert result.next_change_at is None


def test_doc_example_scores_a_lead() -> None:
    # given
    mql = MqlCriteria.from_dict(doc_content()["mql"])
    activities = [
        act("page", ago(1), 1, path="/pricing"),
        act("page", ago(40), 2, path="/pricing/x"),
        act("demo_request", ago(2), 3),
    ]

    # when
    small = evaluate(mql, {"seniority": " VP ", "employees": "40"}, activities, NOW)
    large = evaluate(mql, {"seniority": " VP ", "employees": "400"}, activities, NOW)

    # then
    assert (small.total, small.fit, small.engagement) == (35, 20, 15)
    assert [gate.text for gate in small.failed_gates] == ["employees ≥ 100 (is 40)"]
    assert small.triggers == () and small.tier is Tier.NONE
    assert (large.is_mql, large.tier) == (True, Tier.HOT)
    assert large.next_change_at == ago(2) + timedelta(days=7)


def test_evaluation_serialises_to_json() -> None:
    # given
    mql = MqlCriteria.from_dict(mql_doc())
    activities = [act("page", ago(1), 1, path="/pricing"), act("page", ago(31), 2, path="/pricing")]

    # when
    data = evaluate(mql, {"employees": 5}, activities, NOW).to_dict()

    # then
    assert json.loads(json.dumps(data)) == data
    assert data["tier"] == "" and data["failed_gates"][0]["text"] == "employees ≥ 100 (is 5)"
    assert data["breakdown"][0]["evidence"][0] == {
        "activity_id": 1,
        "type": "page",
        "occurred_at": "2026-03-01T12:00:00+00:00",
        "detail": "/pricing",
    }
    assert data["aged_out"][0]["count"] == 1
    assert data["next_change_at"] == "2026-03-31T12:00:00+00:00"  # 1 March + 30 days


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Activity(1, "page", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(criteria(), {}, [], datetime(2026, 1, 1))


# ---------------------------------------------------------------------------------------------------------
# SQL


def test_sql_check_qualifies_with_required_items_and_enough_in_total() -> None:
    # given
    sql = SqlCriteria.from_dict(sql_doc())

    # when
    result = sql_check(sql, {"need", "authority", "timeframe"})

    # then
    assert result.qualified
    assert (result.missing_required, result.met_count, result.needed_count) == ((), 3, 3)
    assert result.message == "Qualified: 3 of 4 items met (3 needed)."


def test_sql_check_names_missing_required_items() -> None:
    # given
    sql = SqlCriteria.from_dict(sql_doc())

    # when
    result = sql_check(sql, {"authority", "budget", "unknown"})

    # then
    assert not result.qualified
    assert result.missing_required == ("Need",)
    assert result.message == "Missing required: Need. 2 met; 3 needed, every required one among them."


def test_sql_check_needs_min_met_items() -> None:
    # given
    sql = SqlCriteria.from_dict(sql_doc())

    # when
    result = sql_check(sql, {"need", "authority"})

    # then
    assert not result.qualified
    assert result.message == "2 met; 3 needed, every required one among them."


@pytest.mark.parametrize(
    ("framework", "labels"),
    [
        ("bant", ["Budget", "Authority", "Need", "Timeframe"]),
        ("champ", ["Challenges", "Authority", "Money", "Prioritization"]),
        ("anum", ["Authority", "Need", "Urgency", "Money"]),
    ],
)
def test_framework_templates(framework: str, labels: list[str]) -> None:
    # given
    template = FRAMEWORK_TEMPLATES[framework]

    # when
    sql = sql_template(framework)

    # then
    assert [item["label"] for item in template] == labels
    assert SqlCriteria.from_dict(sql.to_dict()) == sql
    assert sql.framework == framework
    assert sum(item.required for item in sql.items) == 2
    assert sql.min_met == 3


# ---------------------------------------------------------------------------------------------------------
# Properties

TYPES = ("page", "download", "email_open", "demo_request")
PATHS = ("/pricing", "/pricing/team", "/blog/x", "/careers", None)
FIELDS = {"seniority": ("vp", "intern", None), "employees": (5, 150, "1,000", "n/a", None)}
SMALL = st.integers(min_value=1, max_value=4)


@st.composite
def condition_dicts(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(sorted(FIELDS)))
    op = draw(st.sampled_from(["equals", "one_of", "gte", "between", "is_empty", "contains"]))
    value = {
        "equals": draw(st.sampled_from(["vp", 150])),
        "one_of": ["vp", "director"],
        "gte": draw(st.integers(0, 500)),
        "between": [100, 2000],
        "is_empty": None,
        "contains": "v",
    }[op]
    return {"field": field, "op": op, "value": value}


def where_dicts() -> st.SearchStrategy[dict[str, Any] | None]:
    return st.one_of(st.none(), st.sampled_from(["/pricing", "/blog"]).map(
        lambda prefix: {"property": "path", "op": "starts_with", "value": prefix}
    ))  # fmt: skip


@st.composite
def mql_dicts(draw: st.DrawFn) -> dict[str, Any]:
    ids = iter(f"r{number}" for number in range(100))
    fit_rules = [
        {
            "id": next(ids),
            "name": "fit",
            "points": draw(st.integers(-30, 30)),
            "condition": draw(condition_dicts()),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    engagement_rules = [
        {
            "id": next(ids),
            "name": "engagement",
            "points": draw(st.integers(-20, 20)),
            "activity": draw(st.sampled_from((*TYPES, "*"))),
            "where": draw(where_dicts()),
            "max_count": draw(st.none() | SMALL),
            "window_days": draw(st.none() | st.integers(1, 40)),
            "min_count": draw(st.sampled_from([1, 1, 2, 3])),
        }
        for _ in range(draw(st.integers(0, 4)))
    ]
    gates = [
        {"id": next(ids), "name": "gate", "condition": draw(condition_dicts())}
        for _ in range(draw(st.integers(0, 2)))
    ]
    triggers = [
        {
            "id": next(ids),
            "name": "trigger",
            "activity": draw(st.sampled_from((*TYPES, "*"))),
            "where": draw(where_dicts()),
            "attribute": draw(st.none() | condition_dicts()),
            "requires_gates": draw(st.booleans()),
            "min_silence_days": draw(st.none() | st.integers(1, 20)),
            "within_days": draw(st.none() | st.integers(1, 10)),
            "reason": draw(st.sampled_from(["", "why"])),
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    inactivity = draw(st.none() | st.builds(lambda days, points: {"days": days, "points": points},
                                            st.integers(1, 40), st.integers(-30, 0)))  # fmt: skip
    return {
        "threshold": draw(st.integers(-20, 60)),
        "fit_rules": fit_rules,
        "engagement_rules": engagement_rules,
        "inactivity": inactivity,
        "gates": gates,
        "triggers": triggers,
    }


@st.composite
def activity_lists(draw: st.DrawFn, *, future: bool = True) -> list[Activity]:
    latest = 2 * 86400 if future else 0
    count = draw(st.integers(0, 25))
    activities = []
    for number in range(count):
        path = draw(st.sampled_from(PATHS))
        seconds = draw(st.integers(-60 * 86400, latest))
        properties = {} if path is None else {"path": path}
        activities.append(
            Activity(number, draw(st.sampled_from(TYPES)), NOW + timedelta(seconds=seconds), properties)
        )
    return activities


attribute_dicts = st.fixed_dictionaries({field: st.sampled_from(values) for field, values in FIELDS.items()})
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(data=mql_dicts())
def test_generated_criteria_round_trip(data: dict[str, Any]) -> None:
    # given
    mql = MqlCriteria.from_dict(data)

    # when
    again = MqlCriteria.from_dict(mql.to_dict())

    # then
    assert again == mql
    assert mql.to_dict() == data


@PROPERTY_SETTINGS
@given(data=mql_dicts(), attributes=attribute_dicts, activities=activity_lists())
def test_total_is_fit_plus_engagement_is_sum_of_breakdown(
    data: dict[str, Any], attributes: dict[str, Any], activities: list[Activity]
) -> None:
    # given
    mql = MqlCriteria.from_dict(data)

    # when
    result = evaluate(mql, attributes, activities, NOW)

    # then
    assert result.total == result.fit + result.engagement == sum(hit.points for hit in result.breakdown)
    assert result.fit == sum(hit.points for hit in result.breakdown if hit.kind == "fit")
    assert result.is_mql == (result.gates_passed and (result.total >= mql.threshold or bool(result.triggers)))
    assert result.tier == (Tier.NONE if not result.is_mql else Tier.HOT if result.triggers else Tier.WARM)
    assert result.next_change_at is None or result.next_change_at > NOW


@PROPERTY_SETTINGS
@given(data=mql_dicts(), attributes=attribute_dicts, activities=activity_lists())
def test_without_evidence_the_verdict_is_the_same(
    data: dict[str, Any], attributes: dict[str, Any], activities: list[Activity]
) -> None:
    # given any criteria and lead
    mql = MqlCriteria.from_dict(data)

    # when it is judged without quoting evidence (the what-if and the backtest only count verdicts)
    full = evaluate(mql, attributes, activities, NOW)
    bare = evaluate(mql, attributes, activities, NOW, evidence=False)

    # then every figure is the same, and only the quoted activities are left out
    def unquoted(hits: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple((h.rule_id, h.kind, h.name, h.points, h.count) for h in hits)

    assert (bare.total, bare.fit, bare.engagement, bare.is_mql, bare.tier, bare.gates_passed) == (
        full.total, full.fit, full.engagement, full.is_mql, full.tier, full.gates_passed
    )  # fmt: skip
    assert (bare.triggers, bare.failed_gates, bare.next_change_at) == (
        full.triggers, full.failed_gates, full.next_change_at
    )  # fmt: skip
    assert unquoted(bare.breakdown) == unquoted(full.breakdown)
    assert unquoted(bare.aged_out) == unquoted(full.aged_out)
    assert all(not h.evidence for h in bare.breakdown + bare.aged_out if h.kind == "engagement")


@PROPERTY_SETTINGS
@given(data=mql_dicts(), attributes=attribute_dicts, activities=activity_lists(), extra=activity_lists())
def test_activities_never_change_fit_or_gates(
    data: dict[str, Any], attributes: dict[str, Any], activities: list[Activity], extra: list[Activity]
) -> None:
    # given
    mql = MqlCriteria.from_dict(data)
    before = evaluate(mql, attributes, activities, NOW)

    # when
    after = evaluate(mql, attributes, [*activities, *extra], NOW)

    # then
    assert after.fit == before.fit
    assert [hit for hit in after.breakdown if hit.kind == "fit"] == [
        hit for hit in before.breakdown if hit.kind == "fit"
    ]
    assert after.failed_gates == before.failed_gates


@PROPERTY_SETTINGS
@given(data=mql_dicts(), attributes=attribute_dicts, activities=activity_lists(), seed=st.integers(0, 1000))
def test_input_order_does_not_change_the_score(
    data: dict[str, Any], attributes: dict[str, Any], activities: list[Activity], seed: int
) -> None:
    # given
    mql = MqlCriteria.from_dict(data)
    shuffled = list(activities)
    random.Random(seed).shuffle(shuffled)

    # when
    first, second = evaluate(mql, attributes, activities, NOW), evaluate(mql, attributes, shuffled, NOW)

    # then
    def summary(result: Evaluation) -> tuple[Any, ...]:
        hits = [(hit.rule_id, hit.points, hit.count) for hit in (*result.breakdown, *result.aged_out)]
        return (
            result.total,
            hits,
            [hit.trigger_id for hit in result.triggers],
            result.tier,
            result.next_change_at,
        )

    assert summary(first) == summary(second)


@PROPERTY_SETTINGS
@given(data=mql_dicts(), attributes=attribute_dicts, activities=activity_lists())
def test_nothing_changes_until_next_change_at(
    data: dict[str, Any], attributes: dict[str, Any], activities: list[Activity]
) -> None:
    # given
    mql = MqlCriteria.from_dict(data)
    result = evaluate(mql, attributes, activities, NOW)
    assume(result.next_change_at is not None)
    assert result.next_change_at is not None

    # when
    just_before = evaluate(mql, attributes, activities, result.next_change_at - timedelta(microseconds=1))
    a_second_before = evaluate(
        mql, attributes, activities, max(NOW, result.next_change_at - timedelta(seconds=1))
    )

    # then
    assert just_before == result
    assert a_second_before == result


@PROPERTY_SETTINGS
@given(data=mql_dicts(), attributes=attribute_dicts, activities=activity_lists(future=False))
def test_something_changes_at_next_change_at(
    data: dict[str, Any], attributes: dict[str, Any], activities: list[Activity]
) -> None:
    # given
    mql = MqlCriteria.from_dict(data)
    result = evaluate(mql, attributes, activities, NOW)
    assume(result.next_change_at is not None)
    assert result.next_change_at is not None

    # when
    later = evaluate(mql, attributes, activities, result.next_change_at)

    # then
    assert (later.breakdown, later.aged_out, later.triggers) != (
        result.breakdown,
        result.aged_out,
        result.triggers,
    )


@st.composite
def scoring_rounds(draw: st.DrawFn) -> list[tuple[int, list[Activity]]]:
    """Rounds of incremental scoring: seconds the clock moves on, then the activities that arrived."""
    rounds = []
    for _ in range(draw(st.integers(1, 4))):
        gap = draw(st.integers(0, 30 * 86400))
        rounds.append((gap, draw(activity_lists())))
    return rounds


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=mql_dicts(), attributes=attribute_dicts, rounds=scoring_rounds(), later=st.integers(0, 90 * 86400)
)
def test_incremental_evaluation_equals_full_evaluation(
    data: dict[str, Any], attributes: dict[str, Any], rounds: list[tuple[int, list[Activity]]], later: int
) -> None:
    # given criteria, and a lead scored in rounds: each round only what `retain` kept of the earlier ones plus
    # the activities that arrived since (newer than every activity seen before: others force a full read)
    mql = MqlCriteria.from_dict(data)
    history: list[Activity] = []
    kept: list[Activity] = []
    left_out: dict[str, int] = {}
    now, number = NOW - timedelta(days=60), 0
    for gap, arrived in rounds:
        now += timedelta(seconds=gap)
        latest = max((activity.occurred_at for activity in history), default=None)
        new = []
        for activity in arrived:
            when = now + (activity.occurred_at - NOW)
            if latest is None or when > latest:
                number += 1
                new.append(Activity(number, activity.type, when, activity.properties))
        history += new

        # when the lead is judged on its kept history only, then it is judged again later (ageing)
        incremental = evaluate(mql, attributes, [*kept, *new], now, left_out=left_out)
        kept, left_out = retain(mql, [*kept, *new], now, left_out=left_out)
        aged = now + timedelta(seconds=later)

        # then each judgement is the one the whole history gives, evidence and all
        assert incremental == evaluate(mql, attributes, history, now)
        assert evaluate(mql, attributes, kept, aged, left_out=left_out) == evaluate(
            mql, attributes, history, aged
        )
