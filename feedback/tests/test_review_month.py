"""The review opens on the last complete month, says when a month is too young to judge, and which agreement
each hand-over was made under (a past month never claims the version activated today)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.models import Cycle
from feedback.months import month_bounds, previous_month
from feedback.tests.factories import keyed
from leads.models import Lead

pytestmark = pytest.mark.django_db


def handovers(month: date, n: int, *, agreement=None, closed: int = 0) -> None:
    start, _ = month_bounds(month)
    at = start + timedelta(days=2, hours=10)
    leads = Lead.objects.bulk_create(
        [Lead(email=f"m{month:%Y%m}-{i}@acme.example", created_at=at, updated_at=at) for i in range(n)]
    )
    Cycle.objects.bulk_create(
        keyed(
            [
                Cycle(
                    lead=lead,
                    number=1,
                    handed_over_at=at,
                    tier="warm",
                    score=60,
                    fit_score=40,
                    engagement_score=20,
                    agreement=agreement,
                    outcome=Cycle.Outcome.WON if i < closed else "",
                    closed_at=at + timedelta(days=3) if i < closed else None,
                )  # fmt: skip
                for i, lead in enumerate(leads)
            ]
        )
    )


def test_the_review_opens_on_last_month_and_says_no_agreement_was_in_force_then(
    agreement, sales_manager, login
):
    this_month = timezone.localdate().replace(day=1)
    last_month = previous_month(this_month)
    # given last month's hand-overs, made before any agreement was activated, all closed; and this month's, open
    handovers(last_month, 6, agreement=None, closed=6)
    handovers(this_month, 2, agreement=agreement)
    # when the manager opens the review without choosing a month
    html = login(sales_manager).get(reverse("feedback:review")).content.decode()
    # then it shows last month, judged ready, and does not claim today's agreement was in force
    assert f"Monthly review · {last_month:%B %Y}" in html
    assert 'badge proposed">immature' not in html and "Not ready to judge" not in html
    assert (
        "No agreement was in force at the month's end; commitments are read from v1, activated later." in html
    )
    assert (
        "Hand-overs by the agreement in force at the time:" in html and "no agreement: 6 hand-overs" in html
    )
    # and this month is marked immature, with its hand-overs under v1
    current = login(sales_manager).get(reverse("feedback:review"), {"month": f"{this_month:%Y-%m}"})
    text = current.content.decode()
    assert '<span class="badge proposed">immature</span>' in text and "This month is not over yet" in text
    assert f"v{agreement.number}: 2 hand-overs" in text
    assert f"Agreement in force at the month's end: v{agreement.number}" in text


def test_a_past_month_with_most_hand_overs_still_open_is_marked_immature(agreement, sales_manager, login):
    month = previous_month(timezone.localdate().replace(day=1))
    handovers(month, 10, agreement=agreement, closed=3)
    html = login(sales_manager).get(reverse("feedback:review"), {"month": f"{month:%Y-%m}"}).content.decode()
    assert "7 of 10 hand-overs are still open" in html
