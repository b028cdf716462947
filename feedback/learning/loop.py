"""The learning loop, run end to end through the product's own services: import leads with their outcomes, a
monthly review whose every suggestion is accepted, the draft signed by both managers and activated — and, for
each version, its AUC on a held-out part of the leads the reviews never learnt from.

This is the proof behind `python manage.py learning_loop`: every step is what a user would do on screen, so a
loop that does not learn here does not learn in the product either. The held-out leads are imported and scored
like the others, but their results are never recorded, and the population the reviews learn from excludes them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler

from alignment.roles import Role
from feedback import services
from feedback.backtest import quantile_bands
from feedback.learning.candidates import SKIP_FIELDS
from feedback.learning.model import auc_of
from feedback.learning.population import (
    IMPORTED_OUTCOME_FIELDS,
    Population,
    imported_outcome,
    known_results,
    population_of,
)
from feedback.models import Reason
from feedback.reasons import ensure_default_reasons
from feedback.reports import review_for
from leads.intake import imports
from leads.intake.import_services import import_create, import_start
from leads.models import IdentityKind, Lead, LeadIdentity, RescoreJob, State
from leads.services import rescore_job_run, rescore_job_start
from sla import services as sla_services
from sla.agreement import Agreement
from sla.content import starter_content
from sla.criteria import MqlCriteria, evaluate
from sla.criteria.schema import is_leaky_field
from sla.models import AgreementVersion, Side

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
BANT = {key: {"met": True, "note": "from the imported outcome"} for key in ("need", "authority", "timeframe")}
# A plausible first agreement for a course seller, written before anyone looked at results.
NAIVE_FIT_RULES = [
    ("Lead Add Form", 40, {"field": "lead_origin", "op": "equals", "value": "Lead Add Form"}),
    ("Working professional", 30, {"field": "occupation", "op": "equals", "value": "Working Professional"}),
    ("Landing page submission", 10, {"field": "lead_origin", "op": "equals", "value": "Landing Page Submission"}),
    ("10+ minutes on the site", 25, {"field": "time_on_website", "op": "gte", "value": 600}),
    ("5+ visits", 10, {"field": "total_visits", "op": "gte", "value": 5}),
    ("Student or housewife", -10, {"field": "occupation", "op": "one_of", "value": ["Student", "Housewife"]}),
    ("Under 2 minutes on the site", -5, {"field": "time_on_website", "op": "between", "value": [1, 120]}),
]  # fmt: skip


def naive_starter() -> dict[str, Any]:
    """The starter's checklist and terms, these fit rules, threshold 30, and a stated sales capacity."""
    starter = Agreement.from_dict(starter_content())
    criteria = MqlCriteria.from_dict({
        "threshold": 30,
        "fit_rules": [
            {"id": f"f{i}", "name": name, "points": points, "condition": condition}
            for i, (name, points, condition) in enumerate(NAIVE_FIT_RULES, start=1)
        ],
    })  # fmt: skip
    terms = replace(starter.terms, sales_capacity_per_month=1500)
    return replace(starter, criteria=criteria, terms=terms).to_dict()


@dataclass(frozen=True)
class People:
    marketing: Any
    sales: Any
    marketer: Any


def _user(username: str, role: Role) -> Any:
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"first_name": username})
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    return user


def people() -> People:
    return People(_user("loop-marketing", Role.MARKETING_MANAGER), _user("loop-sales", Role.SALES_MANAGER),
                  _user("loop-marketer", Role.MARKETER))  # fmt: skip


def _sign(version: AgreementVersion, who: People, now: datetime) -> AgreementVersion:
    sla_services.agreement_propose(version_id=version.pk, user=who.marketing, now=now)
    sla_services.agreement_sign(version_id=version.pk, user=who.marketing, now=now, side=Side.MARKETING)
    sla_services.agreement_sign(version_id=version.pk, user=who.sales, now=now, side=Side.SALES)
    version.refresh_from_db()
    if not RescoreJob.objects.filter(agreement=version).exists():
        # activation queues the rescoring after commit; inside an outer transaction (tests) run it here
        job = rescore_job_start(version=version, reason=f"v{version.number} activated", now=now)
        rescore_job_run(job_id=job.pk, now_func=lambda: now)
    return version


