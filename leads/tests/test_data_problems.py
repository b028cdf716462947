"""Data problems as a marketer sees them: on the lead page and in one list, role-checked, in bounded queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alignment.roles import Role
from leads.intake.problems import problems_record
from leads.intake.segment import Problem
from leads.models import DataProblem, Lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def problem_lead() -> Lead:
    lead = Lead.objects.create(email="ada@acme.example", created_at=timezone.now(), updated_at=timezone.now())
    problems_record(
        [(Problem("batch[0].traits.employees", "“unknown” is not a number of employees", "unknown", "m1"), lead.pk),
         (Problem("batch[1].event", "required for track", "", "m2"), None)],
        source="api", now=timezone.now(),
    )  # fmt: skip
    return lead


def test_the_lead_page_shows_what_was_set_aside(problem_lead, marketer, login):
    page = login(marketer).get(problem_lead.get_absolute_url()).content.decode()
    assert "Data problems" in page
    assert "batch[0].traits.employees" in page and "is not a number of employees" in page


def test_marketers_list_every_problem_newest_first_in_two_queries(problem_lead, marketer, login):
    client = login(marketer)
    client.get(reverse("leads:data_problems"))  # warm the session and role caches
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("leads:data_problems")).content.decode()
    assert "batch[1].event" in page and "event not stored" in page
    assert "ada@acme.example" in page
    assert len(queries) <= 6  # session, user, roles, count, page (+ savepoints): never one per row


def test_the_list_narrows_to_one_lead(problem_lead, marketer, login):
    page = login(marketer).get(reverse("leads:data_problems"), {"lead": problem_lead.pk}).content.decode()
    assert "batch[0].traits.employees" in page and "batch[1].event" not in page


@pytest.mark.parametrize("query", [{"page": "99999999999999999999"}, {"lead": "abc"}, {"lead": "9" * 40}])
def test_bad_list_parameters_never_fail(problem_lead, marketer, login, query):
    assert login(marketer).get(reverse("leads:data_problems"), query).status_code == 200


@pytest.mark.parametrize(("role", "status"), [(Role.MARKETER, 200), (Role.MARKETING_MANAGER, 200),
                                              (Role.ADMIN, 200), (Role.REP, 403), (Role.SALES_MANAGER, 403)])  # fmt: skip
def test_only_marketing_and_admins_see_the_list(role_users, login, role, status):
    assert login(role_users[role]).get(reverse("leads:data_problems")).status_code == status


def test_a_merge_keeps_the_problems_with_the_surviving_lead(problem_lead):
    from leads.services import lead_merge

    keep = Lead.objects.create(email="", created_at=timezone.now(), updated_at=timezone.now())
    lead_merge(keep=keep, merge=problem_lead, now=timezone.now(), reason="test")
    assert DataProblem.objects.filter(lead=keep).count() == 1
