"""`make soak`: the whole site under faults, then an audit of what it stored, scored, ran and sent.

Starts its own PostgreSQL (port 55432) and Redis (port 56379, no persistence) in a temporary directory —
never the machine's shared ones —, gunicorn, a Celery worker and beat against them, and a webhook sink that
stands in for Slack. It sends a known set of events with the real `segment-analytics-python` client while it
SIGKILLs and restarts the worker (twice), stops PostgreSQL for 15 s, kills Redis (its queue is lost) and
restarts it, kills gunicorn and beat and restarts them, and starts an agreement activation (a rescore job) and a
CSV import (a background job) just before a worker kill. Afterwards it prints and writes (soak-result.json)
sent, stored, duplicated, lost, scores that differ from a fresh evaluation, jobs not finished, notifications not
delivered or doubled, breaches missing or doubled; the exit status is 1 unless every figure is 0.

Loopback only, bounded in time, and it stops everything it started. SOAK=small (about 3-4 minutes) is what
CI runs; the default runs events for 5 minutes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_BIN = Path(
    os.environ.get("SOAK_PG_BIN")
    or max(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), default=Path("/usr/bin")
    )
)
PG_PORT, REDIS_PORT, WEB_PORT, SINK_PORT = 55432, 56379, 8140, 8141
HOST = "127.0.0.1"
SIZES = {
    # send events for `seconds`; hot leads (demo requests) only in the first `hot_until` share of it, so their
    # 1-minute claim deadlines pass and a breach scan records them before the audit
    "small": {"seconds": 100, "users": 300, "tracks": 3, "import_rows": 2500, "drain": 150},
    "default": {"seconds": 300, "users": 1200, "tracks": 3, "import_rows": 3000, "drain": 180},
}
HOT_UNTIL = 0.45
SCAN_SECONDS = 15  # the breach scan's period in beat during the soak (SLA_SCAN_SECONDS)
SCAN_MARGIN = 2 * SCAN_SECONDS  # seconds: a deadline this old must have been recorded by a scan
RUN = f"soak{int(time.time())}"


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the services it starts ----------------------------------------------------------------------------------


class Services:
    """Private PostgreSQL and Redis, gunicorn, a Celery worker and beat; each can be killed and started again."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen] = {}
        self.pgdata = tmp / "pg"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@{HOST}:{PG_PORT}/alignment_soak",
            "CELERY_BROKER_URL": f"redis://{HOST}:{REDIS_PORT}/0",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "NOTIFY_WEBHOOK_URL": f"http://{HOST}:{SINK_PORT}/hook",
            "DJANGO_DEBUG": "1",
            "JOB_LEASE_SECONDS": "15",
            "SLA_SCAN_SECONDS": str(SCAN_SECONDS),
            "CELERY_VISIBILITY_TIMEOUT": "60",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "DJANGO_LOG_LEVEL": "WARNING",
        }

    def _log(self, name: str):
        return open(self.tmp / f"{name}.log", "ab")

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.procs[name] = subprocess.Popen(
            argv, cwd=ROOT, env=env or self.env, stdout=self._log(name), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    def postgres_init(self) -> None:
        self.pgdata.mkdir()
        if self.as_postgres:
            shutil.chown(self.tmp, "postgres")
            shutil.chown(self.pgdata, "postgres")
        subprocess.run([*self.as_postgres, str(PG_BIN / "initdb"), "-D", str(self.pgdata), "-A", "trust",
                        "-U", "postgres", "--no-sync"], check=True, capture_output=True)  # fmt: skip
        self.postgres_start()
        subprocess.run([*self.as_postgres, str(PG_BIN / "createdb"), "-h", HOST, "-p", str(PG_PORT),
                        "-U", "postgres", "alignment_soak"], check=True)  # fmt: skip

    def postgres_start(self) -> None:
        options = (
            f"-c listen_addresses={HOST} -c port={PG_PORT} -c unix_socket_directories={self.tmp} -c fsync=off"
        )
        subprocess.run([*self.as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-o", options,
                        "-l", str(self.tmp / "pg.log"), "-w", "start"], check=True, capture_output=True)  # fmt: skip

    def postgres_stop(self) -> None:
        subprocess.run([*self.as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-m", "immediate",
                        "-w", "stop"], capture_output=True)  # fmt: skip

    def redis_start(self) -> None:
        self._spawn("redis", ["redis-server", "--bind", HOST, "--port", str(REDIS_PORT), "--save", "",
                              "--appendonly", "no", "--dir", str(self.tmp)])  # fmt: skip
        wait_for(lambda: _ping_redis(), "Redis")

    def web_start(self) -> None:
        self._spawn("web", [str(VENV_BIN / "gunicorn"), "alignment.wsgi:application", "-b", f"{HOST}:{WEB_PORT}",
                            "-w", "2", "--timeout", "60", "--graceful-timeout", "5"])  # fmt: skip
        wait_for(lambda: _port_open(WEB_PORT), "gunicorn")

    def worker_start(self) -> None:
        self._spawn("worker", [str(VENV_BIN / "celery"), "-A", "alignment", "worker", "-c", "2",
                               "--loglevel=WARNING", "-n", f"{RUN}@%h", "--without-gossip", "--without-mingle"])  # fmt: skip

    def beat_start(self) -> None:
        self._spawn("beat", [str(VENV_BIN / "celery"), "-A", "alignment", "beat", "--loglevel=WARNING",
                             "-s", str(self.tmp / "beat-schedule")])  # fmt: skip

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        self.postgres_stop()


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _ping_redis() -> bool:
    return subprocess.run(["redis-cli", "-h", HOST, "-p", str(REDIS_PORT), "ping"], capture_output=True,
                          text=True).stdout.strip() == "PONG"  # fmt: skip


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not come up in {timeout:.0f} s")


# --- the webhook sink -----------------------------------------------------------------------------------------


class Sink(BaseHTTPRequestHandler):
    """Stands in for Slack: records every notification posted to the webhook."""

    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {"raw": body.decode(errors="replace")}
        with self.lock:
            self.received.append(payload)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def notification_keys(payload: dict[str, Any]) -> list[tuple[str, int]]:
    """(kind, id) of what one webhook message announces: ("breach", breach id) or ("hot", lead id). Other
    messages (SLA warnings, escalations, assignments) are not counted here."""
    kind = str(payload.get("kind", ""))
    if kind and "breach" not in kind and "hot" not in kind:
        return []
    if "breach_ids" in payload:
        return [("breach", int(i)) for i in payload["breach_ids"]]
    if "breach_id" in payload:
        return [("breach", int(payload["breach_id"]))]
    if "lead_id" in payload and "SLA breach" not in str(payload.get("text", "")):
        return [("hot", int(payload["lead_id"]))]
    return []


# --- the events it sends ----------------------------------------------------------------------------------------


def send_events(write_key: str, size: dict[str, int], sent: list[str], errors: list[str]) -> None:
    """identify + `tracks` events per user, spread evenly over the run; every 4th user early on requests a demo
    from a company of 250 (a hot lead under the starter agreement's trigger)."""
    import logging

    from segment.analytics import Client

    logging.getLogger("segment").setLevel(logging.CRITICAL)  # its retries are expected; on_error counts drops

    client = Client(write_key, host=f"http://{HOST}:{WEB_PORT}", max_queue_size=1_000_000, upload_size=50,
                    on_error=lambda error, batch: errors.append(f"{error} ({len(batch)} messages)"),
                    timeout=20, max_retries=20)  # fmt: skip
    users, tracks, seconds = size["users"], size["tracks"], size["seconds"]
    started = time.monotonic()
    for i in range(users):
        due = started + seconds * i / users
        time.sleep(max(0.0, due - time.monotonic()))
        user_id = f"{RUN}-u{i}"
        early = i < users * HOT_UNTIL
        hot = early and i % 4 == 0
        client.identify(user_id, {"email": f"{user_id}@soak.example", "company": f"Company {i % 97}",
                                  "title": "VP Sales" if i % 3 == 0 else "Analyst",
                                  "employees": 250 if hot or i % 2 else 40},
                        message_id=f"{user_id}-identify")  # fmt: skip
        for k in range(tracks):
            event = (
                "Demo Requested"
                if hot and k == tracks - 1
                else ("Pricing Viewed", "Webinar Attended", "Case Study Downloaded")[k % 3]
            )
            message_id = f"{user_id}-t{k}"
            client.track(user_id, event, {"k": k}, message_id=message_id)
            sent.append(message_id)
    client.flush()
    client.join()


# --- the run ----------------------------------------------------------------------------------------------------


def django_setup(env: dict[str, str]) -> None:
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "NOTIFY_WEBHOOK_URL",
                 "JOB_LEASE_SECONDS", "EMAIL_BACKEND", "DJANGO_DEBUG"):  # fmt: skip
        os.environ[name] = env[name]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare() -> tuple[str, dict[str, Any]]:
    """Users, a 24/7 starter agreement whose hot leads must be claimed within 1 minute, and a write key."""
    from django.contrib.auth.models import Group
    from django.contrib.auth.models import User as DjangoUser
    from django.utils import timezone

    from alignment.roles import Role
    from leads.services import write_key_create
    from sla import services as sla

    people = {}
    for name, role in (("mm", Role.MARKETING_MANAGER), ("sm", Role.SALES_MANAGER), ("rep", Role.REP)):
        user = DjangoUser.objects.create_user(name, f"{name}@soak.example", "soak-pass-123")
        user.groups.add(Group.objects.get(name=role.value))
        people[name] = user
    now = timezone.now()
    draft = sla.agreement_draft_create(user=people["mm"], now=now, title="Soak")

    def around_the_clock(content: dict[str, Any]) -> dict[str, Any]:
        terms = content["terms"]
        terms["calendar"].update({"workdays": [0, 1, 2, 3, 4, 5, 6], "opens": "00:00", "closes": "23:59",
                                  "closed_dates": []})  # fmt: skip
        terms["tiers"]["hot"]["claim_minutes"] = 1
        terms["auto_assign"] = False
        return content

    sla.agreement_change(version_id=draft.pk, user=people["mm"], change=around_the_clock, now=now)
    _sign(draft.pk, people, now)
    _, key = write_key_create(name="soak", now=now)
    return key, people


