"""A Japanese user sees Japanese: their own language and time zone, names family name first, yen amounts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from alignment import names
from alignment.models import UserPreference
from alignment.roles import Role


@pytest.fixture
def tanaka(make_user):
    return make_user(Role.REP, username="tanaka", first_name="一郎", last_name="田中")


def visible(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_names_follow_the_locale(tanaka):
    with translation.override("ja"):
        assert names.person_name(tanaka) == "田中 一郎"
        assert names.given_name(tanaka) == "田中さん"
    with translation.override("en-gb"):
        assert names.person_name(tanaka) == "一郎 田中"
        assert names.given_name(tanaka) == "一郎"


def test_money_is_yen_in_japanese_and_grouped_elsewhere():
    template = Template("{% load alignment_tags %}{{ amount|money }}")
    with translation.override("ja"):
        assert template.render(Context({"amount": Decimal("1200000.00")})) == "¥1,200,000"
    with translation.override("en-gb"):
        assert template.render(Context({"amount": Decimal("1200000.00")})) == "1,200,000.00"
        assert template.render(Context({"amount": None})) == "—"


def test_a_saved_language_and_zone_apply_on_every_page(login, tanaka):
    # given Tanaka saves Japanese and Tokyo time on the preferences page
    client = login(tanaka)
    response = client.post(reverse("preferences"), {"language": "ja", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert UserPreference.objects.get(user=tanaka).time_zone == "Asia/Tokyo"
    # when the queue opens (a fresh login, another browser: no cookie)
    other = login(tanaka)
    other.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    page = other.get(reverse("leads:queue"))
    # then it is in Japanese, names family name first, and times are Tokyo's
    assert '<html lang="ja">' in page.content.decode()
    body = visible(page)
    assert "リードキュー" in body and "田中 一郎" in body and "絞り込む" in body
    assert "Lead queue" not in body
    assert "Asia/Tokyo" in visible(other.get(reverse("preferences")))


def test_an_unknown_time_zone_is_a_clear_422(login, tanaka):
    response = login(tanaka).post(reverse("preferences"), {"language": "ja", "time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    assert "is not a known time zone" in response.content.decode()


def test_the_switcher_works_signed_out_and_refuses_unknown_languages(client):
    response = client.post(reverse("set_language_pref"), {"language": "ja", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "Alignment にログイン" in visible(client.get("/accounts/login/"))
    assert client.post(reverse("set_language_pref"), {"language": "xx"}).status_code == 400
    # an off-site "next" is not followed
    response = client.post(
        reverse("set_language_pref"), {"language": "en-gb", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_dates_use_the_japanese_format_and_the_users_zone(login, tanaka, make_lead):
    UserPreference.objects.create(user=tanaka, language="ja", time_zone="Asia/Tokyo")
    lead = make_lead(now=datetime(2026, 12, 1, 0, 30, tzinfo=UTC), first_name="太郎", last_name="山田")
    lead.mql_at = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    lead.save(update_fields=["mql_at"])
    body = visible(login(tanaka).get(reverse("leads:detail", args=[lead.pk])))
    assert "山田 太郎" in body
    assert "2026年12月1日9:30" in body  # 00:30 UTC is 9:30 in Tokyo
