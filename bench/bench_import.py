"""CSV import on PostgreSQL: a 2,000-row file into a table of 100k leads, beside a raw COPY of the same rows.

    SCALE=small|default python bench/bench_import.py

Uses its own database (`alignment_bench_import`, created and migrated if missing; BENCH_IMPORT_DATABASE_URL to
use another) and fills it by COPY. Each repeat imports a fresh file (half the rows update stored leads, half are
new) through the import service the Import page runs (`import_create` + `import_start`, inline): validation,
upsert, the chunks' bookkeeping and the scoring demands, stored and committed; the judgement of those leads is
timed apart (a scoring worker's `demands_score` over the rows the import left waiting). The baseline COPYs the
same 2,000 rows into leads_lead, interleaved with the subject.
"""

from __future__ import annotations

import io
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from dataset import bench_database_url, create_database, empty_with_bench_managers  # noqa: E402
from harness import interleaved, peak_rss_mb, record, scaled  # noqa: E402

URL = os.environ.get("BENCH_IMPORT_DATABASE_URL", bench_database_url("alignment_bench_import"))
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
# The import runs as on a site with a broker: rows stored, leads left waiting for a scoring worker.
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"

LEADS = scaled(small=10_000, default=100_000)
ROWS = 2_000
REPEATS = scaled(small=3, default=5)
HEADERS = [
    "Email",
    "First Name",
    "Last Name",
    "Company Name",
    "Job Title",
    "Lead Source",
    "Employees",
    "Country",
]
TITLES = ("VP Sales", "Engineer", "Head of Marketing", "CEO", "Analyst")


def prepare() -> object:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from alignment.roles import Role

    settings.DEBUG = False
    users = empty_with_bench_managers(
        "leads_activity, leads_leadidentity, leads_leadevent, leads_lead, leads_importjob, leads_scoringdemand"
    )
    now = datetime.now(UTC)
    with connection.cursor() as cursor, cursor.connection.cursor() as raw:
        with raw.copy(f"COPY leads_lead ({COLUMNS}) FROM STDIN") as copy:
            for n in range(LEADS):
                copy.write_row(_lead_row(f"stored{n}@example.com", n, now))
        cursor.execute("ANALYZE leads_lead")
    return users[Role.MARKETING_MANAGER]


COLUMNS = ("email, first_name, last_name, company, job_title, source, employees, country, attributes, state, "
           "tier, score, fit_score, engagement_score, breakdown, handoff_reason, created_at, updated_at, "
           "seniority, department, industry, campaign, sla_clock, attribute_seen_at")  # fmt: skip


def _lead_row(email: str, n: int, now: datetime) -> tuple:
    return (email, "Pat", f"Last{n}", f"Company {n % 5000}", TITLES[n % len(TITLES)], "Google", 5 + n % 900,
            "Japan", "{}", "new", "", 0, 0, 0, "{}", "", now, now, "", "", "software", "", "", "{}")  # fmt: skip


class Files:
    """Fresh rows for every repeat: half update stored leads not touched before, half are new people."""

    def __init__(self) -> None:
        self.round = 0
        self.rng = random.Random(7)

    def rows(self) -> list[list[str]]:
        self.round += 1
        out = []
        for n in range(ROWS):
            if n % 2:
                email = f"stored{(self.round * ROWS + n) % LEADS}@example.com"
            else:
                email = f"new{self.round}-{n}@example.com"
            out.append([email, "Pat", f"Row{n}", f"Company {n % 300}", self.rng.choice(TITLES), "Webinar",
                        str(10 + n % 2000), "Japan"])  # fmt: skip
        return out


def main() -> None:
    create_database(URL)
    user = prepare()
    import csv

    from django.db import connection
    from django.utils import timezone

    from leads.intake.import_services import import_create, import_start
    from leads.models import ImportJob, ScoringDemand
    from leads.scoring.demands import demands_score

    files, copies = Files(), Files()
    judged: list[float] = []
    imported: list[float] = []  # the import alone; interleaved() times the import and its judgement together

    def do_import() -> None:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        writer.writerows(files.rows())
        started = time.perf_counter()  # what the Import page's request does: upload, then run
        job = import_create(
            user=user,
            filename="bench.csv",
            data=out.getvalue().encode(),
            preset="hubspot",
            now=timezone.now(),
        )
        job = import_start(job_id=job.pk, user=user, now_func=timezone.now, inline=True)
        imported.append(time.perf_counter() - started)
        if job.status != ImportJob.Status.DONE or job.imported + job.updated != ROWS:
            sys.exit(
                f"import {job.pk} ended {job.status}: {job.imported} new, {job.updated} updated, {job.failure}"
            )
        started = time.perf_counter()  # what a scoring worker then does with the leads the import touched
        demands_score(now=timezone.now())
        judged.append(time.perf_counter() - started)
        if ScoringDemand.objects.exists():
            sys.exit("leads still wait after the scoring run")

    def do_copy() -> None:
        now = datetime.now(UTC)
        rows = [_lead_row(f"copy{copies.round}-{row[0]}", n, now) for n, row in enumerate(copies.rows())]
        connection.ensure_connection()
        raw = connection.connection
        with (
            raw.transaction(),
            raw.cursor() as cursor,
            cursor.copy(f"COPY leads_lead ({COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    times = interleaved({"import": do_import, "copy": do_copy}, repeats=REPEATS)
    notes = {"leads": LEADS, "rows": ROWS, "repeats": REPEATS, "peak_rss_mb": round(peak_rss_mb(), 1)}
    record(
        f"CSV import, {ROWS:,} rows into {LEADS:,} leads",
        median(imported[1:]),  # the first is interleaved()'s warm-up
        "s",
        baseline=times["copy"].p50,
        baseline_name=f"COPY of the same {ROWS:,} rows",
        goal="< 2 s",
        notes=notes,
    )
    print(f"  (import and judgement together: {times['import'].p50:.3g} s)")
    record(
        f"CSV import, judging its {ROWS:,} leads (a scoring worker)",
        median(judged[1:]),
        "s",
        notes=notes,
    )


if __name__ == "__main__":
    main()
