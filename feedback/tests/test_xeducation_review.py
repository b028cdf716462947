"""The monthly review on the real X Education data set (../shared/data/xeducation/Leads.csv), end to end.

The file goes in through the normal CSV import (preset "xeducation") under an agreement written for that data:
fit rules on what the form and the web site tell about a lead (origin, occupation, visits, time on the site;
never Tags, Lead Quality or Converted, which sales filled in afterwards) and a gate that needs no e-mail. The
normal rescoring hands the qualifying leads to sales; each one's result is then recorded through the normal
services from its Converted column. The review's figures are checked against pandas computed straight from
Leads.csv, so the comparison shares nothing with our ORM code but the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

import conftest
from alignment.roles import Role
from feedback import services
from feedback.models import Cycle, CycleRule, Reason
from feedback.reasons import ensure_default_reasons
from feedback.reports import review_for
from leads.intake.import_services import import_create, import_start
from leads.models import IdentityKind, Lead, LeadIdentity, State
from sla import services as sla_services
from sla.content import starter_content
from sla.models import Side

LEADS_CSV = Path(conftest.SHARED_DATA) / "xeducation" / "Leads.csv"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not LEADS_CSV.exists(), reason=f"the shared data set is absent ({LEADS_CSV})"),
]

IMPORTED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning in London
MONTH = date(2026, 3, 1)
THRESHOLD = 30
# (id, name, points, condition on the imported attributes)
FIT_RULES = [
    ("f1", "Lead Add Form", 40, {"field": "lead_origin", "op": "equals", "value": "Lead Add Form"}),
    ("f2", "Working professional", 30, {"field": "occupation", "op": "equals", "value": "Working Professional"}),
    ("f3", "Landing page submission", 10, {"field": "lead_origin", "op": "equals", "value": "Landing Page Submission"}),
    ("f4", "10+ minutes on the site", 25, {"field": "time_on_website", "op": "gte", "value": 600}),
    ("f5", "5+ visits", 10, {"field": "total_visits", "op": "gte", "value": 5}),
    ("f6", "Student or housewife", -10, {"field": "occupation", "op": "one_of", "value": ["Student", "Housewife"]}),
    ("f7", "Under 2 minutes on the site", -5, {"field": "time_on_website", "op": "between", "value": [1, 120]}),
]  # fmt: skip
BANT = {key: {"met": True, "note": "from the data set"} for key in ("need", "authority", "timeframe")}
# Tags were sales' notes after contact: the ones that say why a lead did not convert become the rejection reason.
TAG_REASONS = {
    "Interested in other courses": "not_a_fit",
    "Not doing further education": "not_a_fit",
    "Already a student": "existing_customer",
    "invalid number": "bad_data",
    "wrong number given": "bad_data",
    "number not provided": "bad_data",
    "Ringing": "too_early",
    "switched off": "too_early",
    "Busy": "too_early",
}
DEFAULT_REASON = "not_a_fit"


# --- what pandas says, straight from the file ------------------------------------------------------------


def from_the_file() -> pd.DataFrame:
    """Leads.csv with "Select" as blank, each row's fit rules, score, gate, MQL and outcome — vectorised."""
    raw = pd.read_csv(LEADS_CSV, dtype=str, keep_default_na=False)
    raw = raw.apply(lambda column: column.str.strip()).replace("Select", "")
    origin = raw["Lead Origin"].str.casefold()
    occupation = raw["What is your current occupation"].str.casefold()
    seconds = pd.to_numeric(raw["Total Time Spent on Website"].replace("", np.nan))
    visits = pd.to_numeric(raw["TotalVisits"].replace("", np.nan))
    fired = pd.DataFrame({
        "f1": origin == "lead add form",
        "f2": occupation == "working professional",
        "f3": origin == "landing page submission",
        "f4": seconds >= 600,
        "f5": visits >= 5,
        "f6": occupation.isin(["student", "housewife"]),
        "f7": (seconds >= 1) & (seconds <= 120),
    })  # fmt: skip
    points = pd.Series({rule_id: rule_points for rule_id, _, rule_points, _ in FIT_RULES})
    frame = pd.concat([raw[["Prospect ID", "Lead Source", "Country", "Tags"]], fired], axis=1)
    frame["score"] = fired.astype(int).mul(points).sum(axis=1)
    frame["mql"] = (raw["Do Not Call"].str.casefold() == "no") & (frame["score"] >= THRESHOLD)
    frame["won"] = raw["Converted"].astype(int) == 1
    frame["reason"] = raw["Tags"].map(TAG_REASONS).fillna(DEFAULT_REASON)
    return frame


def ratio(part: Any, whole: Any) -> float | None:
    return None if not whole else float(part) / float(whole)


