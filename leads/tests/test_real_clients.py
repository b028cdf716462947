"""Each real event client, through its own package, sends to this site unchanged (pytest-django's live server).

Segment's segment-analytics-python 2.4 is the project's own dependency (requirements.txt); 2.3, the legacy
analytics-python 1.4 and RudderStack's rudder-sdk-python 2.x would clash with it, so each is installed by this test
into its own virtual environment under the system temp folder (created once, reused while its pin is unchanged)
and runs in a subprocess. Needs PyPI on a fresh machine, as `make test` in CI has.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone

from leads.models import Lead
from leads.services import write_key_create

pytestmark = pytest.mark.django_db(transaction=True)

VENVS = Path(tempfile.gettempdir()) / "alignment-event-clients"
# name → (pip requirement, import line giving `Client`)
CLIENTS = {
    "segment-analytics-python 2.4": (None, "from segment.analytics import Client"),
    "segment-analytics-python 2.3": (
        "segment-analytics-python==2.3.6",
        "from segment.analytics import Client",
    ),
    "analytics-python 1.4": ("analytics-python==1.4.post1", "from analytics import Client"),
    "rudder-sdk-python 2.x": ("rudder-sdk-python==2.1.9", "from rudderstack.analytics import Client"),
}

SCRIPT = """
import json, sys
{import_line}
write_key, host = sys.argv[1], sys.argv[2]
errors = []
client = Client(write_key, host=host, sync_mode=True, on_error=lambda error, batch: errors.append(repr(error)))
client.page(anonymous_id="anon-7", name="Pricing", properties={{"path": "/pricing"}})
client.identify("user-1", {{"email": "ada@acme.example", "firstName": "Ada", "employees": "unknown"}})
client.alias("anon-7", "user-1")
client.group("user-1", "acct-9", {{"name": "Acme", "industry": "Software", "employees": 250}})
client.track("user-1", "Demo Requested", {{"plan": "pro"}})
client.track(1.0, "Webinar Attended")
client.track(1, "Webinar Attended")
client.flush()
print(json.dumps(errors))
"""


def python_for(requirement: str | None) -> str:
    """The interpreter that has this client: the project's own, or a venv made for the pinned requirement."""
    if requirement is None:
        return sys.executable
    venv = VENVS / requirement.replace("=", "_").replace("<", "_").replace(">", "_")
    python = venv / "bin" / "python"
    marker = venv / "installed.txt"
    if not (marker.exists() and marker.read_text() == requirement):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
            check=True,
            timeout=300,
        )
        marker.write_text(requirement)
    return str(python)


@pytest.fixture
def write_key(marketing_manager, sales_manager) -> str:
    from sla.services import agreement_ensure_starter

    agreement_ensure_starter(
        marketing_manager=marketing_manager, sales_manager=sales_manager, now=timezone.now()
    )
    return write_key_create(name="client", now=timezone.now())[1]


@pytest.mark.parametrize("name", list(CLIENTS))
def test_a_real_client_sends_through_its_own_package(live_server, write_key, name):
    requirement, import_line = CLIENTS[name]
    python = python_for(requirement)
    # when the client, in its own interpreter, sends a visitor's page view, identify, alias, group and tracks
    done = subprocess.run(
        [python, "-c", SCRIPT.format(import_line=import_line), write_key, live_server.url],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    # then the library saw no error
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], done.stderr[-2000:]
    # and one lead holds it all: identify traits (RudderStack's in context.traits), the aliased anonymous page
    # view, the group's company, and the float and int user ids as one
    leads = list(Lead.objects.all())
    assert len(leads) == 2, [
        (lead.email, list(lead.identities.values_list("value", flat=True))) for lead in leads
    ]
    ada = Lead.objects.get(email="ada@acme.example")
    assert (ada.first_name, ada.company, ada.industry, ada.employees) == ("Ada", "Acme", "Software", 250)
    assert sorted(ada.activities.values_list("type", flat=True)) == ["demo_request", "page"]
    assert ada.data_problems.filter(field__endswith="traits.employees").exists()  # "unknown", set aside
    numeric = Lead.objects.exclude(pk=ada.pk).get()
    assert list(numeric.identities.values_list("value", flat=True)) == ["1"]
    assert numeric.activities.count() == 2
