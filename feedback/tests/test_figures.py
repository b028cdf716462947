"""The review's figures read back typed (feedback.figures), from the same JSON the page and a snapshot use."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder

from feedback.figures import ReviewFigures
from feedback.reports import review_for
from feedback.tests.test_reports import MONTH, month_data, reps  # noqa: F401  (fixtures)


def test_the_figures_read_back_typed_and_give_the_same_json(month_data):  # noqa: F811
    # given the month's figures as the page gets them (JSON round trip, as a frozen snapshot stores them)
    data = json.loads(json.dumps(review_for(MONTH), cls=DjangoJSONEncoder))
    # when read as typed figures
    typed = ReviewFigures.from_dict(data)
    # then every typed section is the stored one, and reads by attribute
    assert typed.to_dict() == {key: data[key] for key in typed.to_dict()}
    assert typed.funnel.won == data["funnel"]["won"] > 0
    assert [lift.rule_id for lift in typed.rule_lifts] == [lift["rule_id"] for lift in data["rule_lifts"]]
    assert typed.agreement is not None and typed.agreement.number == data["agreement"]["number"]
