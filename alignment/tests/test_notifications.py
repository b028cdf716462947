"""The bell and the notifications page: per person, unread count, opening marks read, nobody sees another's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alignment.models import Notification

pytestmark = pytest.mark.django_db


def note(user, text, url="/leads/", minutes=0):
    return Notification.objects.create(
        user=user, key=f"k:{user.pk}:{text}", text=text, url=url,
        created_at=timezone.now() - timedelta(minutes=minutes),
    )  # fmt: skip


def test_the_bell_counts_only_my_unread_notifications(rep, sales_manager, login):
    note(rep, "Hot lead: Ann")
    note(rep, "SLA warning: Bob")
    note(sales_manager, "Escalation: Cy")
    Notification.objects.filter(text="SLA warning: Bob").update(read_at=timezone.now())
    bell = login(rep).get(reverse("notification_bell"), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in bell and 'data-testid="unread-count">1<' in bell
    page = login(rep).get(reverse("notifications")).content.decode()
    assert "Hot lead: Ann" in page and "SLA warning: Bob" in page and "Escalation: Cy" not in page


def test_opening_a_notification_marks_it_read_and_goes_to_its_page(rep, login):
    notification = note(rep, "Hot lead: Ann", url="/leads/42/")
    response = login(rep).post(reverse("notification_open", args=[notification.pk]))
    assert response.status_code == 302 and response["Location"] == "/leads/42/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_an_outside_link_is_never_followed(rep, login):
    notification = note(rep, "Odd", url="https://evil.example/")
    response = login(rep).post(reverse("notification_open", args=[notification.pk]))
    assert response["Location"] == reverse("notifications")


def test_nobody_opens_another_persons_notification(rep, sales_manager, login):
    notification = note(sales_manager, "Escalation: Cy")
    assert login(rep).post(reverse("notification_open", args=[notification.pk])).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read_empties_the_bell(rep, login):
    note(rep, "a")
    note(rep, "b")
    client = login(rep)
    client.post(reverse("notifications_read_all"))
    assert "unread-count" not in client.get(reverse("notification_bell")).content.decode()


def test_the_list_takes_a_fixed_number_of_queries(rep, login, django_assert_max_num_queries):
    for n in range(60):
        note(rep, f"n{n}", minutes=n)
    client = login(rep)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("notifications"))
    assert response.status_code == 200 and "n0" in response.content.decode()


def test_anonymous_visitors_go_to_the_login_page(client):
    assert client.get(reverse("notification_bell")).status_code == 302
