"""Schemathesis against our own OpenAPI document, with a write key and an API token: 0 server errors, and every
status the API answers is one the document lists. Bounded: a few examples per operation (well under a minute)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alignment.wsgi import application
from leads.services import api_token_create, write_key_create

pytestmark = pytest.mark.django_db

EXAMPLES = 10  # per operation: 10 operations × 10 = 100 requests, well under a minute


# The document is read through WSGI at collection (no database needed: it is built from the code).
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """Schemathesis calls the WSGI app directly, which closes the database connection after each request (as in
    production); Django's own test client turns that off so the test's transaction survives, and so do we."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(rep) -> dict[str, str]:
    _, write_key = write_key_create(name="schemathesis", now=timezone.now())
    _, token = api_token_create(user=rep, name="schemathesis", now=timezone.now())
    return {"write_key": write_key, "token": token}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_only_what_its_document_says(case, credentials):
    if case.path.startswith("/v1/"):
        auth = "Basic " + base64.b64encode(f"{credentials['write_key']}:".encode()).decode()
    else:
        auth = f"Bearer {credentials['token']}"
    case.call_and_validate(
        headers={"Authorization": auth},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
