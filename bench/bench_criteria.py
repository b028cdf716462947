"""How fast sla.criteria.evaluate scores a lead: 20 rules against 200 activities (pure Python, no database).

Run: python bench/bench_criteria.py (or `make bench`; SCALE=small for 300 leads instead of 2,000)
The baseline, timed interleaved with it in the same run, is a bare loop over the same activities reading .type and
.occurred_at, so the ratio says how many "just touch every activity" passes one evaluation costs.
"""

from __future__ import annotations

import random
import statistics
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import interleaved, peak_rss_mb, record, scaled

from sla.criteria import Activity, MqlCriteria, evaluate

LEADS = scaled(small=300, default=2000)
ACTIVITIES = 200
REPEATS = scaled(small=3, default=5)
SEED = 7
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CRITERIA: dict[str, Any] = {
    "threshold": 50,
    "fit_rules": [
        {"id": "f1", "name": "Decision maker", "points": 20,
         "condition": {"field": "seniority", "op": "one_of",
                       "value": ["director", "vp", "c-level", "owner"]}},
        {"id": "f2", "name": "Target industry", "points": 15,
         "condition": {"field": "industry", "op": "one_of", "value": ["software", "fintech", "retail"]}},
        {"id": "f3", "name": "100+ employees", "points": 10,
         "condition": {"field": "employees", "op": "gte", "value": 100}},
        {"id": "f4", "name": "Free-mail address", "points": -20,
         "condition": {"field": "email", "op": "free_mail", "value": None}},
        {"id": "f5", "name": "Marketing job", "points": 5,
         "condition": {"field": "job_title", "op": "contains", "value": "marketing"}},
        {"id": "f6", "name": "Core market", "points": 5,
         "condition": {"field": "country", "op": "one_of", "value": ["GB", "DE", "FR", "NL"]}},
    ],
    "engagement_rules": [
        {"id": "e1", "name": "Pricing page view", "points": 15, "activity": "page",
         "where": {"property": "path", "op": "starts_with", "value": "/pricing"},
         "max_count": 2, "window_days": 30, "min_count": 1},
        {"id": "e2", "name": "Case study download", "points": 10, "activity": "download",
         "where": {"property": "asset", "op": "contains", "value": "case-study"},
         "max_count": 3, "window_days": 60, "min_count": 1},
        {"id": "e3", "name": "Webinar attended", "points": 10, "activity": "webinar", "where": None,
         "max_count": None, "window_days": 90, "min_count": 1},
        {"id": "e4", "name": "Blog view", "points": 3, "activity": "page",
         "where": {"property": "path", "op": "starts_with", "value": "/blog"},
         "max_count": 5, "window_days": 30, "min_count": 1},
        {"id": "e5", "name": "Email open", "points": 1, "activity": "email_open", "where": None,
         "max_count": 10, "window_days": 30, "min_count": 1},
        {"id": "e6", "name": "Careers page", "points": -50, "activity": "page",
         "where": {"property": "path", "op": "starts_with", "value": "/careers"},
         "max_count": 1, "window_days": None, "min_count": 1},
        {"id": "e7", "name": "Frequent visitor", "points": 10, "activity": "page", "where": None,
         "max_count": None, "window_days": 7, "min_count": 5},
        {"id": "e8", "name": "Email click", "points": 3, "activity": "email_click", "where": None,
         "max_count": 5, "window_days": 30, "min_count": 1},
    ],
    "inactivity": {"days": 90, "points": -20},
    "gates": [
        {"id": "g1", "name": "Company of 20+", "condition": {"field": "employees", "op": "gte", "value": 20}},
        {"id": "g2", "name": "Has a company",
         "condition": {"field": "company", "op": "is_not_empty", "value": None}},
        {"id": "g3", "name": "Not a competitor",
         "condition": {"field": "industry", "op": "not_equals", "value": "marketing-automation"}},
    ],
    "triggers": [
        {"id": "t1", "name": "Demo request", "activity": "demo_request", "where": None, "attribute": None,
         "requires_gates": True, "min_silence_days": None, "within_days": 7, "reason": "requested a demo"},
        {"id": "t2", "name": "Pricing by a decision maker", "activity": "page",
         "where": {"property": "path", "op": "starts_with", "value": "/pricing"},
         "attribute": {"field": "seniority", "op": "one_of", "value": ["director", "vp", "c-level"]},
         "requires_gates": True, "min_silence_days": None, "within_days": 2, "reason": "viewed pricing"},
        {"id": "t3", "name": "Dormant comeback", "activity": "*", "where": None, "attribute": None,
         "requires_gates": True, "min_silence_days": 180, "within_days": 3,
         "reason": "came back after 6 months"},
    ],
}  # fmt: skip

