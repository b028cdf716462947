"""The database's judgement of MQL criteria (leads.scoring.criteria_sql) is sla.criteria.evaluate's, lead for lead.

Generated leads carry blank, padded, mixed-case, non-ASCII, missing and oddly typed attributes, and 0-30
activities placed at random or exactly on window, silence and inactivity edges; the starter agreement and randomly
generated criteria are evaluated both ways, fed as leads/scoring.py feeds evaluate(). Run on SQLite and with
DATABASE_URL pointing at PostgreSQL; CRITERIA_SQL_SEEDS=200 widens the random sweep.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count

from leads.models import Activity, Lead, State
from leads.scoring import attributes_of, facts_for
from leads.scoring.criteria_sql import (
    _WHITESPACE,
    NotExpressible,
    annotate_evaluation,
    can_express,
    count_mqls,
    gate_alias,
    rule_alias,
    trigger_alias,
)
from leads.scoring.rescore import judge
from sla.content import STARTER_MQL
from sla.criteria import MqlCriteria

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STARTER = MqlCriteria.from_dict(STARTER_MQL)

# --- generated facts ---------------------------------------------------------------------------------------

TEXT_FIELDS: dict[str, list[str]] = {
    "seniority": ["director", " Director ", "VP", "vp\t", "c-level", "Owner", "manager", "student", "", "  ",
                  "DIRECTOR", "\xa0vp\u3000", "individual", "Diréctor"],
    "industry": ["software", "Software ", "financial services", "Healthcare", "EDUCATION", "retail", "",
                 "SOFTWARE\xa0", "marketing-automation", "Großhandel", "GROSSHANDEL"],
    "country": ["GB", "gb ", "United Kingdom", "DE", "France", "", "Straße", "STRASSE", "STRAẞE", "Zürich", "Österreich"],
    "job_title": ["Head of Marketing", "marketing manager", "CTO", "Student", "", "Kassel office",
                  "VP Sales", "  Owner  "],
    "company": ["Acme", "", "  ", "Globex Corp", "acme ltd"],
    "department": ["Sales", "marketing", "", "IT"],
    "source": ["Google", "google ", "Direct Traffic", "Referral", ""],
    "campaign": ["spring", "", "Spring-2026", "1200"],
    "first_name": ["Ann", "", "Bob"],
    "last_name": ["Lee", "", "O'Neil"],
}  # fmt: skip
EMPLOYEES = [None, 0, 5, 9, 10, 11, 99, 100, 101, 250, 1200, 5000]
MAIL_DOMAINS = ["acme.example", "GMAIL.com", "gmail.com.", "yahoo.co.uk", " hotmail.com", "web.de",
                "Outlook.COM ", "mail.acme.example", "gmail.com .", "proton.me"]  # fmt: skip
CUSTOM: dict[str, list[Any]] = {
    "size": [1200, 100, 99.5, 100.0, "1,200", " 300 ", "51-200", "", None, True, False, "1e3", "abc", [],
             ["a"], {}, {"x": 1}, "1_000", "-5", "+7.5", ".5", "1e400", "1e-400", 1e-05, 0.1 + 0.2,
             10**20, "5.", "nan", "12\t", "1,2,0,0"],
    "plan": ["Enterprise", "enterprise ", "free", "", None, True, 1, 2.5, ["enterprise"], "ENTERPRISE\xa0",
             "pro plan"],
    "tags": [[], ["vip"], {}, {"a": 1}, "vip", "", None, "  ", ["VIP", "b"]],
    "score": [0, 10, 10.5, -3, "12", None, 3.0, "ten"],
    "seniority": ["vp", "director"],  # shadowed by the lead's own field
    "Employees": [500, "500"],  # a custom attribute, not the lead field
}  # fmt: skip
TYPES = ["page", "Page", " page ", "PAGE", "download", "webinar", "email_open", "email_click", "demo_request",
         "form_submit", "trial_signup", "custom_thing", "Demo_Request"]  # fmt: skip
PROPERTIES: dict[str, list[Any]] = {
    "path": ["/pricing", "/Pricing/enterprise", " /pricing ", "/pricing-old", "/blog/post-1", "/BLOG", "/careers",
             "/careers/eng", "/", "", None, 5, ["x"], "/größe", "/PRICING\u2003"],
    "asset": ["Case Study: Acme", "case study", "whitepaper", "CASE STUDY ", "", None, "case-study"],
    "title": ["Pricing", "Blog", "", 3.5],
    "score": [1, 2.5, "3", "x"],
}  # fmt: skip
EDGE_DAYS = [1, 2, 3, 7, 14, 30, 60, 90, 180]


def _email(rng: random.Random, index: int) -> str:
    """Mostly unique addresses at varied domains; some blank or odd (repeats become blank, see make_leads)."""
    roll = rng.random()
    if roll < 0.08:
        return ""
    if roll < 0.12:
        return rng.choice(["gmail.com", "no-at-sign", "a@b@GMAIL.COM", "@", "ann@", " Bob@Yahoo.co.uk."])
    local = rng.choice(["ann", "Bob", " carl", "d.e"])
    return f"{local}{index}@{rng.choice(MAIL_DOMAINS)}"


def _attributes(rng: random.Random) -> dict[str, Any]:
    return {key: rng.choice(values) for key, values in CUSTOM.items() if rng.random() < 0.6}


def _occurred(rng: random.Random, last: datetime | None) -> datetime:
    roll = rng.random()
    if roll < 0.25:  # exactly on an edge
        return NOW - timedelta(days=rng.choice(EDGE_DAYS))
    if roll < 0.32:  # a microsecond either side of an edge
        return NOW - timedelta(days=rng.choice(EDGE_DAYS), microseconds=rng.choice([-1, 1]))
    if roll < 0.36:
        return NOW
    if roll < 0.40:
        return NOW + timedelta(hours=rng.choice([1, 48]))  # in the future: ignored
    if roll < 0.50 and last is not None:  # a comeback exactly (or nearly) a silence after the previous one
        return last + timedelta(days=rng.choice([30, 180]), microseconds=rng.choice([0, 0, -1]))
    return NOW - timedelta(seconds=rng.uniform(0, 200 * 86400))


def _activity(rng: random.Random, lead: Lead, last: datetime | None) -> Activity:
    properties = {key: rng.choice(values) for key, values in PROPERTIES.items() if rng.random() < 0.5}
    at = _occurred(rng, last)
    return Activity(
        lead=lead,
        type=rng.choice(TYPES),
        properties=properties,
        occurred_at=at,
        received_at=NOW,
        source="test",
    )


def make_leads(seed: int, count: int = 80) -> list[Lead]:
    rng = random.Random(seed)
    leads = []
    for index in range(count):
        fields = {name: rng.choice(values) for name, values in TEXT_FIELDS.items()}
        leads.append(
            Lead(
                email=_email(rng, index),
                employees=rng.choice(EMPLOYEES),
                attributes=_attributes(rng),
                created_at=NOW,
                updated_at=NOW,
                **fields,
            )
        )
    _unique_emails(leads)
    leads = Lead.objects.bulk_create(leads)
    activities = []
    for lead in leads:
        last = None
        for _ in range(rng.choice([0, 0, 1, 2, 3, 5, 8, 12, 20, 30])):
            activity = _activity(rng, lead, last)
            activities.append(activity)
            last = activity.occurred_at
    Activity.objects.bulk_create(activities)
    _hand_some_back(random.Random(seed * 7919), leads, activities)
    return list(Lead.objects.order_by("pk"))


def _hand_some_back(rng: random.Random, leads: list[Lead], activities: list[Activity]) -> None:
    """Some leads were rejected (recycled) or lost: only activity after that counts, and until there is some they
    are no MQL. The moment falls on an activity, a microsecond either side, after all of them, or is unknown."""
    times: dict[int, list[datetime]] = {}
    for activity in activities:
        times.setdefault(activity.lead_id, []).append(activity.occurred_at)
    changed = []
    for lead in leads:
        roll = rng.random()
        if roll >= 0.4:
            continue
        own = times.get(lead.pk) or [NOW - timedelta(days=5)]
        at = rng.choice(own) + timedelta(microseconds=rng.choice([0, 0, -1, 1]))
        at = rng.choice([at, at, at, NOW + timedelta(days=1), None])
        if roll < 0.3:
            lead.state, lead.decided_at = State.RECYCLED, at
        else:
            lead.state, lead.outcome_at = State.LOST, at
        changed.append(lead)
    Lead.objects.bulk_update(changed, ["state", "decided_at", "outcome_at"])


def _unique_emails(leads: list[Lead]) -> None:
    seen: set[str] = set()
    for lead in leads:
        if lead.email and lead.email in seen:
            lead.email = ""
        seen.add(lead.email)


# --- generated criteria ------------------------------------------------------------------------------------

FIELDS = [*TEXT_FIELDS, "email", "employees", *CUSTOM, "missing_attr"]
TEXT_VALUES = ["director", "VP", " software ", "gmail", "@", "enterprise", "vip", "true", "1200", "100", "",
               "acme", "gb", "k", "ss", "strasse", "grosshandel", "marketing", "/pricing", "case study", "[", "a", "o"]  # fmt: skip
NUMBERS = [0, 10, 99.5, 100, 1200, 1e-05, 0.30000000000000004, -5, 3, 500, 1000]
OPS = ["equals", "not_equals", "one_of", "contains", "starts_with", "gte", "lte", "between", "is_empty",
       "is_not_empty", "free_mail"]  # fmt: skip


def _vocabulary(name: str) -> list[str]:
    """ASCII text the data holds for this field or property (criteria text must be ASCII), trimmed at random."""
    values = {**TEXT_FIELDS, **CUSTOM, **PROPERTIES}.get(name, [])
    return [value for value in values if isinstance(value, str) and value.strip() and value.isascii()]


def _condition_value(rng: random.Random, op: str, name: str) -> Any:
    texts = TEXT_VALUES + (_vocabulary(name) * 3)
    if op in ("is_empty", "is_not_empty", "free_mail"):
        return None
    if op in ("equals", "not_equals"):
        return rng.choice([*texts, *NUMBERS, True, False])
    if op == "one_of":
        return rng.sample([*texts, *NUMBERS, True], rng.randint(1, 4))
    if op in ("contains", "starts_with"):
        text = rng.choice([value for value in texts if value.strip()]).strip()
        return (
            text[: rng.randint(1, len(text))]
            if op == "starts_with"
            else text[rng.randint(0, len(text) - 1) :]
        )
    if op in ("gte", "lte"):
        return rng.choice(NUMBERS)
    return sorted(rng.sample(NUMBERS, 2))


def _condition(rng: random.Random, *, subject: str = "field", names: list[str] = FIELDS) -> dict[str, Any]:
    op, name = rng.choice(OPS), rng.choice(names)
    return {subject: name, "op": op, "value": _condition_value(rng, op, name)}


def _where(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.4:
        return None
    return _condition(rng, subject="property", names=[*PROPERTIES, "missing_prop"])


def random_criteria(rng: random.Random) -> MqlCriteria:
    ids = iter(range(1000))
    activity_types = [
        "page",
        "download",
        "webinar",
        "email_open",
        "demo_request",
        "*",
        " Page ",
        "custom_thing",
    ]
    data = {
        "threshold": rng.randint(-10, 80),
        "fit_rules": [
            {
                "id": f"f{next(ids)}",
                "name": "fit",
                "points": rng.randint(-30, 30),
                "condition": _condition(rng),
            }
            for _ in range(rng.randint(0, 5))
        ],
        "engagement_rules": [
            {
                "id": f"e{next(ids)}",
                "name": "engagement",
                "points": rng.randint(-50, 30),
                "activity": rng.choice(activity_types),
                "where": _where(rng),
                "max_count": rng.choice([None, 1, 2, 5]),
                "window_days": rng.choice([None, 1, 2, 7, 30, 90, 180]),
                "min_count": rng.choice([1, 1, 2, 3]),
            }  # fmt: skip
            for _ in range(rng.randint(0, 6))
        ],
        "inactivity": rng.choice(
            [None, {"days": rng.choice([7, 30, 90, 180]), "points": rng.randint(-20, 0)}]
        ),
        "gates": [
            {"id": f"g{next(ids)}", "name": "gate", "condition": _condition(rng)}
            for _ in range(rng.randint(0, 2))
        ],
        "triggers": [
            {
                "id": f"t{next(ids)}",
                "name": "trigger",
                "activity": rng.choice(activity_types),
                "where": _where(rng),
                "attribute": rng.choice([None, _condition(rng)]),
                "requires_gates": rng.random() < 0.5,
                "min_silence_days": rng.choice([None, None, 30, 180]),
                "within_days": rng.choice([None, 2, 7, 30]),
                "reason": "",
            }  # fmt: skip
            for _ in range(rng.randint(0, 3))
        ],
    }
    return MqlCriteria.from_dict(data)


# --- the comparison ----------------------------------------------------------------------------------------


def python_tier(criteria: MqlCriteria, lead: Lead, facts: list, now: datetime = NOW) -> str:
    """The tier scoring gives the lead: none while a handed-back lead waits for new activity."""
    evaluation, waits = judge(lead, facts, criteria, now)
    return "" if waits else evaluation.tier.value


def python_view(criteria: MqlCriteria, lead: Lead, facts: list, now: datetime = NOW) -> dict[str, Any]:
    """What scoring's Python path (`judge`: evaluate() on the activity that counts) says, in the shape of the SQL
    annotations."""
    evaluation, waits = judge(lead, facts, criteria, now)
    points = {hit.rule_id: hit.points for hit in evaluation.breakdown}
    failed = {gate.gate_id for gate in evaluation.failed_gates}
    fired = {hit.trigger_id for hit in evaluation.triggers}
    view = {
        "sql_fit": evaluation.fit,
        "sql_engagement": evaluation.engagement,
        "sql_total": evaluation.total,
        "sql_gates_passed": evaluation.gates_passed,
        "sql_triggered": bool(evaluation.triggers),
        "sql_waits": waits,
        "sql_is_mql": evaluation.is_mql and not waits,
        "sql_tier": "" if waits else evaluation.tier.value,
    }
    for rule in (*criteria.fit_rules, *criteria.engagement_rules):
        view[rule_alias(rule.id)] = points.get(rule.id, 0)
    if criteria.inactivity is not None:
        view[rule_alias("inactivity")] = points.get("inactivity", 0)
    for gate in criteria.gates:
        view[gate_alias(gate.id)] = gate.id not in failed
    for trigger in criteria.triggers:
        view[trigger_alias(trigger.id)] = trigger.id in fired
    return view


def assert_same(criteria: MqlCriteria, leads: list[Lead], now: datetime = NOW) -> int:
    """Compare every lead; return how many of them the criteria make MQLs."""
    by_pk = {lead.pk: lead for lead in leads}
    facts = facts_for(list(by_pk))
    expected = {pk: python_view(criteria, lead, facts.get(pk, []), now) for pk, lead in by_pk.items()}
    names = list(next(iter(expected.values())))
    rows = annotate_evaluation(Lead.objects.filter(pk__in=by_pk), criteria=criteria, now=now).values(
        "pk", *names
    )
    seen = 0
    for row in rows:
        pk, want = row["pk"], expected[row["pk"]]
        diff = {name: (row[name], want[name]) for name in names if row[name] != want[name]}
        if diff:
            raise AssertionError(_explain(criteria, by_pk[pk], facts.get(pk, []), diff))
        seen += 1
    assert seen == len(leads)
    return sum(view["sql_is_mql"] for view in expected.values())


def _explain(criteria: MqlCriteria, lead: Lead, facts: list, diff: dict) -> str:
    activities = [(fact.type, fact.occurred_at.isoformat(), fact.properties) for fact in facts]
    return (
        f"SQL vs Python (got, expected): {diff}\n"
        f"criteria: {json.dumps(criteria.to_dict())}\n"
        f"attributes: {attributes_of(lead)!r}\n"
        f"activities: {activities!r}"
    )


# --- tests -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_starter_agreement_matches_the_python_evaluator(seed):
    # given
    leads = make_leads(seed)
    # when / then
    mqls = assert_same(STARTER, leads)
    assert 0 <= mqls <= len(leads)


@pytest.mark.parametrize("seed", range(10, 10 + int(os.environ.get("CRITERIA_SQL_SEEDS", "10"))))
def test_random_criteria_match_the_python_evaluator(seed):
    # given
    leads = make_leads(seed, count=50)
    rng = random.Random(seed)
    # when / then
    for _ in range(12):
        criteria = random_criteria(rng)
        assert can_express(criteria) is None
        assert_same(criteria, leads)


def test_an_mql_by_score_a_trigger_and_a_gate_failure_come_out_as_in_python():
    # given: a decision maker at a 500-person software company who viewed pricing an hour ago
    lead = Lead.objects.create(
        email="ann@acme.example",
        seniority="VP",
        industry="Software",
        employees=500,
        created_at=NOW,
        updated_at=NOW,
    )
    Activity.objects.create(
        lead=lead,
        type="page",
        properties={"path": "/pricing"},
        occurred_at=NOW - timedelta(hours=1),
        received_at=NOW,
    )
    student = Lead.objects.create(email="s@gmail.com", employees=5, created_at=NOW, updated_at=NOW)
    Activity.objects.create(lead=student, type="demo_request", occurred_at=NOW, received_at=NOW)
    # when
    rows = {row.pk: row for row in annotate_evaluation(Lead.objects.all(), criteria=STARTER, now=NOW)}
    # then
    assert (rows[lead.pk].sql_tier, rows[lead.pk].sql_total, rows[lead.pk].rule_e1) == ("hot", 60, 15)
    student_row = rows[student.pk]  # the demo request needs the gates, and 5 employees fail "10+"
    assert (student_row.gate_g2, student_row.trigger_t1, student_row.sql_is_mql, student_row.sql_tier) == (
        False,
        False,
        False,
        "",
    )
    assert_same(STARTER, [lead, student])


@pytest.mark.parametrize(
    ("age", "counts"),
    [
        (timedelta(days=30), False),
        (timedelta(days=30) - timedelta(microseconds=1), True),
        (timedelta(0), True),
        (timedelta(hours=-1), False),  # after now: ignored
    ],
)
def test_window_edges(age, counts):
    # given
    lead = Lead.objects.create(email="a@acme.example", employees=50, created_at=NOW, updated_at=NOW)
    Activity.objects.create(
        lead=lead, type="page", properties={"path": "/pricing/x"}, occurred_at=NOW - age, received_at=NOW
    )
    # when
    row = annotate_evaluation(Lead.objects.all(), criteria=STARTER, now=NOW).get()
    # then
    assert row.rule_e1 == (15 if counts else 0)
    assert_same(STARTER, [lead])


@pytest.mark.parametrize(
    ("gap", "fires"),
    [(timedelta(days=180), True), (timedelta(days=180) - timedelta(microseconds=1), False), (None, False)],
)
def test_dormant_comeback_edges(gap, fires):
    # given: a comeback today after `gap` of silence (None: a first-ever activity, which is no comeback)
    lead = Lead.objects.create(email="a@acme.example", employees=50, created_at=NOW, updated_at=NOW)
    back = NOW - timedelta(days=1)
    Activity.objects.create(lead=lead, type="email_open", occurred_at=back, received_at=NOW)
    if gap is not None:
        Activity.objects.create(lead=lead, type="page", occurred_at=back - gap, received_at=NOW)
    # when
    row = annotate_evaluation(Lead.objects.all(), criteria=STARTER, now=NOW).get()
    # then
    assert bool(row.trigger_t3) is fires
    assert_same(STARTER, [lead])


@pytest.mark.parametrize(
    ("raw", "matches"),
    [("1,200", True), (" 300 ", True), ("51-200", False), ("1e3", True), ("1e400", False), (True, False),
     (150.5, True), ("", False), (None, False), ([200], False), ("1_000", True), ("nan", False)],
)  # fmt: skip
def test_numeric_custom_attributes_read_like_python(raw, matches):
    # given
    criteria = MqlCriteria.from_dict(
        {"threshold": 10, "fit_rules": [{"id": "f1", "name": "Big", "points": 10,
                                         "condition": {"field": "size", "op": "gte", "value": 100}}]}
    )  # fmt: skip
    lead = Lead.objects.create(
        email="a@acme.example", attributes={"size": raw}, created_at=NOW, updated_at=NOW
    )
    # when
    row = annotate_evaluation(Lead.objects.all(), criteria=criteria, now=NOW).get()
    # then
    assert row.rule_f1 == (10 if matches else 0)
    assert_same(criteria, [lead])


@pytest.mark.parametrize(
    ("email", "free"),
    [(" Ann@GMAIL.com ", True), ("ann@gmail.com.", True), ("gmail.com", True), ("a@b@yahoo.co.uk", True),
     ("ann@acme.example", False), ("ann@gmail.com .", False), ("", False), ("ann@gmail.com\u3000", True)],
)  # fmt: skip
def test_free_mail_reads_the_domain_like_python(email, free):
    # given
    lead = Lead.objects.create(email=email, created_at=NOW, updated_at=NOW)
    # when
    row = annotate_evaluation(Lead.objects.all(), criteria=STARTER, now=NOW).get()
    # then
    assert row.rule_f4 == (-20 if free else 0)
    assert_same(STARTER, [lead])


@pytest.mark.parametrize(
    ("seniority", "matches"),
    [
        (" Director ", True),
        ("VP\t", True),
        ("\xa0c-LEVEL\u3000", True),
        ("DIRECTOR", True),
        ("Diréctor", False),
        ("vice", False),
    ],
)
def test_text_is_trimmed_and_case_folded_like_python(seniority, matches):
    # given
    lead = Lead.objects.create(email="a@acme.example", seniority=seniority, created_at=NOW, updated_at=NOW)
    # when
    row = annotate_evaluation(Lead.objects.all(), criteria=STARTER, now=NOW).get()
    # then
    assert row.rule_f1 == (20 if matches else 0)
    assert_same(STARTER, [lead])


def test_annotate_and_evaluate_many_leads_is_one_query(django_assert_num_queries):
    # given
    make_leads(seed=5, count=40)
    criteria = random_criteria(random.Random(99))
    # when / then
    with django_assert_num_queries(1):
        rows = list(annotate_evaluation(Lead.objects.all(), criteria=STARTER, now=NOW))
    assert len(rows) == 40
    with django_assert_num_queries(1):
        list(annotate_evaluation(Lead.objects.all(), criteria=criteria, now=NOW))


def test_count_mqls_is_one_query_and_matches_python(django_assert_num_queries):
    # given
    leads = make_leads(seed=6, count=60)
    facts = facts_for([lead.pk for lead in leads])
    tiers = [python_tier(STARTER, lead, facts.get(lead.pk, [])) for lead in leads]
    # when
    with django_assert_num_queries(1):
        counts = count_mqls(Lead.objects.all(), criteria=STARTER, now=NOW)
    # then
    assert counts == {
        "leads": 60,
        "mqls": tiers.count("hot") + tiers.count("warm"),
        "hot": tiers.count("hot"),
        "warm": tiers.count("warm"),
    }


def test_count_mqls_matches_python_for_random_criteria():
    leads = make_leads(seed=7, count=50)
    facts = facts_for([lead.pk for lead in leads])
    rng = random.Random(7)
    for _ in range(10):
        criteria = random_criteria(rng)
        tiers = [python_tier(criteria, lead, facts.get(lead.pk, [])) for lead in leads]
        counts = count_mqls(Lead.objects.all(), criteria=criteria, now=NOW)
        assert (counts["hot"], counts["warm"]) == (tiers.count("hot"), tiers.count("warm")), (
            criteria.to_dict()
        )


def test_the_evaluation_groups_in_sql(django_assert_num_queries):
    # given
    leads = make_leads(seed=8, count=40)
    facts = facts_for([lead.pk for lead in leads])
    expected: dict[tuple[str, int], int] = {}
    for lead in leads:
        evaluation, waits = judge(lead, facts.get(lead.pk, []), STARTER, NOW)
        if evaluation.is_mql and not waits:
            hit = next((hit.points for hit in evaluation.breakdown if hit.rule_id == "e1"), 0)
            expected[(lead.source, hit)] = expected.get((lead.source, hit), 0) + 1
    # when: MQLs by source and by what the pricing rule gave them
    with django_assert_num_queries(1):
        rows = list(
            annotate_evaluation(Lead.objects.all(), criteria=STARTER, now=NOW)
            .filter(sql_is_mql=True)
            .values("source", "rule_e1")
            .annotate(n=Count("pk"))
            .order_by()
        )
    # then
    assert {(row["source"], row["rule_e1"]): row["n"] for row in rows} == expected


def test_now_in_another_time_zone_is_the_same_instant():
    leads = make_leads(seed=4, count=40)
    assert_same(STARTER, leads, now=NOW.astimezone(ZoneInfo("America/New_York")))


def test_count_mqls_of_no_leads():
    assert count_mqls(Lead.objects.none(), criteria=STARTER, now=NOW) == {
        "leads": 0,
        "mqls": 0,
        "hot": 0,
        "warm": 0,
    }


def test_criteria_without_activity_rules_are_judged_on_the_lead_row():
    criteria = MqlCriteria.from_dict(
        {"threshold": 10, "fit_rules": [STARTER_MQL["fit_rules"][0]], "gates": STARTER_MQL["gates"]}
    )
    leads = make_leads(seed=9, count=30)
    assert_same(criteria, leads)
    assert count_mqls(Lead.objects.all(), criteria=criteria, now=NOW)["leads"] == 30


# --- what SQL refuses --------------------------------------------------------------------------------------


def test_the_starter_agreement_is_expressible():
    assert can_express(STARTER) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda mql: mql["fit_rules"][1]["condition"].update(value=["Gesundheitswesen", "Öffentlicher Dienst"]),
         "not ASCII"),
        (lambda mql: mql["engagement_rules"][0].update(activity="página"), "not ASCII"),
        (lambda mql: mql["fit_rules"][0]["condition"].update(field='say "hi"'), "JSON"),
        (lambda mql: mql["fit_rules"][0]["condition"].update(field="größe"), "JSON"),
        (lambda mql: mql["fit_rules"][0].update(id="f 1"), "column name"),
        (lambda mql: mql["engagement_rules"][0].update(id="inactivity"), "clashes"),
        (lambda mql: mql["triggers"][2].update(min_silence_days=40_000), "silence"),
        (lambda mql: mql["fit_rules"][0].update(points=10**10), "points"),
    ],
)  # fmt: skip
def test_what_sql_cannot_say_raises_not_expressible(change, reason):
    # given
    mql = json.loads(json.dumps(STARTER_MQL))
    change(mql)
    criteria = MqlCriteria.from_dict(mql)
    # when / then
    assert reason in (can_express(criteria) or "")
    with pytest.raises(NotExpressible, match=reason):
        annotate_evaluation(Lead.objects.all(), criteria=criteria, now=NOW)
    with pytest.raises(NotExpressible):
        count_mqls(Lead.objects.all(), criteria=criteria, now=NOW)


def test_now_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        annotate_evaluation(Lead.objects.all(), criteria=STARTER, now=NOW.replace(tzinfo=None))


@pytest.mark.django_db(False)
def test_the_unicode_tables_are_complete():
    characters = [chr(code) for code in range(0x110000)]
    assert "".join(char for char in characters if char.isspace()) == _WHITESPACE
    folding_to_ascii = {
        char for char in characters if not char.isascii() and any(c.isascii() for c in char.casefold())
    }
    # the module docstring lists them: ß ẞ (folded) and the 17 compared as written
    assert folding_to_ascii == set(
        "\u00df\u1e9e\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06\u017f\u212a\u0130\u0149"
        "\u01f0\u1e96\u1e97\u1e98\u1e99\u1e9a"
    )


def test_rare_characters_that_casefold_to_ascii_are_compared_as_written():
    # given: Python's casefold() reads "ﬁnance" (a ligature) as "finance" and "Straße" as "strasse"
    criteria = MqlCriteria.from_dict(
        {"threshold": 10, "fit_rules": [
            {"id": "f1", "name": "Finance", "points": 10, "condition": {"field": "industry", "op": "equals", "value": "finance"}},
            {"id": "f2", "name": "Strasse", "points": 5, "condition": {"field": "country", "op": "equals", "value": "strasse"}},
        ]}
    )  # fmt: skip
    Lead.objects.create(
        email="a@acme.example", industry="ﬁnance", country="STRAẞE", created_at=NOW, updated_at=NOW
    )
    # when
    row = annotate_evaluation(Lead.objects.all(), criteria=criteria, now=NOW).get()
    # then: ß and ẞ fold like Python; the ligature is the documented difference
    assert (row.rule_f1, row.rule_f2) == (0, 5)


def test_numbers_in_non_ascii_digits_are_not_read():
    # given: float() reads "١٢٠" (Arabic-Indic digits) as 120.0; SQL only reads ASCII digits
    criteria = MqlCriteria.from_dict(
        {"threshold": 10, "fit_rules": [{"id": "f1", "name": "Big", "points": 10,
                                         "condition": {"field": "size", "op": "gte", "value": 100}}]}
    )  # fmt: skip
    Lead.objects.create(email="a@acme.example", attributes={"size": "١٢٠"}, created_at=NOW, updated_at=NOW)
    # when
    row = annotate_evaluation(Lead.objects.all(), criteria=criteria, now=NOW).get()
    # then: the documented difference
    assert row.rule_f1 == 0
