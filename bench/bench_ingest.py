"""Events in through the Segment API at scale: gunicorn, real Celery workers on Redis, PostgreSQL.

    SCALE=small|default python bench/bench_ingest.py

Its own database (`alignment_bench_ingest`; BENCH_INGEST_DATABASE_URL to use another), filled by COPY with known
people and their history; Redis db BENCH_REDIS_DB (default 1) as broker; gunicorn on BENCH_PORT (default 8110).
It starts gunicorn (2 processes of 4 threads) and Celery workers itself (scoring workers on the default queue and
one kept for the `hot` queue, as in production), stops them at the end, and records:

- ingest: events/s through POST /v1/batch from concurrent clients (100 messages a batch, known and new people),
  against a raw COPY of as many activity rows into leads_activity, interleaved in the same run (goal >= 1/10);
- a hot trigger (a new person's identify and demo request) → their lead is a hot MQL in the queue: p99 with bulk
  ingest running beside it, against the same probe with nothing else running (goal < 1 s);
- scoring throughput (leads/s): the same backlog of waiting leads drained by one worker, then by two;
- peak resident memory of the web and worker processes.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
from dataset import create_database, empty_with_bench_managers  # noqa: E402
from harness import interleaved, record, scaled  # noqa: E402

URL = os.environ.get("BENCH_INGEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alignment_bench_ingest")
BROKER = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '1')}"
PORT = int(os.environ.get("BENCH_PORT", "8110"))
BIN = Path(sys.executable).parent
SERVER_ENV = {
    "DATABASE_URL": URL,
    "CELERY_BROKER_URL": BROKER,
    "CELERY_TASK_ALWAYS_EAGER": "0",
    "DJANGO_SETTINGS_MODULE": "alignment.settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-ingest-not-a-secret-" + "x" * 40,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "INGEST_RATE_LIMIT": "1000000/m",
    "INGEST_MAX_CONCURRENT": "64",
}
os.environ.update({k: v for k, v in SERVER_ENV.items() if k != "DJANGO_DEBUG"})
os.environ["DJANGO_DEBUG"] = "1"  # this process only prepares data and reads results

PEOPLE = scaled(small=2_000, default=50_000)
HISTORY = scaled(small=10, default=20)  # activities per known person before the run
CLIENTS = 4
BATCH = 100
ROUND_BATCHES = scaled(small=5, default=40)  # batches per timed ingest round
REPEATS = scaled(small=2, default=5)
PROBES = scaled(small=10, default=60)
BACKLOG = scaled(small=500, default=10_000)  # waiting leads per worker-throughput run
PATHS = ("/", "/pricing", "/blog/a", "/blog/b", "/product", "/careers", "/docs/start")
EVENTS = ("Email Opened", "Email Link Clicked", "Asset Downloaded", "Webinar Attended", "Form Submitted",
          "Demo Requested", "Pricing Calculator Used")  # fmt: skip
EVENT_WEIGHTS = (30, 15, 15, 10, 10, 3, 17)


def prepare() -> str:
    """Migrate, empty, sign the starter agreement, COPY the known people and their history; a write key."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from leads.services import write_key_create

    empty_with_bench_managers(
        "leads_activity, leads_activityreceipt, leads_leadidentity, leads_leadevent, leads_lead, leads_writekey, "
        "leads_scoringdemand, alignment_outboxmessage"
    )
    now = datetime.now(UTC)
    rng = random.Random(3)
    lead_columns = ("id, email, first_name, last_name, company, job_title, seniority, department, industry, "
                    "employees, country, source, campaign, attributes, state, tier, score, fit_score, "
                    "engagement_score, breakdown, handoff_reason, sla_clock, created_at, updated_at, attribute_seen_at")  # fmt: skip
    with connection.cursor() as cursor, cursor.connection.cursor() as raw:
        with raw.copy(f"COPY leads_lead ({lead_columns}) FROM STDIN") as copy:
            for n in range(1, PEOPLE + 1):
                copy.write_row((n, f"person{n}@company{n % 97}.example", "Pat", f"P{n}", f"Company {n % 97}",
                                "Engineer", "", "", "retail", 5, "Japan", "web", "", "{}", "new", "", 0, 0, 0,
                                "{}", "", "", now, now, "{}"))  # fmt: skip
        with raw.copy("COPY leads_leadidentity (lead_id, kind, value, created_at) FROM STDIN") as copy:
            for n in range(1, PEOPLE + 1):
                copy.write_row((n, "user_id", f"user-{n}", now))
        columns = "lead_id, type, properties, occurred_at, received_at, source, message_id"
        with raw.copy(f"COPY leads_activity ({columns}) FROM STDIN") as copy:
            for n in range(1, PEOPLE + 1):
                for h in range(HISTORY):
                    at = now - timedelta(seconds=rng.randrange(86400, 60 * 86400))
                    copy.write_row((n, "page", json.dumps({"path": rng.choice(PATHS)}), at, at, "seed",
                                    f"seed-{n}-{h}"))  # fmt: skip
        cursor.execute("SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), %s)", [PEOPLE])
        cursor.execute("ANALYZE leads_lead; ANALYZE leads_activity; ANALYZE leads_leadidentity")
    return write_key_create(name="bench", now=timezone.now())[1]


