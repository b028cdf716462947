import copy
import json
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sla.calendar import BusinessCalendar
from sla.terms import (
    STARTER_TERMS,
    BreachAction,
    EscalationAction,
    MarketingTerms,
    ServiceTerms,
    TermsError,
    TierTerms,
    starter_terms,
)

LONDON = ZoneInfo("Europe/London")


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def terms_with(path: str, value: Any) -> dict[str, Any]:
    """STARTER_TERMS with the value at a dotted path replaced (or removed when value is ...)."""
    data = starter_terms()
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return data


def test_starter_terms_match_the_documented_example() -> None:
    # given / when
    terms = ServiceTerms.from_dict(STARTER_TERMS)

    # then
    assert terms.tiers["hot"] == TierTerms(
        claim_minutes=5, first_contact_minutes=15, accept_minutes=240, outcome_days=30, status_update_days=7
    )
    assert terms.tiers["warm"] == TierTerms(
        claim_minutes=240,
        first_contact_minutes=960,
        accept_minutes=1920,
        outcome_days=60,
        status_update_days=7,
    )
    assert terms.on_breach is BreachAction.RETURN_TO_QUEUE
    assert terms.notify_manager is True
    assert terms.auto_assign is False
    assert terms.marketing == MarketingTerms(
        mql_per_month=200, required_fields=("email", "company", "job_title")
    )
    assert terms.calendar == BusinessCalendar(
        time_zone="Europe/London",
        workdays=frozenset({0, 1, 2, 3, 4}),
        opens=time(9, 0),
        closes=time(17, 30),
        country="GB",
        closed_dates=frozenset({date(2026, 12, 24)}),
    )


def test_round_trip_is_exact() -> None:
    # given
    data = starter_terms()

    # when
    again = ServiceTerms.from_dict(data).to_dict()

    # then the canonical JSON (what a signature signs) is unchanged
    assert again == STARTER_TERMS
    assert json.dumps(again, sort_keys=True, separators=(",", ":")) == json.dumps(
        STARTER_TERMS, sort_keys=True, separators=(",", ":")
    )


def test_starter_terms_is_a_fresh_copy() -> None:
    # given
    draft = starter_terms()

    # when
    draft["tiers"]["hot"]["claim_minutes"] = 10

    # then
    assert STARTER_TERMS["tiers"]["hot"]["claim_minutes"] == 5


def test_extra_tiers_are_allowed_and_kept_in_order() -> None:
    # given
    data = starter_terms()
    data["tiers"]["nurture"] = copy.deepcopy(data["tiers"]["warm"])

    # when
    terms = ServiceTerms.from_dict(data)

    # then
    assert list(terms.tiers) == ["hot", "warm", "nurture"]
    assert terms.to_dict() == data


