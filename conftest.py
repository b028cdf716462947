"""Fixtures shared by every app's tests: one user per role, logged-in clients, the real-data path."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from hypothesis import settings as hypothesis_settings

from alignment.celery import app as celery_app
from alignment.roles import Role
from alignment.testing.browser import watch_page

hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

SHARED_DATA = Path(__file__).resolve().parent.parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def _celery_in_process():
    """Tests run tasks in-process; the one worker test switches this off to go through the real broker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (the queue caches its filter menus)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _site_language():
    """Each test starts in the site's language: a request in Japanese leaves Japanese active in its thread."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Creating users is most of many tests' setup; a cheap hasher keeps the suite fast (never used in production)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db, django_user_model) -> Callable[..., object]:
    counter = {"n": 0}

    def make(role: Role | None = None, **fields: object):
        counter["n"] += 1
        username = (
            fields.pop("username", None) or f"{(role or 'user').replace(' ', '').lower()}{counter['n']}"
        )
        user = django_user_model.objects.create_user(
            username=username,
            password="correct-horse-battery",
            first_name=fields.pop("first_name", username.title()),
            email=f"{username}@example.com",
            **fields,
        )
        if role:
            user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        return user

    return make


@pytest.fixture
def rep(make_user):
    return make_user(Role.REP, username="rep")


@pytest.fixture
def sales_manager(make_user):
    return make_user(Role.SALES_MANAGER, username="salesmanager")


@pytest.fixture
def marketer(make_user):
    return make_user(Role.MARKETER, username="marketer")


@pytest.fixture
def marketing_manager(make_user):
    return make_user(Role.MARKETING_MANAGER, username="marketingmanager")


@pytest.fixture
def admin_user_role(make_user):
    return make_user(Role.ADMIN, username="adminrole", is_staff=True, is_superuser=True)


@pytest.fixture
def role_users(rep, sales_manager, marketer, marketing_manager, admin_user_role) -> dict[Role, object]:
    return {
        Role.REP: rep,
        Role.SALES_MANAGER: sales_manager,
        Role.MARKETER: marketer,
        Role.MARKETING_MANAGER: marketing_manager,
        Role.ADMIN: admin_user_role,
    }


@pytest.fixture
def login() -> Callable[[object], Client]:
    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    """A real headless Chromium (Debian's package) driven by Playwright; CI installs it, so CI never skips."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; .ci/run installs Debian's chromium package")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the Django test client code is still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = watch_page(page)
    page.problems = problems  # tests that provoke an error on purpose call page.problems.forget("...")
    yield page
    page.wait_for_load_state("load")
    context.close()
    assert problems.all() == [], f"what a person (or the console) would see go wrong: {problems.all()}"


@pytest.fixture
def browser_login(page):
    def login(user, password: str = "correct-horse-battery"):
        # Let the previous page's htmx requests finish first: a late response could set cookies after the clear.
        page.wait_for_load_state("networkidle")
        page.context.clear_cookies()
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        try:
            page.wait_for_url(
                lambda url: "/accounts/login/" not in url
            )  # "**/" would match the login page too
        except Exception as error:
            raise AssertionError(
                f"login as {user.username} failed; the page says: {page.inner_text('main')}"
            ) from error
        return page

    return login


# --- leads and the agreement, shared by leads/ and feedback/ tests -----------------------------------------


@pytest.fixture
def agreement(marketing_manager, sales_manager):
    """The starter agreement in force (threshold 50; triggers: demo request, pricing in target, dormant comeback)."""
    from django.utils import timezone

    from sla.models import Segment
    from sla.services import agreement_ensure_starter

    # as on every install (migration sla 0003 makes it), so the starter belongs to it even after a flushed
    # database (transactional tests) lost it
    Segment.objects.ensure_default()
    return agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=timezone.now()
    )


@pytest.fixture
def make_lead(db) -> Callable[..., object]:
    from leads.models import Lead
    from leads.services import ActivityData, LeadData, activities_record, lead_upsert

    def make(*, now: datetime, activities: list[tuple[str, datetime, dict]] | None = None, **fields):
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
