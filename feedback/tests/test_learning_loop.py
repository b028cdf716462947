"""`python manage.py learning_loop` on the real X Education data (../shared/data/xeducation/Leads.csv), at a
reduced size so it runs in CI: import with outcomes, monthly reviews, every suggestion accepted, both signatures,
activation — and the held-out leads, whose outcomes the product never sees, ranked better by each version."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

import conftest
from feedback.learning.population import imported_outcome
from leads.models import Lead
from sla.agreement import Agreement
from sla.models import AgreementVersion, Status

LEADS_CSV = Path(conftest.SHARED_DATA) / "xeducation" / "Leads.csv"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not LEADS_CSV.exists(), reason=f"the shared data set is absent ({LEADS_CSV})"),
]


def test_the_loop_learns_on_x_education_and_never_sees_the_held_out_outcomes():
    # given the first 800 rows of the real file, half held out
    out = io.StringIO()
    # when the loop runs two monthly reviews from the naive starter
    call_command("learning_loop", str(LEADS_CSV), "--limit", "800", "--holdout", "0.5", "--seed", "2",
                 "--iterations", "2", "--json", stdout=out)  # fmt: skip
    result = json.loads(out.getvalue())
    versions = result["versions"]
    first, last = versions[0], versions[-1]
    # then every row was imported and about half of them held out
    assert Lead.objects.count() == 800 and 320 < result["holdout"] < 480
    # and the held-out leads' outcomes never reached the product: only the training half has one
    assert (
        sum(imported_outcome(a) is not None for a in Lead.objects.values_list("attributes", flat=True))
        == (result["train"])
    )
    # and the reviews' suggestions, accepted and signed, made the ranking of the held-out leads much better,
    # within the cap, close to a logistic regression fitted on the same split, and with conversion rising by band
    assert first["version"] == 1 and first["rules"] == 7
    assert last["holdout_auc"] >= first["holdout_auc"] + 0.05
    assert last["holdout_auc"] >= result["lr_bound_auc"] - 0.03
    assert last["rules"] <= 15 and last["bands_monotonic"]
    # and the final version is the one in force, signed by both sides
    active = AgreementVersion.objects.get(status=Status.ACTIVE)
    assert active.number == last["version"] > 1
    fit_rules = Agreement.of(active).criteria.fit_rules
    assert fit_rules and all(not rule.condition.field.startswith("outcome_") for rule in fit_rules)
    assert versions[1]["suggestions_accepted"] > 0


def test_a_file_without_an_outcome_column_is_refused_clearly(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("Prospect ID,Lead Origin\na1,API\n")
    with pytest.raises(CommandError, match="outcome column"):
        call_command("learning_loop", str(path), "--json", stdout=io.StringIO())
