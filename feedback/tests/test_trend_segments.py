"""The trend and the capacity plan per segment, and overall."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from alignment.roles import Role
from feedback.trend import capacity_plan, trend_for
from sla.agreement import Agreement
from sla.models import AgreementVersion, Segment

pytestmark = pytest.mark.django_db


def test_the_trend_counts_each_segments_hand_overs_and_their_sum_overall(japan, handed_over, agreement):
    month = handed_over.date()
    default = Segment.objects.default()
    japan_month = trend_for(month, 1, japan).months[0]
    smb_month = trend_for(month, 1, default).months[0]
    overall = trend_for(month, 1).months[0]
    assert (japan_month.delivered, smb_month.delivered, overall.delivered) == (2, 1, 3)
    japan_version = AgreementVersion.objects.active_for(japan)
    assert japan_month.version == japan_version.number and smb_month.version == agreement.number
    commitment = Agreement.of(agreement).terms.marketing.mql_per_month
    assert overall.committed == 2 * commitment == japan_month.committed + smb_month.committed


def test_the_capacity_plan_of_a_segment_counts_its_own_team(japan, handed_over, make_user):
    # given one rep in Enterprise Japan's team and two others in no team
    japan_rep = make_user(Role.REP, username="suzuki")
    japan.members.add(japan_rep)
    make_user(Role.REP, username="other1")
    make_user(Role.REP, username="other2")
    version = AgreementVersion.objects.active_for(japan)
    # when planned for Japan, then only its rep's capacity counts; overall, every rep's
    assert capacity_plan(now=handed_over, version=version, segment=japan).reps == 1
    assert capacity_plan(now=handed_over, version=version).reps == 3


def test_a_segment_manager_sees_and_exports_only_their_segments_trend(japan, handed_over, make_user, login):
    manager = make_user(Role.SALES_MANAGER, username="tanaka")
    japan.members.add(manager)
    client = login(manager)
    month = f"{handed_over:%Y-%m}"
    # when they open the trend, then it is Enterprise Japan's
    page = client.get(reverse("feedback:trend"), {"to": month, "months": 1}).content.decode()
    assert 'id="trend-segment">Enterprise Japan<' in page and "All segments" not in page
    # and the CSV counts Japan's two hand-overs
    body = client.get(reverse("feedback:trend_csv"), {"to": month, "months": 1, "segment": japan.pk})
    rows = list(csv.reader(io.StringIO(body.content.decode())))
    assert rows[1][rows[0].index(next(h for h in rows[0] if "delivered" in h.lower()))] == "2"
    # while another segment's trend is not theirs
    other = Segment.objects.default().pk
    assert client.get(reverse("feedback:trend"), {"segment": other}).status_code == 404


def test_the_what_if_counts_the_open_leads_that_would_change_segment(
    japan, make_lead, login, marketing_manager
):
    from leads.models import Lead

    # given two Japanese enterprise leads stored in the default segment (scored before Japan's conditions fit)
    now = timezone.now()
    leads = [
        make_lead(now=now, country="Japan", employees=900),
        make_lead(now=now, country="UK", employees=9),
    ]
    default = Segment.objects.default()
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(segment=default)
    version = AgreementVersion.objects.active_for(japan)
    # when the what-if's segment part is opened for Japan's agreement
    page = (
        login(marketing_manager).get(reverse("feedback:whatif_segments", args=[version.pk])).content.decode()
    )
    # then it counts one lead moving from the default segment to Enterprise Japan
    assert "<strong>1</strong> open lead would change segment" in page
    assert f'<td>{default.name}</td><td>Enterprise Japan</td><td class="num">1</td>' in page


def test_each_segment_judges_its_own_last_change(japan, handed_over, agreement, make_user, login):
    from datetime import timedelta

    from feedback.trend_change import change_effect

    window = (handed_over - timedelta(days=365), handed_over + timedelta(days=1))
    japan_version = AgreementVersion.objects.active_for(japan)
    # when each segment's last change is judged
    japan_effect = change_effect(*window, japan)
    smb_effect = change_effect(*window, Segment.objects.default())
    # then each is its own version, over its own hand-overs since (Japan: two; SMB: one)
    assert (japan_effect.version, japan_effect.after.handovers) == (japan_version.number, 2)
    assert (smb_effect.version, smb_effect.after.handovers) == (agreement.number, 1)
    # and Japan's manager reads Japan's answer on the trend page
    manager = make_user(Role.SALES_MANAGER, username="tanaka")
    japan.members.add(manager)
    page = login(manager).get(reverse("feedback:trend"), {"to": f"{handed_over:%Y-%m}", "months": 3})
    assert f"v{japan_version.number}, in force since" in page.content.decode()
    assert "Too early to tell: 0 hand-overs before" in page.content.decode()