PATHS = ("/", "/pricing", "/pricing/enterprise", "/blog/a", "/blog/b", "/blog/c", "/product", "/careers",
         "/docs/start", "/about")  # fmt: skip
TYPES = ("page", "email_open", "email_click", "download", "webinar", "form_submit", "demo_request", "event")
TYPE_WEIGHTS = (55, 20, 8, 7, 4, 4, 1, 1)


def make_lead(rng: random.Random, lead_no: int, activities: int) -> tuple[dict[str, Any], list[Activity]]:
    attributes = {
        "email": f"lead{lead_no}@" + rng.choice(("gmail.com", "acme.com", "example.org")),
        "company": rng.choice(("Acme", "Globex", "", "Initech")),
        "seniority": rng.choice(("director", "vp", "manager", "individual")),
        "industry": rng.choice(("software", "fintech", "retail", "marketing-automation", "education")),
        "employees": rng.choice((5, 40, "120", 800, "n/a", None)),
        "job_title": rng.choice(("Head of Marketing", "CTO", "Sales rep")),
        "country": rng.choice(("GB", "US", "DE", "FR")),
    }
    items = []
    for index in range(activities):
        kind = rng.choices(TYPES, TYPE_WEIGHTS)[0]
        properties: dict[str, Any] = {}
        if kind == "page":
            properties["path"] = rng.choice(PATHS)
        elif kind == "download":
            properties["asset"] = rng.choice(("case-study-acme.pdf", "whitepaper.pdf"))
        occurred_at = NOW - timedelta(seconds=rng.randrange(0, 400 * 86400))
        items.append(
            Activity(id=lead_no * 1000 + index, type=kind, occurred_at=occurred_at, properties=properties)
        )
    rng.shuffle(items)
    return attributes, items


def baseline(leads: Sequence[tuple[dict[str, Any], list[Activity]]]) -> None:
    for _attributes, activities in leads:
        for activity in activities:
            activity.type  # noqa: B018
            activity.occurred_at  # noqa: B018


def main() -> None:
    criteria = MqlCriteria.from_dict(CRITERIA)
    rules = (
        len(criteria.fit_rules)
        + len(criteria.engagement_rules)
        + len(criteria.gates)
        + len(criteria.triggers)
    )
    rng = random.Random(SEED)
    leads = [make_lead(rng, number, ACTIVITIES) for number in range(LEADS)]
    results: list[Any] = []

    def run() -> None:
        results.clear()
        results.extend(evaluate(criteria, attributes, activities, NOW) for attributes, activities in leads)

    times = interleaved({"evaluate": run, "bare loop": lambda: baseline(leads)}, repeats=REPEATS)
    per_eval_us = times["evaluate"].p50 / LEADS * 1e6
    base_us = times["bare loop"].p50 / LEADS * 1e6
    mql = sum(result.is_mql for result in results)
    hot = sum(result.tier == "hot" for result in results)
    print(f"  {rules} rules; {LEADS} leads x {ACTIVITIES} activities (seed {SEED}); {mql} MQLs ({hot} hot), "
          f"median total {statistics.median(r.total for r in results)}")  # fmt: skip
    notes = {"rules": rules, "leads": LEADS, "activities_per_lead": ACTIVITIES, "mqls": mql}
    record("criteria evaluate, per lead", per_eval_us, "µs", baseline=base_us,
           baseline_name="bare loop reading each activity's type and time", notes=notes)  # fmt: skip
    record("criteria evaluations per second", LEADS / times["evaluate"].p50, "leads/s",
           baseline=LEADS / times["bare loop"].p50, baseline_name="bare loop, leads/s", lower_is_better=False,
           notes=notes)  # fmt: skip
    record("bench_criteria peak memory", peak_rss_mb(), "MB", goal="flat from SCALE=small to default")


if __name__ == "__main__":
    main()