# --- the agreement, the import, the outcomes -------------------------------------------------------------


def agreement_for_xeducation(marketing_manager: Any, sales_manager: Any) -> Any:
    """Signed by both sides: the fit rules above, no engagement rule or trigger (the file has no activity with
    a time), and one gate that needs no e-mail: the lead did not ask not to be called."""
    content = starter_content()
    content["mql"] = {
        "threshold": THRESHOLD,
        "fit_rules": [
            {"id": rule_id, "name": name, "points": points, "condition": condition}
            for rule_id, name, points, condition in FIT_RULES
        ],
        "engagement_rules": [],
        "inactivity": None,
        "gates": [{"id": "g1", "name": "May be called", "condition": {"field": "do_not_call", "op": "equals", "value": "No"}}],
        "triggers": [],
    }  # fmt: skip
    content["terms"]["marketing"] = {"mql_per_month": 3000, "required_fields": ["source", "country"]}
    version = sla_services.agreement_draft_create(
        user=marketing_manager, now=IMPORTED_AT, title="X Education"
    )
    sla_services.agreement_change(version_id=version.pk, user=marketing_manager, now=IMPORTED_AT,
                                  change=lambda _: content)  # fmt: skip
    sla_services.agreement_propose(version_id=version.pk, user=marketing_manager, now=IMPORTED_AT)
    sla_services.agreement_sign(
        version_id=version.pk, user=marketing_manager, now=IMPORTED_AT, side=Side.MARKETING
    )
    sla_services.agreement_sign(version_id=version.pk, user=sales_manager, now=IMPORTED_AT, side=Side.SALES)
    version.refresh_from_db()
    return version


def record_outcomes(sales_manager: Any) -> None:
    """Set-up, one lead at a time through the services reps use: Converted = 1 → accepted, qualified (BANT),
    won; 0 → rejected with the reason its Tags give. (The figures themselves never loop over leads.)"""
    ensure_default_reasons()
    reasons = {r.code: r for r in Reason.objects.filter(kind=Reason.Kind.REJECTION)}
    handed = Lead.objects.filter(state=State.MQL).values_list("pk", "attributes").order_by("pk")
    at = IMPORTED_AT + timedelta(hours=1)
    for lead_id, attributes in handed:
        if attributes.get("outcome_converted") == 1:
            services.lead_accept(lead_id=lead_id, user=sales_manager, now=at)
            services.lead_qualify(
                lead_id=lead_id, user=sales_manager, answers=BANT, now=at + timedelta(hours=1)
            )
            services.lead_win(
                lead_id=lead_id, user=sales_manager, amount=Decimal("1200"), now=at + timedelta(days=3)
            )
        else:
            reason = reasons[TAG_REASONS.get(attributes.get("outcome_tags", ""), DEFAULT_REASON)]
            services.lead_reject(lead_id=lead_id, user=sales_manager, reason=reason, comment="", now=at)


def user_with_role(username: str, role: Role) -> Any:
    user = get_user_model().objects.create_user(username=username, password=None, first_name=username.title())
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