def split_file(
    data: bytes, *, holdout_share: float, seed: int, limit: int | None
) -> tuple[bytes, dict[str, float]]:
    """The file to import, with the outcome blanked on a seeded random part of the rows, and those rows' outcomes
    by external id: the product never sees a held-out result, so no review can learn from one."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    if not rows:
        raise LoopError("The file is empty.")
    headers, body = rows[0], rows[1 : (limit + 1) if limit else None]
    mapping = imports.suggest_mapping(headers, imports.detect_preset(headers) or "auto")
    outcome = [i for i, h in enumerate(headers) if mapping[h].name in IMPORTED_OUTCOME_FIELDS]
    external = [i for i, h in enumerate(headers) if mapping[h].target == imports.EXTERNAL_ID]
    if not outcome or not external:
        raise LoopError(
            "The file needs an outcome column (converted or won) and an id column to hold leads out."
        )
    rng = np.random.default_rng(seed)
    held: dict[str, float] = {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in body:
        if len(row) == len(headers) and rng.random() < holdout_share:
            won = imported_outcome({"outcome_converted": row[outcome[0]]})
            if won is not None and row[external[0]].strip():
                held[row[external[0]].strip()] = won
                row = [*row]
                row[outcome[0]] = ""
        writer.writerow(row)
    return out.getvalue().encode(), held


class LoopError(ValueError):
    """The file cannot drive the loop; the message says why."""


def record_outcomes(lead_ids: set[int], who: People, now: datetime) -> int:
    """Sales close each hand-over as the imported outcome says: converted → accepted, qualified, won; else
    rejected. Only for the training leads: the held-out ones' results stay unknown to the product."""
    ensure_default_reasons()
    reason = Reason.objects.filter(kind=Reason.Kind.REJECTION).order_by("pk").first()
    handed = Lead.objects.filter(state=State.MQL, pk__in=list(lead_ids)).values_list("pk", "attributes")
    n = 0
    for lead_id, attributes in handed.order_by("pk"):
        if imported_outcome(attributes or {}) == 1.0:
            services.lead_accept(lead_id=lead_id, user=who.sales, now=now)
            services.lead_qualify(lead_id=lead_id, user=who.sales, answers=BANT, now=now + timedelta(hours=1))
            services.lead_win(
                lead_id=lead_id, user=who.sales, amount=Decimal("1000"), now=now + timedelta(days=2)
            )
        else:
            services.lead_reject(lead_id=lead_id, user=who.sales, reason=reason, comment="", now=now)
        n += 1
    return n


def version_scores(version: AgreementVersion, population: Population, now: datetime) -> np.ndarray:
    """Each lead's score under the version's full criteria, by the product's own evaluator."""
    criteria = Agreement.of(version).criteria
    return np.array([evaluate(criteria, attributes, facts, now).total
                     for attributes, facts in zip(population.attributes, population.activities, strict=True)],
                    dtype=float)  # fmt: skip


def _features(population: Population) -> list[dict[str, Any]]:
    rows = []
    for attributes in population.attributes:
        row: dict[str, Any] = {}
        for key, value in attributes.items():
            if is_leaky_field(key) or key in SKIP_FIELDS or key in ("lead_number",) or value in (None, ""):
                continue
            row[key] = value if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
        rows.append(row)
    return rows


def lr_bound(train: Population, holdout: Population) -> float | None:
    """A plain logistic regression on the same non-leaky attributes, one-hot encoded: what a black box gets."""
    model = make_pipeline(DictVectorizer(), MaxAbsScaler(), LogisticRegression(C=1.0, max_iter=3000))
    model.fit(_features(train), train.won)
    return auc_of(model.predict_proba(_features(holdout))[:, 1], holdout.won)


def _row(version: AgreementVersion, holdout: Population, now: datetime) -> dict[str, Any]:
    scores = version_scores(version, holdout, now)
    mql = Agreement.of(version).criteria
    band_rows = quantile_bands(scores, holdout.won)
    rates = [b["conversion"] for b in band_rows if b["conversion"] is not None]
    return {
        "version": version.number, "rules": len(mql.fit_rules) + len(mql.engagement_rules),
        "threshold": mql.threshold, "holdout_auc": auc_of(scores, holdout.won), "bands": band_rows,
        "bands_monotonic": rates == sorted(rates),
    }  # fmt: skip


