"""Scoring cost as a lead's history grows: events/s a scoring worker judges, incremental vs whole history.

    DATABASE_URL=postgres://.../some_scratch_db python bench/history.py [--profile]

For 10, 50 and 200 activities per lead (400 leads each, generated with COPY, the starter agreement), each lead
is scored once (its state kept), then, in interleaved rounds, every lead gets one new activity and is judged in
batches of SCORING_BATCH (`leads_rescore`, what a scoring worker runs): on its kept state (incremental), or with
the states dropped first (the whole history read again: how every judgement worked before incremental scoring).
Prints events/s per history length; `--profile` prints a cProfile of the 200-activity incremental run. Not part
of `make bench` (it truncates the leads of the database it is given).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_rescore as data  # noqa: E402  (its settings, data shapes and COPY helpers)

LEADS = 400
BATCH = 50


def main() -> None:
    import django

    django.setup()
    data.ensure_database()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from alignment import outbox
    from alignment.demo import ensure_demo_users
    from leads.models import Activity, ScoringState
    from leads.scoring import leads_rescore
    from sla.models import AgreementVersion
    from sla.services import agreement_ensure_starter

    call_command("migrate", verbosity=0)
    ensure_demo_users()
    User = get_user_model()
    AgreementVersion.objects.active() or agreement_ensure_starter(
        marketing_manager=User.objects.get(username="marketingmanager"),
        sales_manager=User.objects.get(username="salesmanager"),
        now=data.NOW,
    )
    outbox._enqueue = lambda ids: None
    profile = "--profile" in sys.argv
    for history in (10, 50, 200):
        rng = random.Random(history)
        data.copy_leads(LEADS, history, rng, exact=True)
        ids = list(range(1, LEADS + 1))
        now = data.NOW
        _score(leads_rescore, ids, now)  # the first judgement keeps each lead's state
        rates: dict[str, list[float]] = {"incremental": [], "whole history": []}
        for round_ in range(4):
            for mode in rates:
                now += timedelta(minutes=1)
                Activity.objects.bulk_create(
                    Activity(lead_id=pk, type="page", properties={"path": "/pricing"}, occurred_at=now,
                             received_at=now, source="bench")
                    for pk in ids
                )  # fmt: skip
                if mode == "whole history":
                    ScoringState.objects.all().delete()
                profiler = cProfile.Profile() if profile and history == 200 and round_ == 3 else None
                started = time.perf_counter()
                if profiler:
                    profiler.enable()
                _score(leads_rescore, ids, now)
                if profiler:
                    profiler.disable()
                    print(f"--- profile: {mode}, {history} activities per lead")
                    pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)
                rates[mode].append(LEADS / (time.perf_counter() - started))
        summary = ", ".join(
            f"{mode} {sorted(values)[len(values) // 2]:,.0f} events/s" for mode, values in rates.items()
        )
        print(f"{history:>4} activities per lead: {summary}", flush=True)


def _score(leads_rescore, ids: list[int], now) -> None:
    for start in range(0, len(ids), BATCH):
        leads_rescore(lead_ids=ids[start : start + BATCH], now=now, reason="activity")


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
    main()
