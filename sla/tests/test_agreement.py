"""The typed agreement: built from a version's content, back to the same content, parsed once per content."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings

from sla.agreement import Agreement
from sla.content import starter_content
from sla.criteria import CriteriaError
from sla.diff import content_hash
from sla.terms import BreachAction
from sla.tests.test_diff import contents, doc_content


def _both_tiers(content: dict[str, Any]) -> dict[str, Any]:
    content["terms"]["tiers"].setdefault("warm", doc_content()["terms"]["tiers"]["warm"])
    return content


valid_contents = contents().map(_both_tiers)


@dataclass
class FakeVersion:
    pk: int
    content: dict[str, Any]
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        self.content_hash = content_hash(self.content)


def test_the_starter_agreement_reads_as_typed_fields():
    agreement = Agreement.from_dict(starter_content())
    assert agreement.threshold == 50
    assert agreement.criteria.fit_rules[0].name == "Decision maker"
    assert agreement.criteria.engagement_rules[0].where.value == "/pricing"
    assert agreement.terms.on_breach in BreachAction
    assert agreement.checklist.framework == "bant"
    assert agreement.points_by_rule()["f4"] == -20
    assert agreement.points_by_rule()["inactivity"] == -20
    assert agreement.trigger_ids() == {"t1", "t2", "t3"}


@settings(max_examples=100, deadline=None)
@given(content=valid_contents)
def test_content_round_trips_through_the_typed_agreement(content: dict[str, Any]):
    typed = Agreement.from_dict(content)
    assert Agreement.from_dict(typed.to_dict()) == typed
    # and the parts written in full come back as they were stored
    assert typed.to_dict()["mql"]["fit_rules"] == content["mql"]["fit_rules"]
    assert typed.to_dict()["terms"]["marketing"] == content["terms"]["marketing"]


def test_a_version_is_parsed_once_per_content_and_again_after_an_edit():
    version = FakeVersion(pk=987_654, content=starter_content())
    first = Agreement.of(version)
    assert Agreement.of(version) is first
    # when the draft is edited (new content, new hash)
    version.content["mql"]["threshold"] = 65
    version.content_hash = content_hash(version.content)
    # then the next read sees the edit
    assert Agreement.of(version).threshold == 65


def test_bad_content_names_the_place():
    content = starter_content()
    content["mql"]["fit_rules"][1]["points"] = "many"
    with pytest.raises(CriteriaError, match=r"mql\.fit_rules\[1\]\.points"):
        Agreement.from_dict(content)