def test_terms_are_immutable_and_hashable() -> None:
    # given
    terms = ServiceTerms.from_dict(STARTER_TERMS)

    # when / then
    with pytest.raises(TypeError):
        terms.tiers["hot"] = terms.tiers["warm"]  # type: ignore[index]
    assert hash(terms) == hash(ServiceTerms.from_dict(starter_terms()))
    assert terms == ServiceTerms.from_dict(starter_terms())


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("tiers.hot.claim_minutes", 0, "terms.tiers.hot.claim_minutes: must be a positive whole number"),
        ("tiers.hot.claim_minutes", 2.5, "terms.tiers.hot.claim_minutes: must be a positive whole number"),
        ("tiers.hot.claim_minutes", "5", "terms.tiers.hot.claim_minutes: must be a positive whole number"),
        ("tiers.warm.outcome_days", True, "terms.tiers.warm.outcome_days: must be a positive whole number"),
        ("tiers.warm.accept_minutes", ..., "terms.tiers.warm.accept_minutes: is required"),
        ("tiers.warm.accept_minute", 5, "terms.tiers.warm.accept_minute: unknown key"),
        ("tiers.hot", ..., "terms.tiers.hot: is required"),
        ("tiers.warm", [], "terms.tiers.warm: must be an object"),
        ("tiers", [], "terms.tiers: must be an object"),
        ("on_breach", "escalate", "terms.on_breach: must be one of none, return_to_queue, reassign"),
        ("notify_manager", "yes", "terms.notify_manager: must be true or false"),
        ("auto_assign", ..., "terms.auto_assign: is required"),
        ("marketing.mql_per_month", -1, "terms.marketing.mql_per_month: must be a whole number of 0 or more"),
        ("marketing.required_fields", "email", "terms.marketing.required_fields: must be a list"),
        ("marketing.required_fields", ["email", ""], r"terms.marketing.required_fields\[1\]: must be a lead"),
        ("marketing.required_fields", ["email", "email"], "terms.marketing.required_fields: must not repeat"),
        ("calendar.opens", "18:00", "terms.calendar.opens: must be HH:MM before closes"),
        ("calendar.country", "ZZ", "terms.calendar.country: unknown country code 'ZZ'"),
        ("calendar", None, "terms.calendar: must be an object"),
        ("extra", 1, "terms.extra: unknown key"),
        ("warn_before_minutes", -5, "terms.warn_before_minutes: must be a whole number of 0 or more"),
        ("escalation", {}, "terms.escalation: must be a list of steps"),
        (
            "escalation",
            [{"after_minutes": 0, "action": "page_ceo"}],
            r"terms.escalation\[0\].action: must be one of notify_owner, reassign, notify_managers_manager",
        ),
        ("escalation", [{"after_minutes": 5}], r"terms.escalation\[0\].action: is required"),
        (
            "escalation",
            [{"after_minutes": 60, "action": "reassign"}, {"after_minutes": 0, "action": "notify_owner"}],
            r"terms.escalation\[1\].after_minutes: steps must come in order of their delay",
        ),
        ("min_contact_attempts", 1.5, "terms.min_contact_attempts: must be a whole number of 0 or more"),
        ("pause_on_customer", "yes", "terms.pause_on_customer: must be true or false"),
    ],
)
def test_validation_errors_name_the_path(path: str, value: Any, message: str) -> None:
    # given
    data = terms_with(path, value)

    # when / then
    with pytest.raises(TermsError, match=message):
        ServiceTerms.from_dict(data)


def test_not_an_object() -> None:
    # given / when / then
    with pytest.raises(TermsError, match="^terms: must be an object$"):
        ServiceTerms.from_dict([])  # type: ignore[arg-type]


def test_breach_actions() -> None:
    # given / when / then
    assert [action.value for action in BreachAction] == ["none", "return_to_queue", "reassign"]
    assert ServiceTerms.from_dict(terms_with("on_breach", "none")).on_breach is BreachAction.NONE


def test_constructor_requires_hot_and_warm() -> None:
    # given
    terms = ServiceTerms.from_dict(STARTER_TERMS)

    # when / then
    with pytest.raises(TermsError, match="terms.tiers.warm: is required"):
        ServiceTerms(
            tiers={"hot": terms.tiers["hot"]},
            on_breach=BreachAction.NONE,
            notify_manager=True,
            auto_assign=False,
            marketing=terms.marketing,
            calendar=terms.calendar,
        )


def test_deadlines_of_a_hot_lead_on_friday_afternoon() -> None:
    # given a hot lead at 16:00 on Friday 20 November 2026 (90 working minutes left that day)
    terms = ServiceTerms.from_dict(STARTER_TERMS)

    # when
    deadlines = terms.deadlines(tier="hot", start=london(2026, 11, 20, 16, 0))

    # then
    assert deadlines == {
        "claim": london(2026, 11, 20, 16, 5),
        "first_contact": london(2026, 11, 20, 16, 15),
        "accept": london(2026, 11, 23, 11, 30),  # 90 min on Friday, 150 on Monday
        "outcome": london(2027, 1, 7, 16, 0),  # 30 open days later: Dec 24, 25, 28 and Jan 1 are closed
    }


