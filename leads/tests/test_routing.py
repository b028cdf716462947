"""Routing: who can take a lead (away, planned absence, working hours, capacity), weighted round-robin, the
routing screen for sales managers, and the Assign menu marking unavailable reps instead of hiding them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alignment.roles import Role
from leads.models import Lead, RepProfile, State
from leads.queue import lead_assign, lead_assign_round_robin
from leads.queue.assignment import rep_profile_update, rep_statuses
from leads.queue.availability import Turn, availability, next_turn, within_hours

NOW = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)  # a Tuesday, 11:00 in London


def open_lead(n: int) -> Lead:
    return Lead.objects.create(
        email=f"routed{n}@acme.example",
        state=State.MQL,
        tier="warm",
        mql_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )


# --- pure rules -----------------------------------------------------------------------------------------------


def test_availability_names_every_reason():
    # given a rep inside a planned absence, off hours and at capacity
    result = availability(
        is_away=False, away_from=NOW - timedelta(days=1), away_until=datetime(2026, 3, 12, 9, 0, tzinfo=UTC),
        works_from=time(13, 0), works_until=time(21, 0), open_leads=5, capacity=5, now=NOW, local_now=time(11, 0),
    )  # fmt: skip
    # then they are unavailable, and each reason is said
    assert not result.available and result.away and result.off_hours and result.over_capacity
    assert (
        result.reason
        == "away until Thu 12 Mar 09:00, outside working hours (13:00–21:00), over capacity (5/5)"
    )


def test_a_planned_absence_counts_only_while_it_lasts():
    kwargs = {
        "is_away": False,
        "works_from": None,
        "works_until": None,
        "open_leads": 0,
        "capacity": 5,
        "local_now": time(11),
    }
    later = {"away_from": NOW + timedelta(days=1), "away_until": NOW + timedelta(days=3)}
    assert availability(now=NOW, **later, **kwargs).available
    assert not availability(now=NOW + timedelta(days=2), **later, **kwargs).available
    assert availability(now=NOW + timedelta(days=3), **later, **kwargs).available


def test_working_hours_wrap_past_midnight():
    assert within_hours(time(23, 0), time(22, 0), time(6, 0)) and within_hours(
        time(5, 59), time(22, 0), time(6, 0)
    )
    assert not within_hours(time(12, 0), time(22, 0), time(6, 0))
    assert within_hours(time(3, 0), None, None)


def test_weighted_round_robin_shares_leads_by_weight():
    # given reps of weight 2, 1 and 1 starting level
    counts = {1: 0, 2: 0, 3: 0}
    weights = {1: 2, 2: 1, 3: 1}
    # when 40 leads are handed out
    given_to = Counter()
    for _ in range(40):
        key = next_turn(
            [Turn(key=k, weight=weights[k], assigned=counts[k], last_assigned_at=None) for k in counts]
        )
        counts[key] += 1
        given_to[key] += 1
    # then the weight-2 rep took half, the others a quarter each
    assert given_to == {1: 20, 2: 10, 3: 10}


# --- services ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_round_robin_follows_weights_and_skips_unavailable_reps(agreement, make_user):
    # given a weight-2 rep, a weight-1 rep, one away until Thursday and one whose hours have not started
    heavy, light, away, late = (
        make_user(Role.REP, username=name) for name in ("heavy", "light", "away", "late")
    )
    RepProfile.objects.create(user=heavy, weight=2)
    RepProfile.objects.create(
        user=away, away_from=NOW - timedelta(hours=1), away_until=NOW + timedelta(days=2)
    )
    RepProfile.objects.create(user=late, works_from=time(14, 0), works_until=time(22, 0))
    # when six leads are assigned round-robin
    owners = [lead_assign_round_robin(lead_id=open_lead(n).pk, now=NOW).owner.username for n in range(6)]
    # then heavy took four, light two, nobody else any
    assert Counter(owners) == {"heavy": 4, "light": 2}


@pytest.mark.django_db
def test_a_rep_back_from_leave_starts_level_with_the_others(agreement, make_user, sales_manager):
    # given two reps who took 10 leads each by round-robin while a third was away
    a, b, back = (make_user(Role.REP, username=name) for name in ("a", "b", "back"))
    RepProfile.objects.create(user=a, assigned_count=10)
    RepProfile.objects.create(user=b, assigned_count=10)
    RepProfile.objects.create(user=back, is_away=True)
    # when the manager marks the third rep back
    rep_profile_update(rep=back, by=sales_manager, now=NOW, is_away=False)
    # then the next three leads go one to each instead of all going to the returning rep
    owners = [lead_assign_round_robin(lead_id=open_lead(n).pk, now=NOW).owner.username for n in range(3)]
    assert sorted(owners) == ["a", "b", "back"]


# --- screens ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_routing_screen_shows_each_rep_and_saves_settings(agreement, make_user, sales_manager, login):
    # given a rep at capacity
    rep = make_user(Role.REP, username="cara", first_name="Cara", last_name="Full")
    RepProfile.objects.create(user=rep, capacity=1)
    lead_assign(lead_id=open_lead(1).pk, rep=rep, by="test", now=NOW)
    client = login(sales_manager)
    # when the manager opens the routing screen
    page = client.get(reverse("leads:routing")).content.decode()
    # then the rep is listed as over capacity
    assert "Cara Full" in page and "over capacity (1/1)" in page
    # and when the manager raises capacity, sets weight 3 and working hours
    response = client.post(
        reverse("leads:routing_rep", args=[rep.pk]),
        {f"rep{rep.pk}-capacity": "10", f"rep{rep.pk}-weight": "3",
         f"rep{rep.pk}-works_from": "08:00", f"rep{rep.pk}-works_until": "18:00"},
    )  # fmt: skip
    assert response.status_code == 302
    profile = RepProfile.objects.get(user=rep)
    assert (profile.capacity, profile.weight, profile.works_from, profile.works_until) == (
        10, 3, time(8, 0), time(18, 0),
    )  # fmt: skip


@pytest.mark.django_db
def test_routing_refuses_bad_input_with_the_reason(agreement, make_user, sales_manager, login):
    rep = make_user(Role.REP, username="dan")
    response = login(sales_manager).post(
        reverse("leads:routing_rep", args=[rep.pk]),
        {f"rep{rep.pk}-capacity": "5", f"rep{rep.pk}-weight": "0",
         f"rep{rep.pk}-away_from": "2026-03-12T09:00", f"rep{rep.pk}-away_until": "2026-03-11T09:00"},
    )  # fmt: skip
    assert response.status_code == 422
    body = response.content.decode()
    assert "The absence must end after it starts." in body and "greater than or equal to 1" in body
    assert not RepProfile.objects.filter(user=rep).exists()


@pytest.mark.django_db
def test_routing_is_for_sales_managers(agreement, rep, login):
    assert login(rep).get(reverse("leads:routing")).status_code == 403


@pytest.mark.django_db
def test_assign_menu_marks_away_and_full_reps_instead_of_hiding_them(
    agreement, make_user, sales_manager, login
):
    # given an available rep, one away and one at capacity
    make_user(Role.REP, username="free", first_name="Free", last_name="Rep")
    away = make_user(Role.REP, username="away", first_name="Away", last_name="Rep")
    full = make_user(Role.REP, username="full", first_name="Full", last_name="Rep")
    RepProfile.objects.create(user=away, is_away=True)
    RepProfile.objects.create(user=full, capacity=1)
    lead_assign(lead_id=open_lead(1).pk, rep=full, by="test", now=timezone.now())
    lead = open_lead(2)
    # when the manager opens the Assign menu
    menu = login(sales_manager).get(reverse("leads:assign", args=[lead.pk])).content.decode()
    # then all three are offered, the unavailable ones marked with why
    assert "Free Rep (0/50 open)" in menu
    assert "Away Rep (0/50 open · away)" in menu
    assert "Full Rep (1/1 open · over capacity (1/1))" in menu


@pytest.mark.django_db
def test_rep_statuses_reads_in_bounded_queries(agreement, make_user, django_assert_max_num_queries):
    for n in range(12):
        RepProfile.objects.create(user=make_user(Role.REP, username=f"r{n}"), capacity=3)
    with django_assert_max_num_queries(2):
        statuses = rep_statuses(now=NOW)
    assert len(statuses) == 12