def _sign(version_id: int, people: dict[str, Any], now) -> None:
    from sla import services as sla

    sla.agreement_propose(version_id=version_id, user=people["mm"], now=now)
    sla.agreement_sign(version_id=version_id, user=people["mm"], now=now)
    sla.agreement_sign(version_id=version_id, user=people["sm"], now=now)


def activate_new_version(people: dict[str, Any]) -> None:
    """A new version (threshold one lower) signed by both: its activation queues a rescore of every open lead."""
    from django.utils import timezone

    from sla import services as sla

    _fresh_connection()
    now = timezone.now()
    draft = sla.agreement_draft_create(user=people["mm"], now=now)

    def lower(content: dict[str, Any]) -> dict[str, Any]:
        content["mql"]["threshold"] = max(1, int(content["mql"]["threshold"]) - 1)
        return content

    sla.agreement_change(version_id=draft.pk, user=people["mm"], change=lower, now=now)
    _sign(draft.pk, people, now)


def _fresh_connection() -> None:
    """This process's own connection may predate a PostgreSQL restart."""
    from django.db import connection

    connection.close()


def start_import(rows: int, people: dict[str, Any]) -> int:
    from django.utils import timezone

    from leads.intake.import_services import import_create, import_start

    _fresh_connection()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Email", "Company", "Job Title", "Employees"])
    for i in range(rows):
        writer.writerow([f"{RUN}-imp{i}@soak-import.example", f"Imported {i % 50}", "Manager", 10 + i % 400])
    job = import_create(user=people["mm"], filename="soak.csv", data=out.getvalue().encode(), preset="auto",
                        now=timezone.now())  # fmt: skip
    import_start(job_id=job.pk, user=people["mm"], now_func=timezone.now, inline=False)
    return job.pk


