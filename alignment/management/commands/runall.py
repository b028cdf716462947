"""`manage.py runall`: the whole default stack in one command (what `make run` starts).

runserver plus two real Celery workers and beat, so breach scans, score ageing, imports and notifications run in
the background: one worker for the default queue, one kept for the `hot` queue (a trigger's lead is judged at once,
never behind a bulk scoring batch; leads/scoring/demands.py). With CELERY_BROKER_URL unset the children share kombu's filesystem transport under var/ (no Redis);
with it set they use that broker. Ctrl-C or SIGTERM stops every child (each runs in its own process group, so
runserver's autoreloader and the worker's pool go with them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

STOP_GRACE_SECONDS = 10


class Command(BaseCommand):
    help = (
        "Serve the site with a Celery worker and beat (embedded filesystem broker when none is configured)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--noreload", action="store_true", help="Pass --noreload to runserver.")

    def handle(self, *args: Any, addrport: str, noreload: bool, **options: Any) -> None:
        var = Path(os.environ.get("ALIGNMENT_VAR_DIR", settings.BASE_DIR / "var"))
        var.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0"}
        if not os.environ.get("CELERY_BROKER_URL"):
            env["CELERY_BROKER_URL"] = "filesystem://"
            env.setdefault("CELERY_BROKER_DIR", str(var / "broker"))
        celery = [sys.executable, "-m", "celery", "-A", "alignment"]
        server = [sys.executable, str(settings.BASE_DIR / "manage.py"), "runserver", addrport]
        if noreload:
            server.append("--noreload")
        worker = [*celery, "worker", "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
                  "--loglevel=INFO"]  # fmt: skip
        commands = {
            "worker": [*worker, "-Q", "celery"],
            "hot worker": [*worker, "-Q", "hot", "-n", "hot@%h"],
            "beat": [*celery, "beat", "--loglevel=INFO", "--schedule", str(var / "celerybeat-schedule")],
            "web": server,
        }  # fmt: skip
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, command in commands.items():
                children[name] = subprocess.Popen(
                    command, env=env, cwd=settings.BASE_DIR, start_new_session=True
                )
            self.stdout.write(f"runall: web, workers and beat started (broker {env['CELERY_BROKER_URL']})")
            while not stopping:
                ended = [name for name, child in children.items() if child.poll() is not None]
                if ended:
                    self.stderr.write(
                        f"runall: {ended[0]} exited ({children[ended[0]].returncode}); stopping"
                    )
                    break
                time.sleep(0.5)
        finally:
            _stop_all(children)


def _stop_all(children: dict[str, subprocess.Popen]) -> None:
    """SIGTERM each child's process group, wait up to STOP_GRACE_SECONDS in all, then SIGKILL what is left."""
    for child in children.values():
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.wait()


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)
