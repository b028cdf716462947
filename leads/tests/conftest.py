from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from leads.models import Lead
from leads.services import ActivityData, LeadData, activities_record, lead_upsert
from sla.services import agreement_ensure_starter


@pytest.fixture
def agreement(marketing_manager, sales_manager):
    """The starter agreement in force (threshold 50; triggers: demo request, pricing in target, dormant comeback)."""
    from django.utils import timezone

    return agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=timezone.now()
    )


@pytest.fixture
def make_lead(db) -> Callable[..., Lead]:
    def make(*, now: datetime, activities: list[tuple[str, datetime, dict]] | None = None, **fields) -> Lead:
        email = fields.pop("email", f"person{Lead.objects.count() + 1}@acme.example")
        lead, _ = lead_upsert(data=LeadData(email=email, fields=fields), now=now)
        activities_record(
            lead=lead,
            activities=[ActivityData(type=t, occurred_at=at, properties=p) for t, at, p in activities or []],
            now=now,
        )
        return lead

    return make


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook(settings) -> Iterator[list[dict]]:
    """A real HTTP server on loopback standing in for a Slack-compatible incoming webhook."""

    class Hook(_Hook):
        received: list[dict] = []

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    yield Hook.received
    server.shutdown()