def _held_out(held: dict[str, float]) -> Population:
    ids = dict(
        LeadIdentity.objects.filter(kind=IdentityKind.EXTERNAL, value__in=list(held)).values_list(
            "lead_id", "value"
        )
    )
    return population_of({lead_id: held[value] for lead_id, value in ids.items()}, "held out")


def _accept_all(month: date, who: People, at: datetime) -> tuple[int, dict[str, Any]]:
    """The month's review as the product computes it; every suggestion with a change becomes a decision.
    Returns how many, and the learning figures the review page shows (population, held-back check)."""
    report = review_for(month)
    learning = report.get("learning") or {}
    shown = {"population": (learning.get("population") or {}).get("text"), "holdout": learning.get("holdout")}
    accepted = 0
    for suggestion in report["suggestions"]:
        if suggestion.get("change"):
            services.decision_record(month=month, user=who.marketing, text=suggestion["title"], now=at,
                                     change=suggestion["change"], evidence=suggestion["evidence"],
                                     suggestion_key=suggestion["key"])  # fmt: skip
            accepted += 1
    return accepted, shown


def run(data: bytes, *, filename: str = "leads.csv", holdout_share: float = 0.5, seed: int = 1,
        iterations: int = 3, starter: dict[str, Any] | None = None, limit: int | None = None,
        say: Callable[[str], None] = lambda _: None) -> dict[str, Any]:  # fmt: skip
    data, held = split_file(data, holdout_share=holdout_share, seed=seed, limit=limit)
    who = people()
    now = START
    starter_version = sla_services.agreement_draft_create(user=who.marketing, now=now, title="Starter")
    content = starter or naive_starter()
    sla_services.agreement_change(version_id=starter_version.pk, user=who.marketing, now=now,
                                  change=lambda _: content)  # fmt: skip
    version = _sign(starter_version, who, now)
    headers = next(csv.reader(io.StringIO(data.decode())))
    job = import_create(user=who.marketer, filename=filename, data=data,
                        preset=imports.detect_preset(headers) or "auto", now=now)  # fmt: skip
    job = import_start(job_id=job.pk, user=who.marketer, now_func=lambda: now, inline=True)
    say(f"imported {job.imported} leads ({job.rejected} rejected), {len(held)} held out")
    holdout = _held_out(held)
    train_ids = set(known_results().lead_ids.tolist())  # held-out rows were imported without their outcome
    rows = [_row(version, holdout, now)]
    say(f"v{version.number}: {rows[-1]['rules']} rules, holdout AUC {rows[-1]['holdout_auc']:.3f}")
    closed = record_outcomes(train_ids, who, now + timedelta(hours=1))
    say(f"sales closed {closed} hand-overs")
    month = date(now.year, now.month, 1)
    for _ in range(iterations):
        review_at = datetime(month.year, month.month, 25, 9, 0, tzinfo=UTC)
        accepted, shown = _accept_all(month, who, review_at)
        if not accepted:
            say(f"{month:%B %Y}: nothing to suggest; v{version.number} stays")
            rows.append(
                {**rows[-1], "review": month.isoformat(), "suggestions_accepted": 0, "review_page": shown}
            )
        else:
            draft = services.review_start_draft(month=month, user=who.marketing, now=review_at)
            version = _sign(draft, who, review_at + timedelta(hours=1))
            rows.append({**_row(version, holdout, review_at), "review": month.isoformat(),
                         "suggestions_accepted": accepted, "review_page": shown})  # fmt: skip
            record_outcomes(train_ids, who, review_at + timedelta(hours=2))
        say(f"v{version.number}: {rows[-1]['rules']} rules, holdout AUC {rows[-1]['holdout_auc']:.3f}")
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    train = known_results()
    return {
        "seed": seed, "holdout_share": holdout_share, "leads": len(train) + len(holdout), "train": len(train),
        "holdout": len(holdout), "population": train.describe()["text"], "versions": rows,
        "lr_bound_auc": lr_bound(train, holdout),
    }  # fmt: skip
