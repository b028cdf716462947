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


def test_a_month_frozen_before_bands_followed_the_scores_still_reads(month_data):  # noqa: F811
    # given figures frozen in the older shape: fixed 25-point bands, with no low or high score
    data = json.loads(json.dumps(review_for(MONTH), cls=DjangoJSONEncoder))
    for band in data["score_bands"]:
        del band["low"], band["high"]
    # when read as typed figures
    typed = ReviewFigures.from_dict(data)
    # then the bands read, and the page is told they do not follow the month's scores
    assert [band.n for band in typed.score_bands] == [band["n"] for band in data["score_bands"]]
    assert not typed.bands_follow_scores and typed.score_range == (None, None)


def test_every_section_reads_by_attribute(month_data):  # noqa: F811
    # given the month's figures; when read typed
    data = json.loads(json.dumps(review_for(MONTH), cls=DjangoJSONEncoder))
    typed = ReviewFigures.from_dict(data)
    # then each section the page shows is there by attribute, with the stored values
    assert typed.marketing.delivered == data["marketing"]["delivered"]
    assert [row.name for row in typed.marketing.by_source] == [
        row["name"] for row in data["marketing"]["by_source"]
    ]
    assert typed.sales.claim_ok == data["sales"]["claim_ok"] and len(typed.sales.reps) == len(
        data["sales"]["reps"]
    )
    assert typed.auc.auc == data["auc"]["auc"] and typed.bands_follow_scores
    assert typed.lists.never_mql_but_won_count == data["lists"]["never_mql_but_won_count"]
    assert [row.rule for row in typed.reasons.rejection_by_rule] == [
        row["rule"] for row in data["reasons"]["rejection_by_rule"]
    ]