@pytest.fixture(scope="module")
def reviewed(django_db_setup, django_db_blocker) -> Iterator[tuple[dict[str, Any], pd.DataFrame, Any]]:
    """Built once for the module (the import and the outcomes take most of the time), in a transaction that is
    rolled back afterwards; each test runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        # given the agreement for this data, the real file imported through the normal path, and every
        # handed-over lead's result recorded by sales
        marketer = user_with_role("xmarketer", Role.MARKETER)
        sales_manager = user_with_role("xsales", Role.SALES_MANAGER)
        version = agreement_for_xeducation(
            user_with_role("xmarketing", Role.MARKETING_MANAGER), sales_manager
        )
        job = import_create(user=marketer, filename="Leads.csv", data=LEADS_CSV.read_bytes(), preset="xeducation",
                            now=IMPORTED_AT)  # fmt: skip
        job = import_start(job_id=job.pk, user=marketer, now_func=lambda: IMPORTED_AT, inline=True)
        assert (job.status, job.imported, job.rejected) == ("done", 9240, 0)
        # the hand-overs' cycles, which feedback opens once the import's chunks commit (here, rolled back)
        services.cycles_repair(now=IMPORTED_AT)
        record_outcomes(sales_manager)
        # when March's review is computed
        yield review_for(MONTH), from_the_file(), version
        transaction.set_rollback(True)


# --- the checks ------------------------------------------------------------------------------------------


def test_the_leads_handed_over_are_the_ones_pandas_scores_over_the_threshold(reviewed):
    # given the real file imported and every hand-over\'s result recorded; when March is reviewed (`reviewed`)
    _, expected, version = reviewed
    # then (joined on Prospect ID) the hand-overs are exactly the rows pandas finds over the threshold, each with
    # the score pandas computes for it
    cycles = pd.DataFrame.from_records(
        list(Cycle.objects.values("lead_id", "score", "outcome", "agreement_id")),
        columns=["lead_id", "score", "outcome", "agreement_id"],
    )
    ids = pd.DataFrame.from_records(
        list(LeadIdentity.objects.filter(kind=IdentityKind.EXTERNAL).values("lead_id", "value")),
        columns=["lead_id", "value"],
    )
    ours = cycles.merge(ids, on="lead_id").set_index("value").sort_index()
    theirs = expected[expected["mql"]].set_index("Prospect ID").sort_index()
    assert len(ours) == len(theirs) == int(expected["mql"].sum()) > 1000
    assert ours.index.equals(theirs.index)
    assert (ours["score"] == theirs["score"]).all()
    assert (ours["agreement_id"] == version.pk).all()
    # and sales' after-the-fact notes (Tags, Lead Quality, Converted) scored nothing: no rule or gate reads them
    mql = version.content["mql"]
    read = {rule["condition"]["field"] for rule in [*mql["fit_rules"], *mql["gates"]]}
    assert read == {"lead_origin", "occupation", "time_on_website", "total_visits", "do_not_call"}
    assert set(CycleRule.objects.values_list("rule_id", flat=True).distinct()) <= {
        rule[0] for rule in FIT_RULES
    }
    # and each one's result is the file's Converted column
    assert ((ours["outcome"] == "won") == theirs["won"]).all()
    assert set(ours["outcome"]) == {"won", "rejected"}
    # and the leads under the threshold were scored too, and stayed with marketing
    scores = (
        pd.DataFrame.from_records(
            list(Lead.objects.values("id", "score", "state")), columns=["id", "score", "state"]
        )
        .rename(columns={"id": "lead_id"})
        .merge(ids, on="lead_id")
        .set_index("value")
        .sort_index()
    )
    assert (scores["score"] == expected.set_index("Prospect ID").sort_index()["score"]).all()
    assert set(scores.loc[~expected.set_index("Prospect ID")["mql"].sort_index(), "state"]) == {State.NEW}


def test_funnel_matches_pandas(reviewed):
    # given the real file imported and every hand-over\'s result recorded; when March is reviewed (`reviewed`)
    report, expected, _ = reviewed
    mqls = expected[expected["mql"]]
    won, rejected = int(mqls["won"].sum()), int((~mqls["won"]).sum())
    # then the funnel is the file's: every lead, the MQLs, and their results (all recorded: none immature)
    funnel = report["funnel"]
    assert {key: funnel[key] for key in funnel if key != "steps"} == {
        "leads": len(expected), "mqls": len(mqls), "accepted": won, "sqls": won, "won": won,
        "rejected": rejected, "lost": 0, "disqualified": 0, "immature": 0,
    }  # fmt: skip
    assert [step["rate"] for step in funnel["steps"]] == pytest.approx(
        [len(mqls) / len(expected), won / len(mqls), 1.0, 1.0, won / len(mqls)]
    )
    assert report["previous_funnel"]["mqls"] == report["previous_funnel"]["leads"] == 0
    # and the converted leads never handed over are counted apart
    assert report["lists"]["never_mql_but_won_count"] == int((~expected["mql"] & expected["won"]).sum())
    # and marketing delivered against its commitment, with the fields the agreement requires
    marketing = report["marketing"]
    complete = (mqls["Lead Source"] != "") & (mqls["Country"] != "")
    assert (marketing["committed"], marketing["delivered"], marketing["complete"]) == (
        3000,
        len(mqls),
        int(complete.sum()),
    )
    assert marketing["complete_share"] == pytest.approx(complete.mean())


def test_score_bands_match_pandas(reviewed):
    # given the real file imported and every hand-over\'s result recorded; when March is reviewed (`reviewed`)
    report, expected, _ = reviewed
    mqls = expected[expected["mql"]]
    # bands cut at the month's score quintiles (the lowest score reaching each fifth), right-closed
    cuts = sorted({float(np.quantile(mqls["score"], q, method="inverted_cdf")) for q in (0.2, 0.4, 0.6, 0.8)})
    band = pd.cut(mqls["score"], [-np.inf, *cuts, np.inf], right=True)
    grouped = mqls.groupby(band, observed=True).agg(
        size=("won", "size"), sum=("won", "sum"), low=("score", "min"), high=("score", "max")
    )
    # then each band's hand-overs and conversion are pandas' (accepted = SQL = won here: the rest were rejected)
    assert [(b["low"], b["high"], b["n"], b["won"], b["accepted"], b["sqls"], b["immature"]) for b in report["score_bands"]] == [
        (int(row["low"]), int(row["high"]), int(row["size"]), int(row["sum"]), int(row["sum"]), int(row["sum"]), 0)
        for _, row in grouped.iterrows()
    ]  # fmt: skip
    assert [b["win_rate"] for b in report["score_bands"]] == pytest.approx(
        [ratio(row["sum"], row["size"]) for _, row in grouped.iterrows()]
    )
    # and no band is empty, and a higher score does convert better on this data
    assert all(b["n"] > 0 for b in report["score_bands"]) and len(report["score_bands"]) >= 3
    rates = [b["win_rate"] for b in report["score_bands"] if b["n"] >= 100]
    assert len(rates) >= 2 and rates == sorted(rates)


def test_auc_matches_a_brute_force_over_every_won_and_rejected_pair(reviewed):
    # given the real file imported and every hand-over\'s result recorded; when March is reviewed (`reviewed`)
    report, expected, _ = reviewed
    mqls = expected[expected["mql"]]
    pairs = mqls.loc[mqls["won"], ["score"]].merge(mqls.loc[~mqls["won"], ["score"]], how="cross",
                                                   suffixes=("_won", "_other"))  # fmt: skip
    wins = (pairs["score_won"] > pairs["score_other"]) + 0.5 * (pairs["score_won"] == pairs["score_other"])
    # then
    assert report["auc"] == {
        "auc": pytest.approx(float(wins.mean()), rel=1e-9), "won": int(mqls["won"].sum()),
        "not_won": int((~mqls["won"]).sum()),
    }  # fmt: skip
    assert 0.5 < report["auc"]["auc"] < 1


def test_rule_lifts_match_pandas(reviewed):
    # given the real file imported and every hand-over\'s result recorded; when March is reviewed (`reviewed`)
    report, expected, _ = reviewed
    mqls = expected[expected["mql"]]
    names = {rule_id: name for rule_id, name, _, _ in FIT_RULES}
    # then every rule that fired on a hand-over has the lift pandas computes from the file's columns
    want = []
    for rule_id in sorted(names, key=names.get):
        fired = mqls[rule_id]
        if not fired.any():
            continue
        won_fired, won_not = int(mqls.loc[fired, "won"].sum()), int(mqls.loc[~fired, "won"].sum())
        win_fired, win_not = ratio(won_fired, fired.sum()), ratio(won_not, (~fired).sum())
        want.append({
            "rule_id": rule_id, "kind": "fit", "name": names[rule_id], "fired": int(fired.sum()),
            "not_fired": int((~fired).sum()), "won_fired": won_fired, "won_not_fired": won_not,
            "win_rate_fired": win_fired, "win_rate_not_fired": win_not,
            "win_lift": win_fired / win_not if win_not else None,
            "accept_rate_fired": win_fired, "accept_rate_not_fired": win_not,  # only won leads were accepted
            "accept_lift": win_fired / win_not if win_not else None,
            "enough": bool(fired.sum() >= 20 and (~fired).sum() >= 20),
        })  # fmt: skip
    lifts = report["rule_lifts"]
    assert [lift["rule_id"] for lift in lifts] == [row["rule_id"] for row in want]
    for lift, row in zip(lifts, want, strict=True):
        assert lift == {
            key: pytest.approx(value) if isinstance(value, float) else value for key, value in row.items()
        }
    # and the rules read the data as expected: a Lead Add Form lead converts far better than the others
    assert {lift["rule_id"]: lift for lift in lifts}["f1"]["win_lift"] > 1.2


def test_rejection_reasons_and_the_discussion_list_match_pandas(reviewed):
    # given the real file imported and every hand-over\'s result recorded; when March is reviewed (`reviewed`)
    report, expected, _ = reviewed
    mqls = expected[expected["mql"]]
    labels = dict(Reason.objects.filter(kind=Reason.Kind.REJECTION).values_list("code", "label"))
    # then the rejections, by reason, are the file's Tags read as reasons
    by_reason: dict[str, int] = {}
    for row in report["reasons"]["rejection_by_source"]:
        by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + row["n"]
    want = mqls.loc[~mqls["won"], "reason"].map(labels).value_counts().to_dict()
    assert by_reason == want
    # and the "high score but rejected" list holds the highest-scoring rejected hand-overs
    high = report["lists"]["high_score_not_converted"]
    assert [row["score"] for row in high] == mqls.loc[~mqls["won"], "score"].nlargest(15).tolist()
    assert {row["outcome"] for row in high} == {"rejected"}
