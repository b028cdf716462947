import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla.diff import SECTIONS, Change, content_hash, diff_content

DOC = Path(__file__).resolve().parents[2] / "docs" / "agreement-content.md"


def doc_content() -> dict[str, Any]:
    return json.loads(re.search(r"```json\n(.*?)```", DOC.read_text(), re.S).group(1))


def texts(changes: list[Change]) -> list[str]:
    return [change.text for change in changes]


def test_identical_content_has_no_changes() -> None:
    assert diff_content(doc_content(), doc_content()) == []


def test_missing_sections_read_as_empty() -> None:
    # given
    old: dict[str, Any] = {}
    new = doc_content()

    # when
    changes = diff_content(old, new)

    # then
    assert Change("MQL criteria", "changed", "MQL threshold: none → 50") in changes
    assert Change("Gates", "added", 'Added gate "Company of 100+": employees ≥ 100') in changes
    hot_tier = (
        "Added hot tier: time to claim 5 business minutes, time to first contact 15 business minutes, "
        "time to accept or reject 240 business minutes, time to record an outcome 30 business days, "
        "status update every 7 days"
    )
    assert Change("Service terms", "added", hot_tier) in changes
    assert diff_content({}, {}) == []
    assert diff_content({"mql": None}, {"terms": {}}) == []


def test_threshold_change() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["threshold"] = 60

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [Change("MQL criteria", "changed", "MQL threshold: 50 → 60")]


def test_points_change_names_the_rule() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["engagement_rules"][0]["points"] = 25

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [Change("Engagement rules", "changed", "Pricing page view: +15 → +25 points")]


def test_added_fit_rule_in_words() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["fit_rules"] = []
    old["mql"]["fit_rules"] = []
    new["mql"]["fit_rules"].append(
        {
            "id": "f9",
            "name": "Decision maker",
            "points": 20,
            "condition": {"field": "seniority", "op": "one_of", "value": ["director", "vp"]},
        }
    )

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [
        Change(
            "Fit rules", "added", 'Added fit rule "Decision maker": seniority is one of director, vp → +20'
        )
    ]


def test_removed_gate() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["gates"] = []

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [Change("Gates", "removed", 'Removed gate "Company of 100+"')]


def test_rules_are_matched_by_id_so_a_rename_is_a_change() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["fit_rules"][0]["name"] = "Senior buyer"
    new["mql"]["fit_rules"][0]["condition"]["value"] = ["director", "vp"]

    # when
    changes = diff_content(old, new)

    # then
    assert texts(changes) == [
        'Fit rule "Decision maker" renamed to "Senior buyer"',
        "Senior buyer: seniority is one of director, vp, c-level, owner → seniority is one of director, vp",
    ]
    assert {change.kind for change in changes} == {"changed"}


def two_fit_rules() -> dict[str, Any]:
    content = doc_content()
    content["mql"]["fit_rules"].append(
        {
            "id": "f2",
            "name": "Big",
            "points": 10,
            "condition": {"field": "employees", "op": "gte", "value": 100},
        }
    )
    return content


def test_only_order_differs() -> None:
    # given
    old, new = two_fit_rules(), two_fit_rules()
    new["mql"]["fit_rules"].reverse()

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [Change("Fit rules", "changed", "Rule order changed")]


def test_removal_alone_is_no_order_change() -> None:
    # given
    old, new = two_fit_rules(), two_fit_rules()
    del new["mql"]["fit_rules"][0]

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [Change("Fit rules", "removed", 'Removed fit rule "Decision maker"')]


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("max_count", 3, "Pricing page view: at most 2 → 3 times"),
        ("max_count", None, "Pricing page view: at most 2 times → no cap"),
        ("window_days", 60, "Pricing page view: counted for 30 → 60 days"),
        ("window_days", None, "Pricing page view: counted for 30 days → never ages"),
        ("min_count", 3, "Pricing page view: needs 1 → 3 matching activities"),
        ("activity", "download", "Pricing page view: activity page → download"),
        ("where", None, "Pricing page view: where path starts with /pricing → none"),
    ],
)
def test_engagement_rule_changes(field: str, value: Any, text: str) -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["engagement_rules"][0][field] = value

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [Change("Engagement rules", "changed", text)]


