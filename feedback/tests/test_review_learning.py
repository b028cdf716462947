"""The review page shows the learning figures the `review` command prints — which population, the held-back
check — and explains each rule suggestion from its own numbers, so a user can follow why it is made."""

from __future__ import annotations

import html
import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from leads.services import LeadData, lead_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(agreement):
    """300 leads imported with a Converted column: "Form" leads converted 80%, the others 15%."""
    rng = np.random.default_rng(5)
    now = timezone.now()
    for i in range(300):
        origin = str(rng.choice(["Form", "Chat", "Ad"]))
        converted = int(rng.random() < (0.8 if origin == "Form" else 0.15))
        lead_upsert(data=LeadData(email=f"p{i}@acme.example",
                                  custom={"origin": origin, "outcome_converted": converted}), now=now)  # fmt: skip
    return now


def test_the_page_shows_the_commands_learning_figures_and_why_each_suggestion_is_made(
    history, marketing_manager, login
):
    month = history.strftime("%Y-%m")
    # given what the review command prints for the month
    out = StringIO()
    call_command("review", "--month", month, "--json", stdout=out)
    data = json.loads(out.getvalue())
    learning = data["learning"]
    # when the marketing manager opens the review page for that month
    page = html.unescape(login(marketing_manager).get(f"/feedback/review/?month={month}").content.decode())
    # then it says which population the suggestions learn from, as the command does
    population = learning["population"]
    assert population["leads"] == 300 and population["by_source"] == {
        "outcome imported, not closed by sales": 300
    }
    assert f"300 leads with a known result, {population['won']} converted" in page
    assert "300 outcome imported, not closed by sales" in page
    # and the held-back check with the same AUCs
    holdout = learning["holdout"]
    assert f"judged on {holdout['checked_on']} it never saw" in page
    assert f"AUC {holdout['auc_now']:.3f} with the agreement as it is, {holdout['auc_with_all']:.3f}" in page
    # and each rule suggestion is explained from its own figures: evidence counted once, why, the check
    learned = [s for s in data["suggestions"] if s["numbers"].get("checked_on")]
    assert any(
        s["kind"] == "add_rule" and s["change"]["rule"]["condition"]["value"] == "Form" for s in learned
    )
    for s in learned:
        n = s["numbers"]
        assert s["title"] in page
        assert f"Fires on {n['leads']} of the {n['leads'] + n['others']} leads with a known result" in page
        assert (
            f"AUC {n['auc_now']:.3f} now, {n['auc_with']:.3f} with this change alone, "
            f"{n['auc_with_all']:.3f} with every suggestion" in page
        )
    form = next(
        s for s in learned if s["kind"] == "add_rule" and s["change"]["rule"]["condition"]["value"] == "Form"
    )
    assert f"it is worth {form['numbers']['proposed']} points (it has 0 now)" in page
