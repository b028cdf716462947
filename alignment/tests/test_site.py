"""The foundation as a user meets it: login, navigation by role, friendly errors, security headers, audit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from alignment.audit import audit_for, audit_record
from alignment.demo import DEMO_USERS, ensure_demo_users
from alignment.roles import Role

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_roles_exist_as_groups_created_by_migration():
    # then the five roles are there on a freshly migrated database
    assert set(Group.objects.values_list("name", flat=True)) >= {role.value for role in Role}


def test_login_page_then_home_with_role_navigation(client, rep):
    # given the login page
    page = client.get(reverse("login"))
    assert page.status_code == 200 and b'name="username"' in page.content
    # when a rep logs in
    response = client.post(
        reverse("login"), {"username": "rep", "password": "correct-horse-battery"}, follow=True
    )
    # then the home page greets them and the navigation shows the agreement but not the system pages
    html = response.content.decode()
    assert response.status_code == 200
    assert "Good to see you" in html
    assert reverse("sla:active") in html
    assert reverse("health") not in html


def test_wrong_password_is_reported_and_nobody_is_logged_in(client, rep):
    # when the password is wrong
    response = client.post(reverse("login"), {"username": "rep", "password": "nope"})
    # then the form says so and the home page still needs a login
    assert "didn&#x27;t match" in response.content.decode() or "didn't match" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_admin_sees_system_links(admin_user_role, login):
    html = login(admin_user_role).get(reverse("home")).content.decode()
    assert reverse("health") in html and reverse("admin:index") in html


def test_logout_is_a_post_and_ends_the_session(rep, login):
    client = login(rep)
    # when logging out
    response = client.post(reverse("logout"))
    # then back to the login page, and pages need a login again
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_password_change(rep, login):
    client = login(rep)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-battery",
            "new_password1": "a-new-long-pass-9",
            "new_password2": "a-new-long-pass-9",
        },
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.check_password("a-new-long-pass-9")


def test_friendly_404_page(rep, login):
    response = login(rep).get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_friendly_403_page_names_the_problem(rep, login):
    response = login(rep).get(reverse("health"))
    assert response.status_code == 403
    assert b"Your role does not give access to this page." in response.content


def test_friendly_500_page_renders_without_a_request_context():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html


def test_pages_carry_a_content_security_policy_and_load_htmx_locally(rep, login):
    response = login(rep).get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self' 'nonce-" in policy
    html = response.content.decode()
    # htmx comes from the django-htmx package via our static files, never a CDN
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "https://" not in html
    # CSRF token travels with every htmx request
    assert 'hx-headers=\'{"x-csrftoken": "' in html


def test_csrf_stays_on(rep):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    # a POST without the token is refused
    response = client.post(reverse("sla:draft_create"))
    assert response.status_code == 403


def test_audit_trail_records_who_what_before_after_and_why(rep, marketer):
    # given an object and a change to it
    entry = audit_record(
        actor=marketer,
        action="user.renamed",
        target=rep,
        changes={"first_name": ("Rep", "Riley")},
        reason="typo",
    )
    # then the trail shows it, newest first, for that object only
    trail = list(audit_for(rep))
    assert trail == [entry]
    assert entry.actor_label == "marketer"
    assert entry.changes == {"first_name": ["Rep", "Riley"]}
    assert entry.reason == "typo"
    assert list(audit_for(marketer)) == []


def test_demo_users_one_per_role_and_idempotent():
    # when the demo users are created twice
    ensure_demo_users()
    ensure_demo_users()
    # then each can log in with the documented password and holds its role
    from django.contrib.auth import authenticate
    from django.test import RequestFactory  # django-axes checks every authenticate() against its request

    for demo in DEMO_USERS:
        user = authenticate(
            RequestFactory().post("/accounts/login/"), username=demo.username, password=demo.password
        )
        assert user is not None, demo.username
        assert user.groups.filter(name=demo.role.value).exists()


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_with_no_warning():
    # given production mode with a real secret key
    env = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
        "DJANGO_ALLOWED_HOSTS": "alignment.example.com",
    }
    # when Django's deployment check runs
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    # then it finds nothing
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_default_secret_key():
    result = _manage("check", env={"DJANGO_DEBUG": "0"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("server", ["alignment.wsgi", "alignment.asgi", "alignment.celery"])
def test_a_server_started_with_nothing_set_refuses_rather_than_run_in_debug(server):
    # given a deploy that forgets its environment / when the server loads its settings
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    code = f"import {server}; from django.conf import settings; print(settings.DEBUG)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )
    # then it refuses the public development key instead of serving debug pages
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
    # and with debug asked for, it starts in debug
    debug = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**base, "DJANGO_DEBUG": "1"}, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert debug.stdout.strip().splitlines()[-1] == "True", debug.stderr
