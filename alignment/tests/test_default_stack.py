"""`make run`'s stack (manage.py runall: runserver + Celery worker + beat on the embedded filesystem broker) runs
the periodic work on its own: a lead that becomes overdue gets its breach recorded without anyone running the scan.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    """A port nobody listens on now (a fixed one collides with another stack left running on the machine)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PORT = int(os.environ.get("ALIGNMENT_STACK_TEST_PORT") or _free_port())

MAKE_OVERDUE = """
from datetime import timedelta
from django.utils import timezone
from leads.models import Lead
from leads.queue.clocks import stamp_clocks
now = timezone.now()
lead = Lead(email="late@example.com", state="mql", tier="hot", mql_at=now - timedelta(hours=1),
            claim_due_at=now - timedelta(minutes=2), created_at=now, updated_at=now)
stamp_clocks(lead)
lead.save()
print(lead.pk)
"""


def _wait_for(predicate, *, timeout: float, what: str, stack: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert stack.poll() is None, f"runall exited early ({stack.returncode}) while waiting for {what}"
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _serves() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/system/", timeout=2) as response:
            return response.status < 500
    except OSError:
        return False


def test_default_stack_flags_a_breach_without_anyone_running_the_scan(tmp_path):
    # given the default install: a fresh SQLite file, no broker configured, the scan every 2 s
    db = tmp_path / "stack.sqlite3"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CELERY_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        ALIGNMENT_VAR_DIR=str(tmp_path / "var"),
        SLA_SCAN_SECONDS="2",
        DJANGO_SETTINGS_MODULE="alignment.settings",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120)
    log = (tmp_path / "stack.log").open("w")
    stack = subprocess.Popen(
        [*manage, "runall", f"127.0.0.1:{PORT}", "--noreload"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for(_serves, timeout=40, what="the site to answer", stack=stack)
        # when a hot MQL's claim deadline passed two minutes ago (written while the stack runs)
        made = subprocess.run(
            [*manage, "shell", "-c", MAKE_OVERDUE], cwd=ROOT, env=env, check=True, timeout=60,
            capture_output=True, text=True,
        )  # fmt: skip
        lead_id = int(made.stdout.strip().splitlines()[-1])

        def breach_recorded() -> bool:
            with sqlite3.connect(db, timeout=5) as conn:
                rows = conn.execute(
                    "SELECT clock FROM leads_slabreach WHERE lead_id = ?", (lead_id,)
                ).fetchall()
            return rows == [("claim",)]

        # then beat sends the scan, the worker runs it, and the breach is in the database
        _wait_for(breach_recorded, timeout=30, what="the claim breach", stack=stack)
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        try:
            stack.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
            raise
        log.close()
    # and Ctrl-C/SIGTERM stopped runall cleanly with every child
    assert stack.returncode == 0, (tmp_path / "stack.log").read_text()[-3000:]
    assert not _serves(), "the web server outlived runall"
