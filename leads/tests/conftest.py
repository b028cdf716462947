"""Fixtures shared by the leads tests about segment teams (alerts, routing, the segments screen)."""

from __future__ import annotations

from typing import Any

import pytest

from alignment.roles import Role
from leads.tests.test_segment_sla import START, sign
from sla.models import Segment
from sla.services import agreement_draft_create
from sla.tests.segment_factory import japan_segment_create

TERMS = {"notify_manager": True, "on_breach": "reassign", "warn_before_minutes": 3,
         "escalation": [{"after_minutes": 0, "action": "notify_managers_manager"}]}  # fmt: skip


@pytest.fixture
def people(make_user, marketing_manager, sales_manager, rep) -> dict[str, Any]:
    """The demo's two teams: SMB global (the default segment) and Enterprise Japan, each with its own reps,
    sales manager and admin; both agreements tell the managers of a breach, reassign, and climb to the admin."""
    default = Segment.objects.ensure_default()
    sign(agreement_draft_create(user=marketing_manager, now=START), marketing_manager, sales_manager, **TERMS)
    japan = japan_segment_create()
    draft = agreement_draft_create(user=marketing_manager, now=START, segment=japan)
    sign(draft, marketing_manager, sales_manager, **TERMS)
    found = {
        "rep": rep,
        "rep2": make_user(Role.REP, username="rep2"),
        "salesmanager": sales_manager,
        "admin": make_user(Role.ADMIN, username="admin"),
        "jp-rep": make_user(Role.REP, username="jp-rep"),
        "jp-rep2": make_user(Role.REP, username="jp-rep2"),
        "jp-salesmanager": make_user(Role.SALES_MANAGER, username="jp-salesmanager"),
        "jp-marketingmanager": make_user(Role.MARKETING_MANAGER, username="jp-marketingmanager"),
        "jp-admin": make_user(Role.ADMIN, username="jp-admin"),
    }
    default.members.add(*(user for name, user in found.items() if not name.startswith("jp-")))
    japan.members.add(*(user for name, user in found.items() if name.startswith("jp-")))
    return {**found, "default": default, "japan": japan}