def audit(sent: list[str], import_rows: int, sink: list[dict[str, Any]]) -> dict[str, Any]:
    """What a user would check afterwards, each figure 0 when nothing went wrong."""
    from django.db import connection
    from django.db.models import Count, Q
    from django.utils import timezone

    from leads.models import Activity, ImportJob, Lead, LeadEvent, RescoreJob, SlaBreach
    from leads.scoring import active_rules
    from leads.scoring.rescore import attributes_of, facts_for
    from sla.criteria import evaluate

    connection.close()
    now = timezone.now()
    stored_ids = set(
        Activity.objects.filter(message_id__startswith=f"{RUN}-").values_list("message_id", flat=True)
    )
    sent_ids = set(sent)
    soak_leads = Lead.objects.filter(email__endswith="@soak.example").exclude(email__in=["mm@soak.example",
                                     "sm@soak.example", "rep@soak.example"])  # fmt: skip
    users = len({m.rsplit("-", 1)[0] for m in sent_ids})
    imported = Lead.objects.filter(email__endswith="@soak-import.example").count()
    rules = active_rules()
    leads = list(Lead.objects.exclude(state__in=["won", "lost", "disqualified"]).order_by("pk"))
    facts = facts_for([lead.pk for lead in leads])
    differing = []
    for lead in leads:
        fresh = evaluate(rules.criteria, attributes_of(lead), facts.get(lead.pk, []), now).total
        if lead.score != fresh:
            differing.append([lead.pk, lead.state, lead.score, fresh, lead.scored_with_id, rules.version.pk])
    differ = len(differing)
    hot = set(LeadEvent.objects.filter(Q(kind="state", data__tier="hot") | Q(kind="tier", to_value="hot"))
              .values_list("lead_id", flat=True))  # fmt: skip
    breaches = list(SlaBreach.objects.values_list("pk", "lead_id", "clock"))
    received = Counter(key for payload in sink for key in notification_keys(payload))
    expected = {("hot", lead_id) for lead_id in hot} | {("breach", pk) for pk, _, _ in breaches}
    per_clock = Counter((lead_id, clock) for _, lead_id, clock in breaches)
    breached_claims = {lead_id for (lead_id, clock) in per_clock if clock == "claim"}
    overdue = set(Lead.objects.filter(state="mql", owner__isnull=True, claim_due_at__lt=now - timedelta(seconds=SCAN_MARGIN))
                  .values_list("pk", flat=True))  # fmt: skip
    jobs = [
        *RescoreJob.objects.values_list("status", "attempts"),
        *ImportJob.objects.values_list("status", "attempts"),
    ]
    return {
        "sent": len(sent_ids),
        "stored": len(stored_ids & sent_ids),
        "duplicated": max(0, Activity.objects.filter(message_id__startswith=f"{RUN}-").count() - len(stored_ids))
        + sum(n - 1 for n in soak_leads.values("email").annotate(n=Count("id")).values_list("n", flat=True) if n > 1)
        + max(0, imported - import_rows),
        "lost": len(sent_ids - stored_ids) + max(0, users - soak_leads.count()) + max(0, import_rows - imported),
        "scores_differ": differ,
        "jobs_not_finished": sum(1 for status, _ in jobs if status != "done"),
        "notifications_not_delivered": len(expected - set(received)),
        "notifications_doubled": sum(1 for key, n in received.items() if n > 1),
        "breaches_missing": len(overdue - breached_claims),
        "breaches_doubled": sum(1 for n in per_clock.values() if n > 1),
        "_context": {
            "leads_open": len(leads), "hot_leads": len(hot), "breaches": len(breaches), "jobs": len(jobs),
            "jobs_resumed_after_a_fault": sum(1 for _, attempts in jobs if attempts > 1),
            "webhook_messages": len(sink), "expected_notifications": len(expected),
            "notifications_missing": sorted(expected - set(received))[:20],
            "scores_differing": differing[:10],
        },
    }  # fmt: skip


