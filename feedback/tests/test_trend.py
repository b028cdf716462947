"""The trend across months (feedback/trend.py) against a small hand-computed fixture, one test per figure, the
capacity plan, and the page, its CSV and the draft's capacity box (roles, bounded queries, bad input, safe CSV).

The fixture, in London winter time (= UTC): v1 (10 MQLs a month) in force until 15 Feb, v2 (4 a month) since.
January: four hand-overs, scores 80 won / 60 lost / 20 rejected / 90 open; February: 30 won, 70 rejected;
March: none. First contact after 3, 30, — , 100 (January) and 2000, 4 (February) business minutes.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from alignment.csvsafe import safe_cell
from alignment.roles import Role
from feedback.models import Cycle
from feedback.tests.factories import cycle_create
from feedback.trend import capacity_plan, trend_for
from leads.models import Lead, RepProfile, SlaBreach
from sla.immutability import signed_edits_allowed
from sla.models import AgreementVersion, Status

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _cycle(handed: datetime, score: int, **fields: Any) -> Cycle:
    lead = Lead.objects.create(
        email=f"p{Lead.objects.count()}@acme.example", created_at=handed, updated_at=handed
    )
    minutes = fields.pop("minutes", None)
    if minutes is not None:
        fields |= {"first_contact_minutes": minutes, "first_contact_at": handed + timedelta(minutes=minutes)}
    return cycle_create(lead=lead, number=1, handed_over_at=handed, tier="A", score=score,
                                fit_score=score, engagement_score=0, **fields)  # fmt: skip


def make_version(
    agreement: AgreementVersion, number: int, mql_per_month: int, **fields: Any
) -> AgreementVersion:
    content = {**agreement.content, "terms": {**agreement.content["terms"]}}
    content["terms"]["marketing"] = {**content["terms"]["marketing"], "mql_per_month": mql_per_month}
    return AgreementVersion.objects.create(number=number, title=f"v{number}", content=content,
                                           content_hash=f"hash-{number}", created_at=_at(JAN), updated_at=_at(JAN),
                                           **fields)  # fmt: skip


@pytest.fixture
def history(agreement) -> None:
    build_history(agreement)


def build_history(agreement: AgreementVersion) -> None:
    """v11 then v12 in force, six hand-overs in January and February 2026, one breach (see the docstring)."""
    with signed_edits_allowed(
        "test fixture: the starter agreement withdrawn so that v11 and v12 tell the history"
    ):
        AgreementVersion.objects.filter(pk=agreement.pk).update(status=Status.WITHDRAWN, activated_at=None)
    make_version(agreement, 11, 10, status=Status.SUPERSEDED, activated_at=_at(date(2025, 12, 1)),
             superseded_at=_at(date(2026, 2, 15)))  # fmt: skip
    make_version(agreement, 12, 4, status=Status.ACTIVE, activated_at=_at(date(2026, 2, 15)))
    done = {"accepted_at": _at(date(2026, 1, 5)), "closed_at": _at(date(2026, 1, 20))}
    _cycle(_at(date(2026, 1, 5)), 80, outcome="won", sql_at=_at(date(2026, 1, 9)), minutes=3,
           claim_due_at=_at(date(2026, 1, 5), 11), claimed_at=_at(date(2026, 1, 5), 10), **done)  # fmt: skip
    _cycle(_at(date(2026, 1, 6)), 60, outcome="lost", minutes=30,
           claim_due_at=_at(date(2026, 1, 6), 11), claimed_at=_at(date(2026, 1, 6), 13), **done)  # fmt: skip
    _cycle(_at(date(2026, 1, 7)), 20, outcome="rejected", rejected_at=_at(date(2026, 1, 8)),
           closed_at=_at(date(2026, 1, 8)))  # fmt: skip
    _cycle(_at(date(2026, 1, 31), 23), 90, minutes=100)
    _cycle(_at(date(2026, 2, 3)), 30, outcome="won", accepted_at=_at(date(2026, 2, 4)), sql_at=_at(date(2026, 2, 5)),
           closed_at=_at(date(2026, 2, 9)), minutes=2000)  # fmt: skip
    _cycle(_at(date(2026, 2, 4)), 70, outcome="rejected", rejected_at=_at(date(2026, 2, 5)),
           closed_at=_at(date(2026, 2, 5)), minutes=4)  # fmt: skip
    lead = Lead.objects.first()
    SlaBreach.objects.create(lead=lead, clock="claim", deadline=_at(date(2026, 1, 6), 11),
                             detected_at=_at(date(2026, 1, 6), 12), late_seconds=3600)  # fmt: skip


def _months(history: None) -> dict[date, Any]:
    return {m.month: m for m in trend_for(MAR, 3).months}


def test_months_run_oldest_first_over_the_window(history):
    assert [m.month for m in trend_for(MAR, 3).months] == [JAN, FEB, MAR]


def test_version_in_force_and_the_change_is_marked(history):
    months = _months(history)
    assert [(months[m].version, months[m].version_changed) for m in (JAN, FEB, MAR)] == [
        (11, False), (12, True), (12, False)
    ]  # fmt: skip


def test_mqls_delivered_against_the_commitment_of_the_version_in_force(history):
    months = _months(history)
    assert [(months[m].delivered, months[m].committed) for m in (JAN, FEB, MAR)] == [(4, 10), (2, 4), (0, 4)]
    assert months[JAN].delivered_share == pytest.approx(0.4)
    assert months[FEB].delivered_share == pytest.approx(0.5)


def test_funnel_rates_mql_sal_sql_won(history):
    months = _months(history)
    jan, feb, mar = months[JAN], months[FEB], months[MAR]
    assert (jan.accepted, jan.sqls, jan.won) == (2, 1, 1)
    assert (jan.sal_rate, jan.sql_rate, jan.won_rate) == (0.5, 0.5, 1.0)
    assert (feb.sal_rate, feb.sql_rate, feb.won_rate) == (0.5, 1.0, 1.0)
    assert (mar.sal_rate, mar.sql_rate, mar.won_rate) == (None, None, None)


def test_sales_sla_compliance_and_breaches(history):
    months = _months(history)
    # two claim clocks ran in January (one met), and the January outcome/accept clocks were never set
    assert (months[JAN].clocks_due, months[JAN].clocks_met, months[JAN].sales_compliance) == (2, 1, 0.5)
    assert [months[m].breaches for m in (JAN, FEB, MAR)] == [1, 0, 0]


def test_median_time_to_first_contact(history):
    months = _months(history)
    # January: 3, 30, 100 (the rejected one was never contacted); February: 4 and 2000
    assert [months[m].median_first_contact_minutes for m in (JAN, FEB, MAR)] == [30.0, 1002.0, None]


def test_auc_per_month(history):
    months = _months(history)
    # January: the won 80 outscored the lost 60 and the rejected 20; February: the won 30 under the rejected 70
    assert [months[m].auc for m in (JAN, FEB, MAR)] == [1.0, 0.0, None]


def test_win_rate_by_score_band_per_month(history):
    months = _months(history)
    # January: 20 rejected, 60 lost, 80 won and 90 open; February: 30 won, 70 rejected; March: nothing
    assert months[JAN].band_win_rates == (0.0, None, 0.0, 0.5, None)
    assert months[FEB].band_win_rates == (None, 1.0, 0.0, None, None)
    assert months[MAR].band_win_rates == (None,) * 5


def test_conversion_by_score_band(history):
    bands = {b.band: (b.n, b.won, b.accept_rate) for b in trend_for(MAR, 3).score_bands}
    assert bands == {"under 25": (1, 0, 0.0), "25–49": (1, 1, 1.0), "50–74": (2, 0, 0.5),
                     "75–99": (2, 1, 0.5), "100 and over": (0, 0, None)}  # fmt: skip


def test_conversion_by_response_time(history):
    bands = {b.band: (b.n, b.won, b.win_rate) for b in trend_for(MAR, 3).response_bands}
    assert bands == {"within 5 min": (2, 1, 0.5), "within 1 h": (1, 0, 0.0), "within 24 h": (1, 0, 0.0),
                     "later": (1, 1, 1.0)}  # fmt: skip


def test_a_window_before_any_agreement_has_no_commitment(history):
    (month,) = trend_for(date(2025, 6, 1), 1).months
    assert (month.version, month.committed, month.delivered, month.delivered_share) == (None, None, 0, None)


# --- capacity ------------------------------------------------------------------------------------------------


def test_capacity_plan_fits_the_recent_weeks_and_counts_the_team(history, make_user):
    now = datetime(2026, 3, 29, 12, tzinfo=UTC)
    Cycle.objects.all().delete()
    # 1, 2, …, 8 hand-overs in the eight weeks before now (oldest first): the line says 9 next week
    for week in range(8):
        for _ in range(week + 1):
            _cycle(now - timedelta(weeks=8 - week) + timedelta(hours=1), 50)
    small = make_user(Role.REP, username="small")
    RepProfile.objects.create(user=small, capacity=10)
    make_user(Role.REP, username="default")  # no profile: the default 50
    away = make_user(Role.REP, username="away")
    RepProfile.objects.create(user=away, capacity=100, is_away=True)
    Cycle.objects.filter(pk__in=Cycle.objects.values("pk")[:3]).update(owner=small)
    plan = capacity_plan(now=now, version=AgreementVersion.objects.active())
    assert plan.weekly == (1, 2, 3, 4, 5, 6, 7, 8)
    assert plan.expected_per_week == pytest.approx(9.0)
    assert plan.agreed_per_week == pytest.approx(0.9)  # 4 a month
    assert (plan.reps, plan.team_capacity, plan.open_leads, plan.free_slots) == (2, 60, 3, 57)
    assert plan.over_agreed and not plan.over_team


# --- the page ------------------------------------------------------------------------------------------------


TREND_URL = "/feedback/trend/"


def test_managers_and_admins_see_the_trend_reps_and_marketers_do_not(history, role_users, login):
    for role, user in role_users.items():
        response = login(user).get(reverse("feedback:trend"), {"to": "2026-03", "months": "3"})
        if role in (Role.SALES_MANAGER, Role.MARKETING_MANAGER, Role.ADMIN):
            assert response.status_code == 200, role
            assert b"Trend across months" in response.content
            assert b'<svg class="chart"' in response.content
        else:
            assert response.status_code == 403, role


def test_the_nav_links_the_trend_for_managers_only(history, sales_manager, rep, login):
    link = f'href="{reverse("feedback:trend")}"'.encode()
    assert link in login(sales_manager).get(reverse("home")).content
    assert link not in login(rep).get(reverse("home")).content


@pytest.mark.parametrize("query", [{"months": "0"}, {"months": "37"}, {"months": "x"}, {"to": "2026"},
                                   {"to": "2026-13"}])  # fmt: skip
def test_a_bad_window_is_a_400(history, sales_manager, login, query):
    client = login(sales_manager)
    assert client.get(reverse("feedback:trend"), query).status_code == 400
    assert client.get(reverse("feedback:trend_csv"), query).status_code == 400


@pytest.mark.parametrize("months", ["1", "36"])
def test_queries_do_not_grow_with_the_months(
    history, marketing_manager, login, django_assert_max_num_queries, months
):
    # session, user and roles, then the figures: one grouped count, one list of rows, breaches, versions, capacity,
    # and the last change's effect (the version, the one it replaced, the hand-overs either side)
    client = login(marketing_manager)
    with django_assert_max_num_queries(13):
        assert client.get(reverse("feedback:trend"), {"to": "2026-03", "months": months}).status_code == 200
    with django_assert_max_num_queries(7):
        assert (
            client.get(reverse("feedback:trend_csv"), {"to": "2026-03", "months": months}).status_code == 200
        )


def test_csv_has_a_row_per_month_with_the_figures(history, sales_manager, login):
    response = login(sales_manager).get(reverse("feedback:trend_csv"), {"to": "2026-03", "months": "3"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert response["Content-Disposition"] == 'attachment; filename="trend-2026-03-3-months.csv"'
    assert rows[0][:5] == [
        "month",
        "agreement version",
        "version changed",
        "MQLs committed",
        "MQLs delivered",
    ]
    assert rows[0][-5:] == ["win rate under 25", "win rate 25–49", "win rate 50–74", "win rate 75–99",
                            "win rate 100 and over"]  # fmt: skip
    assert rows[1][-5:] == ["0.000", "", "0.000", "0.500", ""]
    assert [row[:5] for row in rows[1:]] == [["2026-01", "v11", "", "10", "4"], ["2026-02", "v12", "yes", "4", "2"],
                                             ["2026-03", "v12", "", "4", "0"]]  # fmt: skip


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(text):
    assert safe_cell(text) == "'" + text
    assert safe_cell("v12") == "v12" and safe_cell(-3) == -3


def test_the_draft_page_loads_the_capacity_box_for_managers(history, agreement, sales_manager, rep, login):
    draft = make_version(agreement, 13, 4, status=Status.DRAFT)
    draft.content["mql"]["threshold"] = 70
    draft.content_hash = "hash-13b"
    draft.save()
    url = reverse("feedback:capacity", args=[draft.pk])
    assert url.encode() in login(sales_manager).get(draft.get_absolute_url()).content
    box = login(sales_manager).get(url)
    assert box.status_code == 200
    assert b"threshold 50 \xe2\x86\x92 70" in box.content
    assert b"Expected next week" in box.content
    assert login(rep).get(url).status_code == 403
    assert login(sales_manager).get(reverse("feedback:capacity", args=[99999])).status_code == 404
