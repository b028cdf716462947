"""`manage.py demo_data`: what `make run` loads on a fresh machine."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from leads.models import Activity, Lead, State
from sla.models import AgreementVersion, Status

pytestmark = pytest.mark.django_db


def test_demo_data_gives_a_fresh_site_users_an_agreement_and_scored_leads_and_is_harmless_twice():
    # when the command runs twice
    first, second = StringIO(), StringIO()
    call_command("demo_data", "--leads", "120", stdout=first)
    call_command("demo_data", "--leads", "120", stdout=second)
    # then every role has a user whose printed password works
    assert "rep                demo-rep-pass" in first.getvalue()
    assert (
        authenticate(
            RequestFactory().post("/accounts/login/"), username="salesmanager", password="demo-sales-pass"
        )
        is not None
    )
    # and one signed starter agreement is in force
    assert AgreementVersion.objects.get().status == Status.ACTIVE
    # and the leads were generated once, with activity, some of them MQLs on different days with SLA clocks
    assert Lead.objects.count() == 120 and Activity.objects.count() > 120
    assert "120 generated" in first.getvalue() and "already there" in second.getvalue()
    mqls = Lead.objects.filter(mql_at__isnull=False)
    assert 0 < mqls.count() < 120
    assert mqls.filter(claim_due_at__isnull=True).count() == 0
    assert len({lead.mql_at.date() for lead in mqls}) > 5
    # and sales worked some of them: claimed, accepted or rejected, won or lost
    assert Lead.objects.filter(
        state__in=[State.SAL, State.SQL, State.WON, State.LOST, State.RECYCLED]
    ).exists()
    # and every MQL's hand-over is recorded as an event with the reason
    assert all(lead.events.filter(to_value="mql").exists() for lead in mqls)