class Traffic:
    """Realistic batches: mostly page views and events of known people, a few identifies and new visitors."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial = 0
        self.lock = threading.Lock()

    def batch(self) -> list[dict[str, Any]]:
        with self.lock:
            self.serial += 1
            serial = self.serial
        rng, now = self.rng, datetime.now(UTC)
        messages = []
        for m in range(BATCH):
            person = rng.randrange(1, PEOPLE + 1)
            ids = (
                {"userId": f"user-{person}"} if rng.random() < 0.9 else {"anonymousId": f"anon-{serial}-{m}"}
            )
            at = (now - timedelta(seconds=rng.randrange(0, 3 * 86400))).isoformat()
            kind = rng.choices(("page", "track", "identify"), (60, 35, 5))[0]
            message: dict[str, Any] = {
                "type": kind,
                "messageId": f"b{os.getpid()}-{serial}-{m}",
                "timestamp": at,
            }
            message.update(ids)
            if kind == "page":
                message["properties"] = {"path": rng.choice(PATHS), "title": "A page"}
            elif kind == "track":
                message["event"] = rng.choices(EVENTS, EVENT_WEIGHTS)[0]
                message["properties"] = {"asset": "case study.pdf"}
            else:
                message["traits"] = {"title": rng.choice(("VP Sales", "Engineer")), "industry": "software"}
            messages.append(message)
        return messages

    def rows(self, count: int, now: datetime) -> list[tuple]:
        """The same kind of rows as activity rows, for the COPY baseline."""
        rows = []
        for _ in range(count):
            with self.lock:
                self.serial += 1
                serial = self.serial
            kind = self.rng.choice(("page", "email_opened", "asset_downloaded"))
            rows.append((self.rng.randrange(1, PEOPLE + 1), kind, json.dumps({"path": "/", "title": "A page"}),
                         now, now, "copy", f"copy-{serial}"))  # fmt: skip
        return rows


def post(key: str, messages: list[dict[str, Any]]) -> None:
    body = json.dumps({"batch": messages}).encode()
    auth = base64.b64encode(f"{key}:".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/v1/batch",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
        method="POST",
    )
    for attempt in range(20):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            if error.code not in (429, 503):
                raise SystemExit(f"POST /v1/batch answered {error.code}: {error.read()[:300]!r}") from None
            time.sleep(0.05 * (attempt + 1))
    raise SystemExit("POST /v1/batch kept answering 429/503")


class Servers:
    """gunicorn and Celery workers started (and stopped) by this bench, by their own process ids."""

    def __init__(self) -> None:
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []  # scoring workers on the default queue
        self.hot: subprocess.Popen | None = None  # the worker kept for the `hot` queue
        self.peak: dict[str, float] = {"web": 0.0, "worker": 0.0}

    def start_web(self) -> None:
        self.web = subprocess.Popen(
            [str(BIN / "gunicorn"), "alignment.wsgi", "--workers", "2", "--worker-class", "gthread", "--threads", "4",
             "--bind", f"127.0.0.1:{PORT}",
             "--log-level", "warning", "--timeout", "120"],
            cwd=ROOT, env={**os.environ, **SERVER_ENV},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/openapi.json", timeout=5).read()
                return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("gunicorn did not answer within 60 s")

    def start_worker(self, queue: str = "celery") -> None:
        name = "bench-ingest-hot@%h" if queue == "hot" else f"bench-ingest-{len(self.workers) + 1}@%h"
        process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "alignment", "worker", "-Q", queue, "--concurrency", "1", "--pool", "prefork",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", name, "--loglevel", "WARNING"],
            cwd=ROOT, env={**os.environ, **SERVER_ENV},
        )  # fmt: skip
        if queue == "hot":
            self.hot = process
        else:
            self.workers.append(process)
        from alignment.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=0.5) or []
            if sum(1 for reply in replies for n in reply if n.startswith(name.split("@")[0])) >= 1:
                return
        raise SystemExit("the Celery worker did not answer within 60 s")

    def sample_memory(self) -> None:
        workers = [*self.workers, *([self.hot] if self.hot else [])]
        for kind, roots in (("web", [self.web] if self.web else []), ("worker", workers)):
            for root in roots:
                for pid in [root.pid, *_children(root.pid)]:
                    self.peak[kind] = max(self.peak[kind], _peak_mb(pid))

    def stop(self) -> None:
        processes = [*self.workers, *([self.hot] if self.hot else []), *([self.web] if self.web else [])]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                out += [int(child), *_children(int(child))]
    except OSError:
        pass
    return out


def _peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    create_database(URL)
    key = prepare()
    from django.db import connection

    from leads.models import Lead, ScoringDemand

    servers = Servers()
    try:
        servers.start_web()
        servers.start_worker()
        servers.start_worker()
        servers.start_worker("hot")
        traffic = Traffic(7)
        pool = ThreadPoolExecutor(CLIENTS)

        def ingest_round() -> None:
            list(pool.map(lambda _: post(key, traffic.batch()), range(ROUND_BATCHES)))

        def copy_round() -> None:
            # in lead order, as the API locks them: COPY's foreign-key locks then never deadlock with a worker
            rows = sorted(traffic.rows(ROUND_BATCHES * BATCH, datetime.now(UTC)))
            connection.ensure_connection()
            raw = connection.connection
            with raw.transaction(), raw.cursor() as cursor:
                columns = "lead_id, type, properties, occurred_at, received_at, source, message_id"
                with cursor.copy(f"COPY leads_activity ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)

        # 1. Ingest over HTTP against COPY, interleaved.
        times = interleaved({"ingest": ingest_round, "copy": copy_round}, repeats=REPEATS)
        events = ROUND_BATCHES * BATCH
        servers.sample_memory()
        record(
            f"ingest over HTTP, {CLIENTS} clients (gunicorn + Celery)",
            events / times["ingest"].p50,
            "events/s",
            baseline=events / times["copy"].p50,
            baseline_name="raw COPY of as many activity rows",
            goal=">= 1/10 of COPY",
            lower_is_better=False,
            notes={"people": PEOPLE, "history": HISTORY, "batch": BATCH, "batches_per_round": ROUND_BATCHES},
        )
        _drain(ScoringDemand, timeout=120)

        # 2. Hot trigger → visible in the queue, alone and beside bulk ingest.
        probe_serial = [0]
        requests: list[float] = []  # of each probe, the part until POST /v1/batch answered

        def probe() -> float:
            probe_serial[0] += 1
            n = probe_serial[0]
            email = f"probe{n}@probe.example"
            started = time.perf_counter()
            post(key, [
                {"type": "identify", "userId": f"probe-{n}", "messageId": f"probe-i-{n}",
                 "traits": {"email": email, "company": "Probe", "employees": 500, "title": "VP Sales"}},
                {"type": "track", "userId": f"probe-{n}", "event": "Demo Requested", "messageId": f"probe-t-{n}"},
            ])  # fmt: skip
            requests.append(time.perf_counter() - started)
            while not Lead.objects.filter(email=email, state="mql", tier="hot").exists():
                if time.perf_counter() - started > 60:
                    raise SystemExit(f"probe {n} never became a hot MQL")
                time.sleep(0.005)
            return time.perf_counter() - started

        probe()  # untimed: the hot worker's first task opens its connection and compiles the agreement
        requests.clear()
        idle = [probe() for _ in range(PROBES)]
        idle_requests, requests[:] = list(requests), []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                post(key, traffic.batch())

        loaders = [threading.Thread(target=load) for _ in range(CLIENTS)]
        for thread in loaders:
            thread.start()
        time.sleep(1)
        loaded = [probe() for _ in range(PROBES)]
        stop.set()
        for thread in loaders:
            thread.join()
        servers.sample_memory()
        record(
            "hot trigger → in the queue, p99 under ingest load",
            p99(loaded),
            "s",
            baseline=p99(idle),
            baseline_name="the same probe with no load",
            goal="< 1 s",
            notes={"probes": PROBES, "p50_loaded": sorted(loaded)[len(loaded) // 2],
                   "p50_idle": sorted(idle)[len(idle) // 2], "load_clients": CLIENTS,
                   "request_p50_loaded": sorted(requests)[len(requests) // 2], "request_p99_loaded": p99(requests),
                   "request_p50_idle": sorted(idle_requests)[len(idle_requests) // 2]},
        )  # fmt: skip
        _drain(ScoringDemand, timeout=300)

        # 3. Scoring throughput: the same backlog drained by two workers, then by one.
        two = _throughput(ScoringDemand, offset=0)
        servers.sample_memory()
        servers.workers.pop().send_signal(signal.SIGTERM)
        one = _throughput(ScoringDemand, offset=BACKLOG)
        record(
            "scoring throughput, two workers",
            two,
            "leads/s",
            baseline=one,
            baseline_name="one worker, the same backlog",
            goal="two faster than one",
            lower_is_better=False,
            notes={"backlog": BACKLOG, "history": HISTORY},
        )
        record("peak RSS, web process (gunicorn)", servers.peak["web"], "MB", notes={"people": PEOPLE})
        record("peak RSS, worker process (Celery)", servers.peak["worker"], "MB", notes={"people": PEOPLE})
    finally:
        servers.stop()


def _drain(model: Any, *, timeout: float) -> float:
    started = time.perf_counter()
    while model.objects.exists():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"{model.objects.count()} leads still wait after {timeout} s")
        time.sleep(0.02)
    return time.perf_counter() - started


def _throughput(model: Any, *, offset: int) -> float:
    """Leads scored per second: BACKLOG known people (with history) left waiting, then runs queued."""
    from django.utils import timezone

    from leads.tasks import scoring_run

    now = timezone.now()
    first = 1 + offset % max(PEOPLE - BACKLOG, 1)
    model.objects.bulk_create(
        [model(lead_id=pk, since=now) for pk in range(first, first + BACKLOG)], ignore_conflicts=True
    )
    for _ in range(2):
        scoring_run.delay()
    return BACKLOG / _drain(model, timeout=600)


if __name__ == "__main__":
    main()