def test_added_engagement_rules_in_words() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["engagement_rules"] += [
        {"id": "e2", "name": "Busy week", "points": 10, "activity": "*", "where": None, "max_count": None,
         "window_days": 7, "min_count": 5},
        {"id": "e3", "name": "Careers", "points": -50, "activity": "page",
         "where": {"property": "path", "op": "contains", "value": "careers"}, "max_count": 1,
         "window_days": None, "min_count": 1},
    ]  # fmt: skip

    # when
    changes = diff_content(old, new)

    # then
    assert texts(changes) == [
        'Added engagement rule "Busy week": 5 or more × any activity → +10 once, counted for 7 days',
        'Added engagement rule "Careers": page where path contains careers → -50 each, at most 1 times,'
        " never ages",
    ]


@pytest.mark.parametrize(
    ("old_value", "new_value", "kind", "text"),
    [
        ({"days": 90, "points": -20}, {"days": 90, "points": -30}, "changed",
         "Inactivity penalty: -20 → -30 points"),
        ({"days": 90, "points": -20}, {"days": 60, "points": -20}, "changed",
         "Inactivity penalty: after 90 → 60 days without activity"),
        (None, {"days": 90, "points": -20}, "added",
         "Added inactivity penalty: -20 points after 90 days without activity"),
        ({"days": 90, "points": -20}, None, "removed",
         "Removed inactivity penalty (-20 points after 90 days without activity)"),
    ],
)  # fmt: skip
def test_inactivity_changes(old_value: Any, new_value: Any, kind: str, text: str) -> None:
    # given
    old, new = doc_content(), doc_content()
    old["mql"]["inactivity"], new["mql"]["inactivity"] = old_value, new_value

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [Change("Engagement rules", kind, text)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("requires_gates", False, "Demo request: no longer requires the gates"),
        ("within_days", 3, "Demo request: within 7 → 3 days"),
        ("within_days", None, "Demo request: within 7 days → no time limit"),
        ("min_silence_days", 180, "Demo request: no silence needed → after 180 days of silence"),
        ("reason", "asked for a demo", 'Demo request: reason "requested a demo" → "asked for a demo"'),
        ("attribute", {"field": "country", "op": "equals", "value": "GB"},
         "Demo request: attribute condition none → country is GB"),
    ],
)  # fmt: skip
def test_trigger_changes(field: str, value: Any, text: str) -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["triggers"][0][field] = value

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [Change("Triggers", "changed", text)]


def test_added_trigger_in_words() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["triggers"].append(
        {"id": "t2", "name": "Comeback", "activity": "*", "where": None, "attribute": None,
         "requires_gates": True, "min_silence_days": 180, "within_days": 3, "reason": "came back"}
    )  # fmt: skip

    # when
    changes = diff_content(old, new)

    # then
    assert texts(changes) == [
        'Added trigger "Comeback": any activity, after 180+ days of silence, within 3 days,'
        ' requires the gates → "came back"'
    ]


def test_sql_changes() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["sql"]["framework"] = "custom"
    new["sql"]["items"][2]["required"] = True
    new["sql"]["items"][3]["label"] = "Timing"
    new["sql"]["items"].append({"key": "champion", "label": "Champion", "required": False})
    del new["sql"]["items"][0]
    new["sql"]["min_met"] = 4

    # when
    changes = diff_content(old, new)

    # then
    assert [(change.kind, change.text) for change in changes] == [
        ("changed", "Framework: BANT → Custom"),
        ("removed", 'Removed item "Need"'),
        ("changed", 'Item "Budget": optional → required'),
        ("changed", 'Item "Timeframe" renamed to "Timing"'),
        ("added", 'Added item "Champion" (optional)'),
        ("changed", "Items needed: 3 → 4"),
    ]
    assert {change.section for change in changes} == {"SQL criteria"}