def test_deadlines_of_a_warm_lead_arriving_at_night() -> None:
    # given a warm lead arriving at 22:00 UTC on Tuesday 24 November 2026
    terms = ServiceTerms.from_dict(STARTER_TERMS)

    # when
    deadlines = terms.deadlines(tier="warm", start=datetime(2026, 11, 24, 22, 0, tzinfo=UTC))

    # then every clock starts at Wednesday's opening; 510 working minutes a day
    assert deadlines["claim"] == london(2026, 11, 25, 13, 0)
    assert deadlines["first_contact"] == london(2026, 11, 26, 16, 30)  # 960 = 510 + 450
    assert deadlines["accept"] == london(2026, 11, 30, 15, 30)  # 1920 = 3 × 510 + 390
    assert deadlines["outcome"] == london(2027, 2, 22, 17, 30)  # closing of the 60th open day from Wednesday


def test_deadlines_unknown_tier() -> None:
    # given
    terms = ServiceTerms.from_dict(STARTER_TERMS)

    # when / then
    with pytest.raises(TermsError, match="unknown tier 'cold'"):
        terms.deadlines(tier="cold", start=london(2026, 11, 20, 16, 0))


tier_values = st.integers(min_value=1, max_value=100_000)


@given(
    tiers=st.dictionaries(
        st.text(min_size=1, max_size=8).filter(str.strip),
        st.fixed_dictionaries(
            {
                "claim_minutes": tier_values,
                "first_contact_minutes": tier_values,
                "accept_minutes": tier_values,
                "outcome_days": tier_values,
                "status_update_days": tier_values,
            }
        ),
        max_size=3,
    ),
    on_breach=st.sampled_from(["none", "return_to_queue", "reassign"]),
    flags=st.tuples(st.booleans(), st.booleans()),
    mql_per_month=st.integers(min_value=0, max_value=10_000),
    required_fields=st.lists(st.sampled_from(["email", "company", "job_title", "phone"]), unique=True),
)
def test_any_valid_terms_round_trip(
    tiers: dict[str, dict[str, int]],
    on_breach: str,
    flags: tuple[bool, bool],
    mql_per_month: int,
    required_fields: list[str],
) -> None:
    # given
    data = starter_terms()
    data["tiers"].update(tiers)
    data["on_breach"] = on_breach
    data["notify_manager"], data["auto_assign"] = flags
    data["marketing"] = {"mql_per_month": mql_per_month, "required_fields": required_fields}

    # when
    terms = ServiceTerms.from_dict(data)

    # then
    assert terms.to_dict() == data
    assert ServiceTerms.from_dict(terms.to_dict()) == terms


def test_engine_terms_are_optional_and_off_when_absent() -> None:
    # given terms written before the engine's terms existed
    data = starter_terms()
    for key in ("warn_before_minutes", "escalation", "min_contact_attempts", "pause_on_customer"):
        del data[key]
    # when they are read
    terms = ServiceTerms.from_dict(data)
    # then no warning, no ladder, no minimum and no pausing
    assert (
        terms.warn_before_minutes,
        terms.escalation,
        terms.min_contact_attempts,
        terms.pause_on_customer,
    ) == (
        0,
        (),
        0,
        False,
    )


def test_starter_ladder_is_typed() -> None:
    terms = ServiceTerms.from_dict(STARTER_TERMS)
    assert [(step.after_minutes, step.action) for step in terms.escalation] == [
        (0, EscalationAction.NOTIFY_OWNER),
        (60, EscalationAction.REASSIGN),
        (240, EscalationAction.NOTIFY_MANAGERS_MANAGER),
    ]
    assert terms.warn_before_minutes == 5 and terms.pause_on_customer is True
