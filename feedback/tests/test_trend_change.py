"""Did the last agreement change help? (feedback/trend_change.py and the trend page's answer.)

Built on test_trend's history (v11 until 15 Feb 2026, v12 since) and, for a clear verdict, forty hand-overs on
each side of the change with known results."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from feedback.models import Cycle
from feedback.tests.test_trend import _at, _cycle, build_history
from feedback.trend_change import MIN_SIDE, change_effect

pytestmark = pytest.mark.django_db

CUT = _at(date(2026, 2, 15))
WINDOW = (datetime(2025, 10, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))


def _side(start: datetime, n: int, *, sql_every: int, ranked: bool) -> None:
    """`n` closed hand-overs a day apart from `start`: one in `sql_every` won (an SQL); a ranked side gives the
    won ones the high scores, an unranked one scores everyone alike."""
    for i in range(n):
        won = i % sql_every == 0
        score = (90 if won else 20) if ranked else 50
        closed = {
            "closed_at": start + timedelta(days=i, hours=5),
            "accepted_at": start + timedelta(days=i, hours=1),
        }
        if won:
            _cycle(
                start + timedelta(days=i),
                score,
                outcome="won",
                sql_at=start + timedelta(days=i, hours=2),
                **closed,
            )
        else:
            _cycle(start + timedelta(days=i), score, outcome="lost", **closed)


def test_a_change_that_raised_conversion_and_ranking_is_said_to_have_helped(agreement):
    build_history(agreement)
    Cycle.objects.all().delete()
    # given 40 hand-overs before v12 (1 in 4 an SQL, the score ranking nothing) and 40 since (1 in 2, well ranked)
    _side(CUT - timedelta(days=60), 40, sql_every=4, ranked=False)
    _side(CUT + timedelta(hours=1), 40, sql_every=2, ranked=True)
    effect = change_effect(*WINDOW)
    # then the change judged is v11 → v12, and its figures either side
    assert (effect.version, effect.previous, effect.activated_at) == (12, 11, CUT)
    assert (effect.before.handovers, effect.after.handovers) == (40, 40)
    assert (effect.before.sql_rate, effect.after.sql_rate) == (0.25, 0.5)
    assert (effect.before.auc, effect.after.auc) == (0.5, 1.0)
    # and the answer is a yes, in words, with the figures
    assert effect.verdict == "helped"
    assert effect.answer.startswith("Yes, it helped")
    assert "MQL→SQL 25% → 50%, AUC 0.50 → 1.00" in effect.answer


def test_a_change_that_lowered_conversion_is_said_not_to_have_helped(agreement):
    build_history(agreement)
    Cycle.objects.all().delete()
    _side(CUT - timedelta(days=60), 40, sql_every=2, ranked=True)
    _side(CUT + timedelta(hours=1), 40, sql_every=4, ranked=False)
    effect = change_effect(*WINDOW)
    assert effect.verdict == "hurt" and effect.answer.startswith("No, it did not help")


def test_too_few_hand_overs_since_the_change_is_too_early_to_tell(agreement):
    # given test_trend's history: six hand-overs before v12 (15 Feb) and none since
    build_history(agreement)
    effect = change_effect(*WINDOW)
    assert (effect.before.handovers, effect.after.handovers) == (6, 0)
    assert effect.verdict == "too_early"
    assert effect.answer.startswith(
        f"Too early to tell: 6 hand-overs before v12 and 0 since (at least {MIN_SIDE}"
    )


def test_no_change_in_the_window_means_nothing_to_judge(agreement, marketing_manager, login):
    build_history(agreement)
    # when the window (April–May 2026) holds no activation
    assert change_effect(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)) is None
    page = (
        login(marketing_manager)
        .get(reverse("feedback:trend"), {"to": "2026-05", "months": 2})
        .content.decode()
    )
    assert "there is no change to judge" in page


def test_the_trend_page_answers_whether_the_change_helped(agreement, marketing_manager, login):
    build_history(agreement)
    Cycle.objects.all().delete()
    _side(CUT - timedelta(days=60), 40, sql_every=4, ranked=False)
    _side(CUT + timedelta(hours=1), 40, sql_every=2, ranked=True)
    page = (
        login(marketing_manager)
        .get(reverse("feedback:trend"), {"to": "2026-05", "months": 6})
        .content.decode()
    )
    assert "Did last quarter&#x27;s change help?" in page or "Did last quarter's change help?" in page
    assert 'class="answer helped"' in page and "v11 → v12, in force since" in page
