"""Every URL × every role (and anonymous): each view declares its roles, and the site enforces them."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from alignment.roles import Role
from sla.services import agreement_ensure_starter

pytestmark = pytest.mark.django_db

# Views anyone may reach: the login flow (Django's own views), the language switcher (it works signed out), and
# the inbound webhooks, which check their sender's signature instead (leads/tests/test_inbound.py).
PUBLIC = {
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "set_language_pref",
    "inbound_mautic",
    "inbound_events",
    "favicon",
}


def _walk(patterns: list[Any], namespace: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in ("admin", "api"):
                continue  # Django's admin checks staff itself; the API authenticates keys (leads/tests/test_api.py)
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((f"{namespace}{entry.name}", entry))
    return found


def _sample_kwargs(pattern: URLPattern, samples: dict[str, Any]) -> dict[str, Any]:
    names = list(pattern.pattern.converters)
    missing = [name for name in names if name not in samples]
    assert not missing, f"Add a sample value for {missing} (URL {pattern.pattern}) to this test"
    return {name: samples[name] for name in names}


@pytest.fixture
def samples(marketing_manager, sales_manager) -> dict[str, Any]:
    version = agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=timezone.now()
    )
    return {
        "pk": version.pk, "section": "fit_rules", "rule_id": "f1", "direction": "up", "part": "threshold",
        "fmt": "hubspot",
    }  # fmt: skip


@pytest.fixture(autouse=True)
def _a_lead_with_the_same_pk(samples):
    """URLs take `pk` for agreement versions and leads alike; make sure both exist with the sample pk."""
    from leads.models import Lead

    Lead.objects.create(
        pk=samples["pk"], email="walk@example.com", created_at=timezone.now(), updated_at=timezone.now()
    )


@pytest.fixture(autouse=True)
def _an_import_job_with_the_same_pk(samples):
    """Import URLs take `pk` for the import job: one with a small file, not yet started, has the sample pk."""
    from leads.models import ImportJob

    ImportJob.objects.create(
        pk=samples["pk"],
        filename="walk.csv",
        data=b"Email,Company\r\nwalk-import@example.com,Walk Ltd\r\n",
        mapping={"Email": {"target": "email", "name": ""}, "Company": {"target": "company", "name": ""}},
        preset="auto",
        total_rows=1,
        created_at=timezone.now(),
    )


def test_every_view_declares_the_roles_that_may_use_it():
    # given every named URL of the site except Django's admin and the login flow
    undeclared = [
        name
        for name, pattern in _walk(get_resolver().url_patterns)
        if name not in PUBLIC and not getattr(pattern.callback, "allowed_roles", None)
    ]
    # then each one says which roles may use it
    assert undeclared == []


def test_every_url_as_every_role(client, role_users, samples, login):
    # given one user per role and a sample object for every URL parameter
    failures = []
    for name, pattern in _walk(get_resolver().url_patterns):
        if name in PUBLIC:
            continue
        url = reverse(name, kwargs=_sample_kwargs(pattern, samples))
        allowed: frozenset[Role] = pattern.callback.allowed_roles
        # when anonymous, then sent to log in
        response = client.get(url)
        if response.status_code != 302 or not response["Location"].startswith(reverse("login")):
            failures.append(f"anonymous GET {url}: {response.status_code}")
        for role, user in role_users.items():
            response = login(user).get(url)
            if role in allowed:
                # then an allowed role is let in (405 means a POST-only action refused the GET after the role check)
                ok = response.status_code < 500 and response.status_code not in (401, 403)
            else:
                # then any other role gets the friendly 403 page
                ok = response.status_code == 403 and b"can't open this page" in response.content
            if not ok:
                failures.append(
                    f"{role.value} GET {url}: {response.status_code} (allowed: {sorted(allowed)})"
                )
    assert failures == []


def test_admin_site_is_for_the_admin_role_only(role_users, login):
    # given the Django admin
    url = reverse("admin:index")
    for role, user in role_users.items():
        # when each role opens it
        response = login(user).get(url)
        # then only Admin (staff) gets in; others are sent to the admin login
        if role is Role.ADMIN:
            assert response.status_code == 200, role
        else:
            assert response.status_code == 302, role


# The object-level dimension: URLs whose `pk` is a lead, an agreement version, a segment or a rescoring run. A user
# working in one segment gets 403 or 404 on another segment's lead, agreement, queue, segment page and rescoring
# run, for every role and URL.
OBJECT_MODULES = {"sla.views", "leads.views", "feedback.views", "leads.segments.views"}
OBJECT_EXTRA = {"feedback:whatif", "feedback:whatif_segments", "feedback:capacity"}


def _object_urls() -> list[tuple[str, URLPattern]]:
    return [
        (name, pattern)
        for name, pattern in _walk(get_resolver().url_patterns)
        if "pk" in pattern.pattern.converters
        and (pattern.callback.__module__ in OBJECT_MODULES or name in OBJECT_EXTRA)
    ]


@pytest.fixture
def other_segment(samples):
    """Segment B (country Japan) with a draft agreement, an MQL lead and a failed rescoring run of that agreement,
    all four with the same pk."""
    from leads.models import Lead, RescoreJob
    from sla.diff import content_hash
    from sla.models import AgreementVersion, Segment

    active = AgreementVersion.objects.get(pk=samples["pk"])
    pk = samples["pk"] + 100
    segment = Segment.objects.create(
        pk=pk, name="B", position=1, conditions=[{"field": "country", "op": "equals", "value": "Japan"}]
    )
    now = timezone.now()
    AgreementVersion.objects.create(
        pk=pk, number=pk, title="B's draft", status="draft", content=active.content,
        content_hash=content_hash(active.content), segment=segment, created_at=now, updated_at=now,
    )  # fmt: skip
    Lead.objects.create(
        pk=pk, email="b@example.jp", last_name="Sato", country="Japan", segment=segment, state="mql", tier="hot",
        created_at=now, updated_at=now,
    )  # fmt: skip
    RescoreJob.objects.create(
        pk=pk, agreement_id=pk, reason="activated", total=1, status="failed", created_at=now, heartbeat_at=now
    )
    return segment, pk


def test_every_lead_and_agreement_url_refuses_another_segments_object(
    role_users, samples, other_segment, login
):
    from sla.models import Segment

    segment_b, b_pk = other_segment
    default = Segment.objects.ensure_default()
    # given every role but Admin working in the default segment only
    for role, user in role_users.items():
        if role is not Role.ADMIN:
            default.members.add(user)
    urls = _object_urls()
    assert {"leads:detail", "sla:version", "sla:sign", "feedback:win", "feedback:whatif", "leads:segment",
            "leads:segment_preview", "leads:segment_precedence", "leads:rescore_retry"} <= {n for n, _ in urls}  # fmt: skip
    failures = []
    for name, pattern in urls:
        url = reverse(name, kwargs={**_sample_kwargs(pattern, samples), "pk": b_pk})
        for role, user in role_users.items():
            if role is Role.ADMIN:
                continue
            client = login(user)
            # when they open (GET) and act on (POST) segment B's object
            codes = [client.get(url).status_code, client.post(url).status_code]
            # then it is refused: 404 (not theirs) or 403 (not their role), 405 only for the method the URL
            # does not take; never a 2xx or 3xx
            if not set(codes) <= {403, 404, 405} or codes == [405, 405]:
                failures.append(f"{role.value} GET/POST {url}: {codes}")
    assert failures == []


def test_a_segments_queue_and_agreement_list_hide_another_segments(role_users, samples, other_segment, login):
    from sla.models import Segment

    segment_b, b_pk = other_segment
    default = Segment.objects.ensure_default()
    rep, manager = role_users[Role.REP], role_users[Role.SALES_MANAGER]
    default.members.add(rep, manager)
    # when the rep asks for B's queue by its id, and the manager lists agreements
    queue = login(rep).get(reverse("leads:queue"), {"segment": segment_b.pk}).content.decode()
    versions = login(manager).get(reverse("sla:versions")).content.decode()
    # then B's lead and B's draft are not there
    b_link = f'href="{reverse("leads:detail", args=[b_pk])}"'
    assert b_link not in queue
    assert "B&#x27;s draft" not in versions and "B's draft" not in versions
    # while the Admin (every segment) sees both
    admin = login(role_users[Role.ADMIN])
    assert b_link in admin.get(reverse("leads:queue")).content.decode()
    assert b_link in admin.get(reverse("leads:queue"), {"segment": segment_b.pk}).content.decode()


# The same dimension for URLs that take the segment as a parameter (`?segment=` or a posted `segment`): the monthly
# review, its decisions, next draft and freeze, and the trend. Every such view of feedback is listed here.
SEGMENT_PARAM_URLS = {
    "feedback:review", "feedback:review_csv", "feedback:decide", "feedback:start_draft", "feedback:freeze",
    "feedback:trend", "feedback:trend_csv",
}  # fmt: skip
SEGMENT_PARAM_MODULES = {"feedback.review_views", "feedback.trend_views"}


def test_every_url_taking_a_segment_refuses_another_segments(role_users, samples, other_segment, login):
    from sla.models import Segment

    segment_b, _b_pk = other_segment
    default = Segment.objects.ensure_default()
    walked = {
        name
        for name, pattern in _walk(get_resolver().url_patterns)
        if pattern.callback.__module__ in SEGMENT_PARAM_MODULES and "pk" not in pattern.pattern.converters
    }
    # given the list is complete: every segment-scoped view of the review and trend is in it
    assert walked == SEGMENT_PARAM_URLS
    for role, user in role_users.items():
        if role is not Role.ADMIN:
            default.members.add(user)
    params = {"segment": segment_b.pk, "month": "2026-10", "table": "funnel", "text": "mine"}
    failures = []
    for name in sorted(SEGMENT_PARAM_URLS):
        url = reverse(name)
        for role, user in role_users.items():
            if role is Role.ADMIN:
                continue
            client = login(user)
            # when a user of the default segment asks for (GET) or acts on (POST) segment B's review or trend
            codes = [client.get(url, params).status_code, client.post(url, params).status_code]
            # then refused: 404 (not theirs) or 403 (not their role); 405 only for the method the URL does not take
            if not set(codes) <= {403, 404, 405} or codes == [405, 405]:
                failures.append(f"{role.value} GET/POST {url} segment B: {codes}")
    assert failures == []
