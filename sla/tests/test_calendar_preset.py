"""The agreement editor's business-calendar presets: Japan sets Asia/Tokyo, 9:00–18:00, Mon–Fri, JP holidays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from sla import services
from sla.calendar import BusinessCalendar, is_open
from sla.models import AgreementVersion

HTMX = {"HX-Request": "true"}


@pytest.fixture
def draft(agreement, marketer):
    return services.agreement_draft_create(
        user=marketer, now=datetime(2026, 3, 2, 10, tzinfo=UTC), title="JP"
    )


def test_the_japan_preset_fills_the_whole_calendar(draft, marketer, login):
    # given whatever the form had, the marketer picks the Japan preset
    response = login(marketer).post(
        reverse("sla:part_edit", args=[draft.pk, "calendar"]),
        {"calendar-preset": "jp", "calendar-time_zone": "Europe/Berlin", "calendar-workdays": ["0"],
         "calendar-opens": "07:00", "calendar-closes": "08:00", "calendar-country": "DE",
         "calendar-closed_dates": "2026-12-29"},
        headers=HTMX,
    )  # fmt: skip
    # then the draft's calendar is Japan's, extra closed days kept, and the page says so
    assert response.status_code == 200
    calendar = AgreementVersion.objects.get(pk=draft.pk).content["terms"]["calendar"]
    assert calendar == {"time_zone": "Asia/Tokyo", "workdays": [0, 1, 2, 3, 4], "opens": "09:00",
                        "closes": "18:00", "country": "JP", "closed_dates": ["2026-12-29"]}  # fmt: skip
    assert "Asia/Tokyo" in response.content.decode()


def test_japanese_public_holidays_are_closed(draft, marketer, login):
    login(marketer).post(
        reverse("sla:part_edit", args=[draft.pk, "calendar"]),
        {"calendar-preset": "jp", "calendar-closed_dates": ""},
        headers=HTMX,
    )
    terms = AgreementVersion.objects.get(pk=draft.pk).content["terms"]["calendar"]
    calendar = BusinessCalendar.from_dict(terms)
    # 2026-11-03 (文化の日, Culture Day) is a Tuesday and a holiday; 2026-11-04 is a working Wednesday
    assert not is_open(datetime(2026, 11, 3, 1, tzinfo=UTC), calendar=calendar)  # 10:00 in Tokyo, closed
    assert is_open(datetime(2026, 11, 4, 1, tzinfo=UTC), calendar=calendar)
    assert not is_open(datetime(2026, 11, 4, 9, 30, tzinfo=UTC), calendar=calendar)  # 18:30 in Tokyo