def settled(import_rows: int) -> bool:
    """Jobs finished, no lead waiting to be scored, and every claim deadline past the last scan recorded: nothing
    left in flight."""
    from django.db import connection
    from django.db.models import Max
    from django.utils import timezone

    from leads.models import ImportJob, Lead, RescoreJob, ScoringDemand, SlaBreach

    try:
        connection.close()
        now = timezone.now()
        busy = (
            RescoreJob.objects.exclude(status="done").exists()
            or ImportJob.objects.exclude(status="done").exists()
            or ScoringDemand.objects.exists()
        )
        waiting = Lead.objects.filter(state="mql", owner__isnull=True, tier="hot")
        latest = waiting.aggregate(latest=Max("claim_due_at"))["latest"]
        scanned = latest is None or latest < now - timedelta(seconds=SCAN_MARGIN)
        overdue = waiting.filter(claim_due_at__lt=now - timedelta(seconds=SCAN_MARGIN))
        missing = overdue.exclude(pk__in=SlaBreach.objects.filter(clock="claim").values("lead_id")).exists()
        return not busy and scanned and not missing
    except Exception:
        return False


def main() -> int:
    size_name = os.environ.get("SOAK", "default")
    size = SIZES[size_name]
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="alignment-soak-"))
    services = Services(tmp)
    sink = ThreadingHTTPServer((HOST, SINK_PORT), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    stop = threading.Event()
    result: dict[str, Any] = {}
    try:
        log(f"size {size_name}: {size}; private PostgreSQL :{PG_PORT}, Redis :{REDIS_PORT}, files in {tmp}")
        services.postgres_init()
        services.redis_start()
        subprocess.run([str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                       env=services.env, check=True)  # fmt: skip
        django_setup(services.env)
        write_key, people = prepare()
        services.web_start()
        services.worker_start()
        services.beat_start()
        log(f"services up after {time.monotonic() - started:.0f} s; sending events for {size['seconds']} s")
        sent: list[str] = []
        client_errors: list[str] = []
        sender = threading.Thread(
            target=send_events, args=(write_key, size, sent, client_errors), daemon=True
        )
        t0 = time.monotonic()
        sender.start()
        span = size["seconds"]

        def at(share: float) -> None:
            time.sleep(max(0.0, t0 + span * share - time.monotonic()))

        faults: list[tuple[float, str, Callable[[], None]]] = [
            (0.10, "start a CSV import and an agreement activation (background jobs)",
             lambda: (start_import(size["import_rows"], people), activate_new_version(people))),
            (0.12, "SIGKILL the Celery worker, restart it 3 s later",
             lambda: (services.kill("worker"), time.sleep(3), services.worker_start())),
            (0.30, "stop PostgreSQL for 15 s", lambda: (services.postgres_stop(), time.sleep(15),
                                                         services.postgres_start())),
            (0.45, "SIGKILL Redis (no persistence: its queues are lost), restart it 2 s later",
             lambda: (services.kill("redis"), time.sleep(2), services.redis_start())),
            (0.58, "another activation, then SIGKILL the worker again",
             lambda: (activate_new_version(people), time.sleep(1), services.kill("worker"), time.sleep(3),
                      services.worker_start())),
            (0.72, "SIGKILL gunicorn and beat, restart them 3 s later",
             lambda: (services.kill("web"), services.kill("beat"), time.sleep(3), services.web_start(),
                      services.beat_start())),
        ]  # fmt: skip
        faults_done = []
        for share, name, fault in faults:
            at(share)
            log(f"fault: {name}")
            fault()
            faults_done.append(name)
        sender.join(timeout=span + 300)
        log(f"sent {len(sent)} events ({len(client_errors)} client errors); waiting for the site to settle")
        deadline = time.monotonic() + size["drain"]
        time.sleep(20)
        while time.monotonic() < deadline and not settled(size["import_rows"]):
            time.sleep(5)
        result = audit(sent, size["import_rows"], list(Sink.received))
        result["_context"].update({"size": size_name, "seconds": round(time.monotonic() - started),
                                   "faults": faults_done, "client_errors": client_errors[:20]})  # fmt: skip
    except BaseException:
        _print_logs(tmp)
        services.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        stop.set()
        sink.shutdown()
        services.stop_all()
    figures = {k: v for k, v in result.items() if not k.startswith("_")}
    for name, value in figures.items():
        print(f"{name:>28}: {value}")
    print(json.dumps(result["_context"], indent=1))
    out = Path(os.environ.get("SOAK_RESULT", ROOT / "soak-result.json"))
    out.write_text(json.dumps(result, indent=1))
    failed = [name for name, value in figures.items() if name not in ("sent", "stored") and value]
    if figures["sent"] == 0:
        failed.append("nothing sent")
    log(
        f"took {result['_context']['seconds']} s; written {out}; {'FAILED: ' + ', '.join(failed) if failed else 'all 0'}"
    )
    if failed:
        _print_logs(tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


def _print_logs(tmp: Path) -> None:
    for name in ("worker", "web", "beat"):
        path = tmp / f"{name}.log"
        if path.exists():
            tail = path.read_text(errors="replace").splitlines()[-15:]
            print(f"--- {name}.log (last lines)\n" + "\n".join(tail))


if __name__ == "__main__":
    sys.exit(main())
