"""Bad input to the review pages is a clear 4xx or a message on the page, never a 500."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from feedback.models import Decision

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "month", ["9999-12", "10000-01", "0-1", "0001-01", "2026-13", "2026", "abc", "2026-%00"]
)
def test_an_impossible_month_is_a_404_with_the_format(marketer, login, month):
    response = login(marketer).get(reverse("feedback:review"), {"month": month})
    assert response.status_code == 404


@pytest.mark.parametrize("owner", ["abc", "1.5", "-1", "99999999999999999999999", "\x00"])
def test_a_decision_with_an_owner_that_is_no_id_is_refused_with_a_message(marketer, login, owner):
    # given a marketer recording a decision with a tampered owner field
    client = login(marketer)
    response = client.post(
        reverse("feedback:decide"), {"month": "2026-04", "text": "Call back", "owner": owner}
    )
    # then nothing is recorded and the page says why
    assert response.status_code == 302
    assert Decision.objects.count() == 0
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Choose the decision's owner from the list."
    ]


def test_an_owner_id_that_names_nobody_records_the_decision_without_owner(marketer, login):
    response = login(marketer).post(
        reverse("feedback:decide"), {"month": "2026-04", "text": "Call back", "owner": "424242"}
    )
    assert response.status_code == 302
    assert Decision.objects.get().owner is None
