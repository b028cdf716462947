"""The review learns: who it learns from, which rules it may propose, the sparse model's fixed scale and cap,
and suggestions whose evidence is counted once and checked on leads the model was not fitted on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from alignment.roles import Role
from feedback.learning import population as pop
from feedback.learning.candidates import candidates_for
from feedback.learning.model import POINTS_PER_DOUBLING, fit_rules
from feedback.learning.propose import plan
from feedback.models import Cycle
from feedback.suggest import sales_capacity
from feedback.tests.factories import cycle_create
from leads.models import Lead, RepProfile
from sla.agreement import Agreement
from sla.content import starter_content, validate
from sla.exceptions import InvalidContent

AT = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)


def _cycle(lead: Lead, outcome: str) -> Cycle:
    return cycle_create(
        lead=lead, number=1, handed_over_at=AT, tier="warm", score=50, fit_score=50, engagement_score=0,
        outcome=outcome, closed_at=AT + timedelta(days=2),
    )  # fmt: skip


@pytest.mark.django_db
def test_the_population_is_every_lead_with_a_known_result_labelled_by_where_it_came_from():
    # given a won hand-over, a rejected one, a lead never handed over whose import said it converted, one whose
    # import said it did not, and one with no known result
    won, rejected, imported_yes, imported_no, unknown = (
        Lead.objects.create(email=f"p{i}@acme.example", created_at=AT, updated_at=AT, attributes=attributes)
        for i, attributes in enumerate([{}, {"outcome_converted": 1}, {"outcome_converted": 1},
                                        {"outcome_converted": "No"}, {"plan": "pro"}])
    )  # fmt: skip
    _cycle(won, Cycle.Outcome.WON)
    _cycle(rejected, Cycle.Outcome.REJECTED)  # sales' verdict wins over the imported column
    # when the population is read
    found = pop.known_results()
    # then all four known results are in it, each with its source, and the unknown one is not
    by_lead = dict(
        zip(found.lead_ids.tolist(), zip(found.won.tolist(), found.labels, strict=True), strict=True)
    )
    assert by_lead == {
        won.pk: (1.0, pop.HANDED_OVER), rejected.pk: (0.0, pop.REJECTED),
        imported_yes.pk: (1.0, pop.IMPORTED), imported_no.pk: (0.0, pop.IMPORTED),
    }  # fmt: skip
    assert found.describe()["text"].startswith("4 leads with a known result, 2 converted")
    assert unknown.pk not in by_lead


def _population(rows: list[dict], won: list[float]) -> pop.Population:
    return pop.Population(
        lead_ids=np.arange(len(rows)), attributes=rows, activities=[[] for _ in rows], won=np.array(won),
        labels=[pop.IMPORTED] * len(rows),
    )  # fmt: skip


def test_candidates_cover_values_quantile_cut_offs_and_blank_fields_but_never_outcomes():
    # given 400 leads: an origin, a number of visits (blank for some), and the outcome column sales filled in
    rng = np.random.default_rng(1)
    rows = [
        {"origin": rng.choice(["Form", "Chat", "Ad"]), "visits": None if i % 10 == 0 else int(rng.integers(0, 20)),
         "outcome_tags": "Closed" if i % 2 else "Lost", "email": f"p{i}@x.example"}
        for i in range(400)
    ]  # fmt: skip
    # when candidates are listed
    rules = [c.rule for c in candidates_for(_population(rows, [float(i % 2) for i in range(400)]))]
    fields = {rule["condition"]["field"] for rule in rules}
    # then each origin, cut-offs on visits at its quantiles, and "visits is blank" are candidates
    assert {r["condition"]["value"] for r in rules if r["condition"]["field"] == "origin"} >= {"Form", "Chat"}
    cuts = sorted(r["condition"]["value"] for r in rules if r["condition"]["op"] == "gte")
    assert len(cuts) >= 5 and all(0 < cut < 20 for cut in cuts)
    assert {"field": "visits", "op": "is_empty", "value": None} in [r["condition"] for r in rules]
    # and neither the outcome nor an identifier ever is
    assert fields == {"origin", "visits"}


def test_the_model_keeps_at_most_the_cap_and_puts_points_on_one_fixed_scale():
    # given 4,000 leads and 30 yes/no traits, of which trait 0 quadruples the odds and 1–9 help a little
    rng = np.random.default_rng(7)
    x = (rng.random((4000, 30)) < 0.4).astype(float)
    logit = -1.0 + np.log(4) * x[:, 0] + 0.4 * x[:, 1:10].sum(axis=1)
    y = (rng.random(4000) < 1 / (1 + np.exp(-logit))).astype(float)
    # when the model is fitted with a cap of 5
    fitted = fit_rules(x, y, cap=5, seed=1)
    # then it keeps at most 5 rules, trait 0 among them with about 2 doublings of points (4× the odds = 20)
    assert 0 in fitted.columns and len(fitted.columns) <= 5
    points = dict(zip(fitted.columns, fitted.points, strict=True))
    assert points[0] == pytest.approx(2 * POINTS_PER_DOUBLING, abs=4)
    # and refitting on the same data gives the same points: nothing depends on the agreement's current scale
    assert fit_rules(x, y, cap=5, seed=1) == fitted


def test_a_plan_adds_a_predictive_rule_with_evidence_counted_once_and_a_held_back_check():
    # given an agreement scoring nothing useful, and 600 leads where "Form" converts 80%, the rest 20%
    rng = np.random.default_rng(3)
    origins = rng.choice(["Form", "Chat", "Ad"], size=600)
    won = [float(rng.random() < (0.8 if o == "Form" else 0.2)) for o in origins]
    population = _population([{"origin": str(o)} for o in origins], won)
    content = starter_content()
    # when the review plans the next agreement
    result = plan(Agreement.from_dict(content), population, seed=1)
    # then it proposes scoring "origin is Form" with positive points, with its evidence counted once
    add = next(s for s in result.suggestions if s["kind"] == "add_rule"
               and s["change"]["rule"]["condition"] == {"field": "origin", "op": "equals", "value": "Form"})  # fmt: skip
    form = origins == "Form"
    numbers = add["numbers"]
    assert add["change"]["rule"]["points"] > 0
    assert (numbers["leads"], numbers["others"]) == (int(form.sum()), int((~form).sum()))
    assert numbers["conversion_with"] == pytest.approx(np.mean(np.array(won)[form]))
    assert f"Fires on {int(form.sum())} of 600 leads" in add["evidence"]
    assert "600 leads with a known result" in add["evidence"]  # which population
    # and what accepting it does on leads the model was not fitted on
    assert numbers["checked_on"] > 100 and numbers["auc_with"] > numbers["auc_now"] + 0.2
    assert "held back from fitting" in add["evidence"]
    # and the starter's rules that cannot be judged on these leads (they never fire) are left alone
    assert all(s["kind"] != "remove" for s in result.suggestions)


def test_a_rule_on_an_outcome_field_is_refused_with_a_clear_message():
    rule = {"id": "f9", "name": "Converted", "points": 50,
            "condition": {"field": "outcome_converted", "op": "equals", "value": 1}}  # fmt: skip
    content = {**starter_content()}
    mql = Agreement.from_dict(content).criteria.to_dict()
    content.update(mql={**mql, "fit_rules": [*mql["fit_rules"], rule]})
    with pytest.raises(InvalidContent, match="filled in after hand-off"):
        validate(content)


@pytest.mark.django_db
def test_sales_capacity_comes_from_the_agreement_else_the_active_reps_and_says_which(make_user, agreement):
    # given two reps, one away
    alice, bob = make_user(Role.REP, username="alice"), make_user(Role.REP, username="bob")
    RepProfile.objects.update_or_create(user=alice, defaults={"capacity": 60})
    RepProfile.objects.update_or_create(user=bob, defaults={"capacity": 40, "is_away": True})
    # then without a stated capacity it is the active reps' capacity, said so
    assert sales_capacity(agreement) == (60, "1 active rep × their capacity (60 leads)")
    # and an agreement that states it wins
    typed = Agreement.of(agreement)
    stated = replace(typed, terms=replace(typed.terms, sales_capacity_per_month=500)).to_dict()
    validate(stated)
    agreement.content, agreement.content_hash = stated, "stated capacity"
    assert sales_capacity(agreement) == (500, "the agreement's stated sales capacity (500 MQLs a month)")


@pytest.mark.django_db
def test_a_won_column_in_any_csv_import_becomes_a_known_result_and_never_a_scoring_input(
    make_user, agreement
):
    from leads.intake.import_services import import_create, import_start

    # given a CRM export with a Won column, imported through the normal path with automatic mapping
    marketer = make_user(Role.MARKETER)
    data = b"Email,Company,Won\nann@acme.example,Acme,yes\nben@globex.example,Globex,no\ncleo@initech.example,Initech,\n"
    job = import_create(user=marketer, filename="crm.csv", data=data, preset="auto", now=AT)
    job = import_start(job_id=job.pk, user=marketer, now_func=lambda: AT, inline=True)
    assert job.imported == 3
    # then the two leads whose result is known are in the population, labelled as imported outcomes
    found = pop.known_results()
    emails = dict(Lead.objects.values_list("pk", "email"))
    assert {emails[pk]: won for pk, won in zip(found.lead_ids.tolist(), found.won.tolist(), strict=True)} == {
        "ann@acme.example": 1.0, "ben@globex.example": 0.0,
    }  # fmt: skip
    assert set(found.labels) == {pop.IMPORTED}
    # and the column is kept apart as an outcome, which no rule may read
    assert Lead.objects.get(email="ann@acme.example").attributes["outcome_won"] == "yes"