def test_sql_item_order() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["sql"]["items"].reverse()

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [Change("SQL criteria", "changed", "Item order changed")]


def test_service_terms_changes() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["terms"]["tiers"]["hot"]["first_contact_minutes"] = 10
    new["terms"]["tiers"]["warm"]["outcome_days"] = 45
    new["terms"]["on_breach"] = "reassign"
    new["terms"]["notify_manager"] = False

    # when
    changes = diff_content(old, new)

    # then
    assert texts(changes) == [
        "Hot tier, time to first contact: 15 → 10 business minutes",
        "Warm tier, time to record an outcome: 60 → 45 business days",
        "On breach: return to queue → reassign",
        "Notify the manager of breaches: yes → no",
    ]
    assert {change.section for change in changes} == {"Service terms"}


def test_removed_tier() -> None:
    # given
    old, new = doc_content(), doc_content()
    del new["terms"]["tiers"]["warm"]

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [Change("Service terms", "removed", "Removed warm tier")]


def test_calendar_changes() -> None:
    # given
    old, new = doc_content(), doc_content()
    calendar = new["terms"]["calendar"]
    calendar.update(opens="08:30", workdays=[0, 1, 2, 3, 4, 5], time_zone="Europe/Paris", country="FR")
    calendar["closed_dates"] = ["2026-12-24", "2026-12-31"]

    # when
    changes = diff_content(old, new)

    # then
    assert [(change.kind, change.text) for change in changes] == [
        ("changed", "Time zone: Europe/London → Europe/Paris"),
        ("changed", "Working hours: 09:00–17:30 → 08:30–17:30"),
        ("changed", "Workdays: Mon–Fri → Mon–Sat"),
        ("changed", "Public holidays of: GB → FR"),
        ("added", "Added closed date 2026-12-31"),
    ]
    assert {change.section for change in changes} == {"Business calendar"}


def test_same_members_in_another_order_still_show() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["terms"]["marketing"]["required_fields"] = ["company", "email", "job_title"]
    new["terms"]["calendar"]["workdays"] = [4, 3, 2, 1, 0]

    # when
    changes = diff_content(old, new)

    # then
    assert texts(changes) == [
        "Workdays reordered: 0, 1, 2, 3, 4 → 4, 3, 2, 1, 0",
        "Required fields reordered: company, email, job_title",
    ]


def test_workdays_that_are_not_a_run() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["terms"]["calendar"]["workdays"] = [0, 2, 4, 5, 6]

    # when
    changes = diff_content(old, new)

    # then
    assert texts(changes) == ["Workdays: Mon–Fri → Mon, Wed, Fri–Sun"]


def test_marketing_commitment_changes() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["terms"]["marketing"] = {"mql_per_month": 250, "required_fields": ["email", "company", "phone"]}

    # when
    changes = diff_content(old, new)

    # then
    assert changes == [
        Change("Marketing commitment", "changed", "MQLs per month: 200 → 250"),
        Change("Marketing commitment", "removed", "Removed required field job_title"),
        Change("Marketing commitment", "added", "Added required field phone"),
    ]


def test_changes_come_in_section_order() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["terms"]["marketing"]["mql_per_month"] = 10
    new["terms"]["calendar"]["country"] = ""
    new["sql"]["min_met"] = 2
    new["mql"]["triggers"][0]["within_days"] = 1
    new["mql"]["gates"][0]["condition"]["value"] = 50
    new["mql"]["threshold"] = 1

    # when
    changes = diff_content(old, new)

    # then
    assert [change.section for change in changes] == [
        "MQL criteria",
        "Gates",
        "Triggers",
        "SQL criteria",
        "Business calendar",
        "Marketing commitment",
    ]
    assert texts(changes)[1] == "Company of 100+: employees ≥ 100 → employees ≥ 50"
    assert texts(changes)[4] == "Public holidays of: GB → none"


