"""Nobody guesses passwords: django-axes locks a user name on a connection after a few wrong passwords."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def user(make_user):
    user = make_user(username="ada")
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(client: Client, password: str):
    return client.post(reverse("login"), {"username": "ada", "password": password})


def test_after_40_wrong_passwords_the_right_one_is_refused_with_a_clear_page(user, settings):
    client = Client()
    # given 40 wrong passwords
    statuses = [log_in(client, f"guess-{i}").status_code for i in range(40)]
    # then the first few are the ordinary form again, the rest are refused as locked out
    assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(statuses[settings.AXES_FAILURE_LIMIT :]) == {429}
    # when the right password comes / then it is refused too, saying why and for how long
    response = log_in(client, PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed log-ins" in page and "Try again in 15 minutes" in page
    assert "_auth_user_id" not in client.session


def test_a_few_mistakes_then_the_right_password_logs_in(user):
    client = Client()
    for i in range(3):
        log_in(client, f"typo-{i}")
    response = log_in(client, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_an_administrator_can_unlock(user):
    from axes.utils import reset

    client = Client()
    for i in range(10):
        log_in(client, f"guess-{i}")
    reset(username="ada")
    assert log_in(client, PASSWORD).status_code == 302
