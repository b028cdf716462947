"""The monthly review per segment: each segment's hand-overs against its own agreement, a selector like the
trend's, a segment manager seeing (and exporting) only theirs."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from alignment.roles import Role
from feedback.reports import review_for
from feedback.tests.test_reports import REVIEW_QUERIES
from sla.models import AgreementVersion, Segment

pytestmark = pytest.mark.django_db


def test_each_segments_review_counts_its_own_hand_overs_against_its_own_agreement(
    japan, handed_over, agreement
):
    month = handed_over.date()
    japan_review = review_for(month, japan)
    default_review = review_for(month, Segment.objects.default())
    overall = review_for(month)
    assert [r["funnel"]["mqls"] for r in (japan_review, default_review, overall)] == [2, 1, 3]
    assert [r["funnel"]["leads"] for r in (japan_review, default_review, overall)] == [2, 1, 3]
    # each against the agreement in force in its own segment (overall: the default segment's)
    assert japan_review["agreement"]["number"] == AgreementVersion.objects.active_for(japan).number
    assert japan_review["agreement"]["threshold"] == 5
    assert default_review["agreement"]["number"] == overall["agreement"]["number"] == agreement.number


def test_a_segments_review_reads_in_a_bounded_number_of_queries(
    japan, handed_over, django_assert_max_num_queries
):
    with django_assert_max_num_queries(REVIEW_QUERIES):
        review_for(handed_over.date(), japan)


def test_a_segment_manager_sees_and_exports_only_their_segments_review(japan, handed_over, make_user, login):
    manager = make_user(Role.SALES_MANAGER, username="tanaka")
    japan.members.add(manager)
    client = login(manager)
    month = f"{handed_over:%Y-%m}"
    # when they open the month's review, then it is Enterprise Japan's: its two hand-overs, its CSV links
    page = client.get(reverse("feedback:review"), {"month": month}).content.decode()
    assert 'id="review-segment">Enterprise Japan<' in page and "All segments" not in page
    assert f"segment={japan.pk}&amp;table=funnel" in page
    # and the CSV follows the segment
    body = client.get(
        reverse("feedback:review_csv"), {"month": month, "table": "funnel", "segment": japan.pk}
    )
    rows = {row[0]: row for row in csv.reader(io.StringIO(body.content.decode()))}
    assert rows["MQLs"][1] == "2"
    assert f"segment-{japan.pk}" in body["Content-Disposition"]
    # while another segment's review is not theirs, on the page or in a CSV
    other = Segment.objects.default().pk
    assert client.get(reverse("feedback:review"), {"month": month, "segment": other}).status_code == 404
    assert (
        client.get(
            reverse("feedback:review_csv"), {"month": month, "table": "funnel", "segment": other}
        ).status_code
        == 404
    )


def test_someone_working_across_segments_chooses_one_or_all(japan, handed_over, login, sales_manager):
    client = login(sales_manager)
    month = f"{handed_over:%Y-%m}"
    page = client.get(reverse("feedback:review"), {"month": month}).content.decode()
    assert "All segments" in page and 'id="review-segment"' not in page
    body = client.get(reverse("feedback:review_csv"), {"month": month, "table": "funnel"})
    assert {row[0]: row for row in csv.reader(io.StringIO(body.content.decode()))}["MQLs"][1] == "3"
    page = client.get(reverse("feedback:review"), {"month": month, "segment": japan.pk}).content.decode()
    assert 'id="review-segment">Enterprise Japan<' in page


def test_the_review_command_prints_one_segments_figures(japan, handed_over):
    import json

    from django.core.management import CommandError, call_command

    month = f"{handed_over:%Y-%m}"
    out, everything = io.StringIO(), io.StringIO()
    # when asked for Enterprise Japan's month, and for all leads
    call_command("review", "--month", month, "--segment", "Enterprise Japan", "--json", stdout=out)
    call_command("review", "--month", month, "--json", stdout=everything)
    japan_data, all_data = json.loads(out.getvalue()), json.loads(everything.getvalue())
    # then Japan's counts its two hand-overs against its own agreement; all leads, three
    assert japan_data["segment"] == {"id": japan.pk, "name": "Enterprise Japan"}
    assert (japan_data["funnel"]["mqls"], all_data["funnel"]["mqls"]) == (2, 3)
    assert japan_data["agreement"]["number"] == AgreementVersion.objects.active_for(japan).number
    # and a name that is no segment says which there are
    with pytest.raises(CommandError, match="No segment is called “Japan”. Segments: Enterprise Japan"):
        call_command("review", "--month", month, "--segment", "Japan", "--json", stdout=io.StringIO())