def test_invalid_drafts_are_still_described() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["gates"][0]["condition"] = {"field": "employees", "op": "bigger_than", "value": 100}
    new["mql"]["fit_rules"].append({"name": "No id", "points": "lots"})

    # when
    changes = diff_content(old, new)

    # then
    assert texts(changes) == [
        'Added fit rule "No id": none → lots',
        "Company of 100+: employees ≥ 100 → employees bigger_than 100",
    ]


def test_unknown_keys_are_not_hidden() -> None:
    # given
    old, new = doc_content(), doc_content()
    new["mql"]["fit_rules"][0]["note"] = "from the review"
    new["terms"]["escalate_to"] = "sales director"

    # when
    changes = diff_content(old, new)

    # then
    assert texts(changes) == [
        "Decision maker: note: none → from the review",
        "escalate_to: none → sales director",
    ]


def test_content_hash_is_sha256_of_canonical_json() -> None:
    # given
    content = {"b": [1, {"z": "é", "a": None}], "a": 1}

    # when
    digest = content_hash(content)

    # then
    canonical = '{"a":1,"b":[1,{"a":null,"z":"é"}]}'
    assert digest == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert content_hash({"a": 1, "b": [1, {"a": None, "z": "é"}]}) == digest
    assert content_hash({"a": 2, "b": [1, {"a": None, "z": "é"}]}) != digest


def test_content_hash_of_the_doc_example_is_stable() -> None:
    # given
    content = doc_content()
    reordered = json.loads(json.dumps(content, sort_keys=True))

    # when
    digests = {content_hash(content), content_hash(reordered), content_hash(copy.deepcopy(content))}

    # then
    assert len(digests) == 1
    assert re.fullmatch(r"[0-9a-f]{64}", digests.pop())


# ---------------------------------------------------------------------------------------------------------
# Properties


def fit_rule(rule_id: str, points: int) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": f"Rule {rule_id}",
        "points": points,
        "condition": {"field": "employees", "op": "gte", "value": points},
    }


@st.composite
def contents(draw: st.DrawFn) -> dict[str, Any]:
    content = doc_content()
    ids = draw(st.lists(st.sampled_from("abcdefg"), unique=True, max_size=5))
    content["mql"]["fit_rules"] = [fit_rule(rule_id, draw(st.integers(-5, 5))) for rule_id in ids]
    content["mql"]["threshold"] = draw(st.integers(40, 45))
    content["terms"]["calendar"]["closed_dates"] = draw(
        st.lists(st.sampled_from(["2026-12-24", "2026-12-25", "2026-12-31"]), unique=True)
    )
    content["terms"]["marketing"]["required_fields"] = draw(
        st.lists(st.sampled_from(["email", "company", "phone"]), unique=True)
    )
    if draw(st.booleans()):
        del content["terms"]["tiers"]["warm"]
    return content


@settings(max_examples=200, deadline=None)
@given(content=contents())
def test_a_content_never_differs_from_itself(content: dict[str, Any]) -> None:
    assert diff_content(content, copy.deepcopy(content)) == []


@settings(max_examples=200, deadline=None)
@given(old=contents(), new=contents())
def test_diff_is_symmetric_in_additions_and_removals(old: dict[str, Any], new: dict[str, Any]) -> None:
    # given
    forward = diff_content(old, new)

    # when
    backward = diff_content(new, old)

    # then
    assert sum(change.kind == "added" for change in forward) == sum(
        change.kind == "removed" for change in backward
    )
    assert sum(change.kind == "changed" for change in forward) == sum(
        change.kind == "changed" for change in backward
    )
    assert all(change.section in SECTIONS for change in forward)
    assert (forward == []) == (old == new)
