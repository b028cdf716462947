"""The monthly review screen (feedback/review_views.py): every role reads it in a bounded number of queries;
managers and marketers accept suggestions and start the next draft from them; managers freeze a month, and the
frozen figures are what the page, the CSV exports and `manage.py review --json` show afterwards."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from alignment.roles import Role
from feedback.figures import ReviewFigures
from feedback.models import Cycle, CycleRule, Decision, Reason, Snapshot
from feedback.reasons import ensure_default_reasons
from feedback.reports import review_for
from feedback.review_views import CSV_TABLES
from feedback.tests.factories import keyed
from feedback.tests.test_reports import APRIL_START, MONTH, build
from leads.models import Lead, RepProfile
from sla.models import AgreementVersion, Status

pytestmark = pytest.mark.django_db

APRIL = "2026-04"
REVIEW = reverse("feedback:review")
QUERY_BUDGET = 45  # the same bound however many hand-overs the month holds (40–43 today)


@pytest.fixture
def reps(make_user) -> list[Any]:
    return [
        make_user(Role.REP, username="alice", first_name="Alice", last_name="Archer"),
        make_user(Role.REP, username="bob", first_name="Bob"),
        make_user(Role.REP, username="zed", first_name=""),
    ]


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    """The figures as the screen, the snapshot and the command carry them (JSON types)."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def month_with_suggestions(rep: Any) -> None:
    """April 2026: 160 warm hand-overs, all closed. "Decision maker" (+20: the lead is a director) fired on half
    of them and those won far more often; "Target industry" (+15: software) on a crossing half, winning a little
    more. And 250 leads active in April that never became MQLs, 210 of them scoring 72: at the 200 MQLs a month
    the two reps not away can work (100 each), the threshold would be 72 rather than 50."""
    ensure_default_reasons()
    not_a_fit = Reason.objects.get(kind="rejection", code="not_a_fit")
    at = APRIL_START + timedelta(days=3, hours=10)
    for user in get_user_model().objects.filter(groups__name=Role.REP.value):
        away = user.username == "zed"  # on leave: counts for no capacity
        RepProfile.objects.update_or_create(user=user, defaults={"capacity": 100, "is_away": away})
    plan = [(True, True, 32), (True, False, 26), (False, True, 10), (False, False, 4)]  # f1, f2, won of 40
    leads = [
        Lead(email=f"sugg{index}@acme.example", score=55, created_at=at, updated_at=at,
             seniority="director" if index < 80 else "analyst",
             industry="software" if (index // 40) % 2 == 0 else "retail")
        for index in range(160)
    ]  # fmt: skip
    leads += [
        Lead(
            email=f"active{index}@acme.example", score=72 if index < 210 else 10, created_at=at, updated_at=at
        )
        for index in range(250)
    ]
    Lead.objects.bulk_create(leads)
    cycles, rules = [], []
    for block, (decision_maker, industry, won) in enumerate(plan):
        for index in range(40):
            lead = leads[40 * block + index]
            outcome = Cycle.Outcome.WON if index < won else Cycle.Outcome.REJECTED
            cycle = Cycle(
                lead=lead, number=1, handed_over_at=at, tier="warm", score=55, fit_score=55, engagement_score=0,
                source="Google", owner=rep, outcome=outcome, closed_at=at + timedelta(days=2),
                accepted_at=at + timedelta(hours=1) if outcome == "won" else None,
                sql_at=at + timedelta(hours=2) if outcome == "won" else None,
                rejected_at=at + timedelta(hours=1) if outcome == "rejected" else None,
                rejection_reason=not_a_fit if outcome == "rejected" else None,
            )  # fmt: skip
            cycles.append(cycle)
            if decision_maker:
                rules.append(
                    CycleRule(cycle=cycle, rule_id="f1", kind="fit", name="Decision maker", points=20)
                )
            if industry:
                rules.append(
                    CycleRule(cycle=cycle, rule_id="f2", kind="fit", name="Target industry", points=15)
                )
    Cycle.objects.bulk_create(keyed(cycles))
    CycleRule.objects.bulk_create(rules)


def page(client: Any, month: str = APRIL) -> Any:
    return client.get(REVIEW, {"month": month})


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- reading the page ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [20, 400])
def test_every_role_reads_the_review_in_a_bounded_number_of_queries(
    agreement, reps, role_users, login, django_assert_max_num_queries, count
):
    # given a month with `count` hand-overs (a few, or many)
    build(7, reps, count=count)
    expected = as_json(review_for(MONTH))
    can = {
        Role.REP: (False, False), Role.SALES_MANAGER: (True, True), Role.MARKETER: (True, False),
        Role.MARKETING_MANAGER: (True, True), Role.ADMIN: (False, False),
    }  # fmt: skip
    for role, user in role_users.items():
        client = login(user)
        # when each role opens the review
        with django_assert_max_num_queries(QUERY_BUDGET):
            response = page(client)
        # then it shows this month's figures, with the forms that role may use
        assert response.status_code == 200, role
        assert response.context["data"] == ReviewFigures.from_dict(expected)
        assert (response.context["can_decide"], response.context["can_freeze"]) == can[role], role
        html = response.content.decode()
        assert f"{expected['funnel']['mqls']} hand-overs" in html
        assert ("Add decision" in html) is can[role][0], role
        assert ("Freeze this month" in html) is can[role][1], role


def test_anonymous_visitors_are_sent_to_log_in(client):
    # given nobody logged in
    # when the review is opened
    response = page(client)
    # then it asks to log in first
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- decisions and the next draft ------------------------------------------------------------------------------


def test_a_manager_accepts_suggestions_and_starts_the_next_draft_with_them(
    agreement, reps, sales_manager, marketing_manager, login
):
    # given a month whose data suggests raising "Decision maker" and a threshold that fits sales' capacity
    month_with_suggestions(reps[0])
    suggestions = {s["key"]: s for s in as_json(review_for(MONTH))["suggestions"]}
    assert {"learn-points-f1", "threshold"} <= set(suggestions)
    points, threshold = suggestions["learn-points-f1"]["change"], suggestions["threshold"]["change"]
    assert points["op"] == "set_points" and points["points"] > 20
    assert threshold == {"op": "set_threshold", "threshold": 72}
    manager = login(sales_manager)
    # when the sales manager accepts both
    for key in ("learn-points-f1", "threshold"):
        response = manager.post(reverse("feedback:decide"), {"month": APRIL, "suggestion": key})
        assert response.status_code == 302 and response["Location"] == f"{REVIEW}?month={APRIL}"
    # then each is a decision carrying its change and evidence, shown as accepted on the page
    decisions = {d.suggestion_key: d for d in Decision.objects.filter(month=MONTH)}
    assert set(decisions) == {"learn-points-f1", "threshold"}
    for key, decision in decisions.items():
        assert (
            decision.change == suggestions[key]["change"]
            and decision.evidence == suggestions[key]["evidence"]
        )
        assert (decision.text, decision.created_by, decision.applied_to) == (
            suggestions[key]["title"], sales_manager, None
        )  # fmt: skip
    response = page(manager)
    assert response.context["accepted_keys"] == {"learn-points-f1", "threshold"}
    assert response.context["pending_changes"] == 2
    assert "Start the next draft with 2 accepted changes" in response.content.decode()

    # when the marketing manager starts the next draft
    response = login(marketing_manager).post(reverse("feedback:start_draft"), {"month": APRIL})
    # then a draft exists with the accepted changes applied to the active agreement's content
    draft = AgreementVersion.objects.get(status=Status.DRAFT)
    assert response.status_code == 302 and response["Location"] == draft.get_absolute_url()
    assert draft.based_on == agreement and draft.created_by == marketing_manager
    assert draft.content["mql"]["threshold"] == 72
    rules = {rule["id"]: rule for rule in draft.content["mql"]["fit_rules"]}
    assert rules["f1"]["points"] == points["points"]
    assert {rid: rule["points"] for rid, rule in rules.items() if rid != "f1"} == {
        rule["id"]: rule["points"] for rule in agreement.content["mql"]["fit_rules"] if rule["id"] != "f1"
    }
    agreement.refresh_from_db()
    assert agreement.content["mql"]["threshold"] == 50 and agreement.status == Status.ACTIVE
    # and the decisions point at it, so the page shows them as in that version and nothing is pending
    assert set(Decision.objects.values_list("applied_to", flat=True)) == {draft.pk}
    response = page(manager)
    assert response.context["pending_changes"] == 0
    assert f"in v{draft.number}" in response.content.decode()


def test_a_decision_without_a_suggestion_is_an_action_item_with_owner_and_due_date(
    agreement, reps, marketer, login
):
    # given a month with figures
    build(7, reps, count=40)
    # when a marketer records an action item for a rep
    response = login(marketer).post(
        reverse("feedback:decide"),
        {
            "month": APRIL,
            "text": " Call back every webinar lead within a day ",
            "owner": reps[1].pk,
            "due": "2026-05-15",
        },
    )
    # then it is recorded as said, with no agreement change
    assert response.status_code == 302
    decision = Decision.objects.get()
    assert (decision.month, decision.text, decision.owner, decision.due, decision.change) == (
        MONTH, "Call back every webinar lead within a day", reps[1], date(2026, 5, 15), None
    )  # fmt: skip
    assert "Call back every webinar lead within a day" in page(login(marketer)).content.decode()


def test_a_suggestion_no_longer_in_the_figures_is_not_recorded(agreement, reps, sales_manager, login):
    # given a month with data
    build(7, reps, count=40)
    client = login(sales_manager)
    # when a manager accepts a suggestion the figures do not hold
    response = client.post(
        reverse("feedback:decide"), {"month": APRIL, "suggestion": "points-nope"}, follow=True
    )
    # then nothing is recorded, and the page says why
    assert not Decision.objects.exists()
    assert "That suggestion is no longer in this month" in response.content.decode()


def test_the_next_draft_needs_an_accepted_suggestion(agreement, reps, sales_manager, login):
    # given a month where nothing was accepted
    build(7, reps, count=40)
    # when a manager tries to start the next draft
    response = login(sales_manager).post(reverse("feedback:start_draft"), {"month": APRIL}, follow=True)
    # then no draft is created
    assert not AgreementVersion.objects.filter(status=Status.DRAFT).exists()
    assert "Accept at least one suggestion before starting the next draft." in response.content.decode()


# --- freezing -----------------------------------------------------------------------------------------------


def test_a_frozen_month_shows_its_frozen_figures_after_the_data_changes(
    agreement, reps, sales_manager, rep, login
):
    # given a month with figures, frozen by a manager
    build(7, reps)
    before = as_json(review_for(MONTH))
    response = login(sales_manager).post(reverse("feedback:freeze"), {"month": APRIL})
    assert response.status_code == 302
    snapshot = Snapshot.objects.get()
    assert (snapshot.month, snapshot.frozen_by, snapshot.data) == (MONTH, sales_manager, before)
    # when the data changes afterwards: every open hand-over of April is won
    start, end = APRIL_START, APRIL_START + timedelta(days=30)
    changed = Cycle.objects.filter(handed_over_at__gte=start, handed_over_at__lt=end, closed_at__isnull=True)
    assert changed.update(outcome=Cycle.Outcome.WON, closed_at=end) > 0
    now = as_json(review_for(MONTH))
    assert now["funnel"]["won"] > before["funnel"]["won"]
    # then the page (for any role) still shows the frozen figures, marked as frozen
    response = page(login(rep))
    assert (
        response.context["data"] == ReviewFigures.from_dict(before)
        and response.context["snapshot"] == snapshot
    )
    html = response.content.decode()
    assert "frozen" in html and "Frozen by" in html
    # and so do the CSV exports
    rows = csv_rows(login(rep).get(reverse("feedback:review_csv"), {"month": APRIL, "table": "funnel"}))
    assert rows[5][:2] == ["Won", str(before["funnel"]["won"])]
    # and a month is frozen once
    response = login(sales_manager).post(reverse("feedback:freeze"), {"month": APRIL}, follow=True)
    assert Snapshot.objects.count() == 1
    assert "April 2026 is already frozen." in response.content.decode()


# --- CSV exports ------------------------------------------------------------------------------------------------

FUNNEL_STAGES = [("leads", "Leads"), ("mqls", "MQLs"), ("accepted", "Accepted (SAL)"), ("sqls", "SQL"), ("won", "Won"),
                 ("rejected", "Rejected / recycled"), ("lost", "Lost"), ("immature", "Still open")]  # fmt: skip
TABLE_ROWS = {
    "sources": lambda d: d["marketing"]["by_source"],
    "campaigns": lambda d: d["marketing"]["by_campaign"],
    "reps": lambda d: d["sales"]["reps"],
    "score_bands": lambda d: d["score_bands"],
    "rule_lifts": lambda d: d["rule_lifts"],
    "high_score_not_converted": lambda d: d["lists"]["high_score_not_converted"],
    "low_score_won": lambda d: d["lists"]["low_score_won"],
    "rejection_reasons": lambda d: d["reasons"]["rejection_by_source"],
    "loss_reasons": lambda d: d["reasons"]["loss_by_source"],
    "suggestions": lambda d: [
        {key: s[key] for key in ("kind", "title", "evidence")} for s in d["suggestions"]
    ],
}


def cell(value: Any) -> str:
    return "" if value is None else str(value)


@pytest.mark.parametrize("table", list(CSV_TABLES))
def test_each_table_exports_as_csv_with_the_figures_of_the_page(agreement, reps, rep, login, table):
    # given a month with figures in every table
    build(7, reps)
    data = as_json(review_for(MONTH))
    # when a rep downloads the table
    response = login(rep).get(reverse("feedback:review_csv"), {"month": APRIL, "table": table})
    # then it is a CSV file named after the month and table
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="review-{APRIL}-{table}.csv"'
    header, *rows = csv_rows(response)
    # and its header and rows are the figures
    if table == "funnel":
        assert header == ["stage", "this month", "previous month", "change"]
        now, before = data["funnel"], data["previous_funnel"]
        assert rows == [
            [label, str(now[key]), str(before[key]), str(now[key] - before[key])]
            for key, label in FUNNEL_STAGES
        ]
        return
    figures = TABLE_ROWS[table](data)
    assert figures, f"{table} should have rows in this month"
    assert header == [key for key, value in figures[0].items() if not isinstance(value, dict | list)]
    assert rows == [[cell(row[key]) for key in header] for row in figures]


def test_an_empty_table_exports_a_placeholder_and_an_unknown_table_is_not_found(agreement, rep, login):
    # given a month with no hand-over
    client = login(rep)
    # when its sources table and a table that does not exist are downloaded
    empty = client.get(reverse("feedback:review_csv"), {"month": "2030-01", "table": "sources"})
    unknown = client.get(reverse("feedback:review_csv"), {"month": "2030-01", "table": "passwords"})
    # then the first says there are no rows, the second is not found
    assert csv_rows(empty) == [["(no rows)"]]
    assert unknown.status_code == 404


# --- the command --------------------------------------------------------------------------------------------------


def test_the_review_command_prints_the_same_figures_as_json(agreement, reps, sales_manager, login):
    # given a month with figures
    build(7, reps)
    expected = as_json(review_for(MONTH))
    out = io.StringIO()
    # when the command prints it
    call_command("review", "--month", APRIL, "--json", stdout=out)
    # then the JSON is the review's figures
    assert json.loads(out.getvalue()) == expected

    # when the month is frozen, and the command runs again
    login(sales_manager).post(reverse("feedback:freeze"), {"month": APRIL})
    out = io.StringIO()
    call_command("review", "--month", APRIL, "--json", stdout=out)
    # then it prints the frozen figures, saying who froze them and when
    printed = json.loads(out.getvalue())
    snapshot = Snapshot.objects.get()
    assert printed == {**expected, "frozen": {"by": "salesmanager", "at": snapshot.frozen_at.isoformat()}}


def test_the_review_command_refuses_a_month_it_cannot_read(db):
    # given / when / then a month that is not YYYY-MM is refused with the expected form
    with pytest.raises(CommandError, match="--month must look like 2026-10, not “April”."):
        call_command("review", "--month", "April", "--json", stdout=io.StringIO())


# --- permissions --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["decide", "start_draft", "freeze"])
def test_reps_read_the_review_but_cannot_decide_start_a_draft_or_freeze(agreement, reps, rep, login, action):
    # given a month with a suggestion, and a rep
    build(7, reps, count=60)
    client = login(rep)
    assert page(client).status_code == 200
    # when the rep posts a decision, the next draft or a freeze
    data = {"month": APRIL, "suggestion": "trigger-t1", "text": "Drop the demo trigger"}
    response = client.post(reverse(f"feedback:{action}"), data)
    # then it is forbidden and nothing changed
    assert response.status_code == 403
    assert not Decision.objects.exists() and not Snapshot.objects.exists()
    assert not AgreementVersion.objects.filter(status=Status.DRAFT).exists()


def test_a_marketer_decides_but_does_not_freeze(agreement, reps, marketer, login):
    # given a month with figures, and a marketer
    build(7, reps, count=60)
    client = login(marketer)
    # when the marketer freezes the month
    response = client.post(reverse("feedback:freeze"), {"month": APRIL})
    # then it is forbidden (only managers freeze), while a decision is recorded
    assert response.status_code == 403 and not Snapshot.objects.exists()
    assert (
        client.post(reverse("feedback:decide"), {"month": APRIL, "text": "Review webinar leads"}).status_code
        == 302
    )
    assert Decision.objects.get().created_by == marketer


def test_a_formula_in_lead_data_is_exported_as_text(agreement, reps, rep, login):
    # given a month worked by a rep whose name is a spreadsheet formula
    reps[0].first_name, reps[0].last_name = "=cmd|' /C calc'!A0", ""
    reps[0].save()
    build(7, reps)
    # when the reps table is downloaded
    header, *rows = csv_rows(
        login(rep).get(reverse("feedback:review_csv"), {"month": APRIL, "table": "reps"})
    )
    # then the formula is text (a leading quote), never a formula
    cells = [value for row in rows for value in row]
    assert "'=cmd|' /C calc'!A0" in cells
    assert not any(value.startswith(("=", "@", "+")) for value in cells)
