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
    call_command("demo_data", stdout=first)
    call_command("demo_data", stdout=second)
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
    # (400 generated over the last 180 days, plus the 10 hand-overs of today)
    assert Lead.objects.count() == 410 and Activity.objects.count() > 400
    assert "400 generated" in first.getvalue() and "already there" in second.getvalue()
    mqls = Lead.objects.filter(mql_at__isnull=False)
    assert 0 < mqls.count() < 410
    assert mqls.filter(claim_due_at__isnull=True).count() == 0
    assert len({lead.mql_at.date() for lead in mqls}) > 5
    # and sales worked some of them: claimed, accepted or rejected, won or lost
    assert Lead.objects.filter(
        state__in=[State.SAL, State.SQL, State.WON, State.LOST, State.RECYCLED]
    ).exists()
    # and every MQL's hand-over is recorded as an event with the reason
    assert all(lead.events.filter(to_value="mql").exists() for lead in mqls)


def test_demo_data_is_recent_every_rep_owns_work_and_last_month_can_be_reviewed():
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from alignment.roles import Role
    from feedback.months import MIN_EVIDENCE, previous_month
    from feedback.reports import cohort, funnel
    from leads.models import SlaBreach

    call_command("demo_data", stdout=StringIO())
    now = timezone.now()
    # the first demo rep (and every other) owns open work due soon: "My day" and "Mine" are not empty
    for rep in get_user_model().objects.filter(groups__name=Role.REP.value):
        mine = Lead.objects.in_queue().filter(owner=rep)
        assert mine.filter(sla_due_at__gte=now).exists(), f"{rep.username} has nothing due"
    # hot leads wait to be claimed, handed over minutes ago; a few recent breaches were found by the scan
    waiting = Lead.objects.in_queue().filter(
        owner__isnull=True, tier="hot", mql_at__gte=now - timedelta(hours=1)
    )
    assert waiting.count() >= 2
    assert SlaBreach.objects.filter(detected_at__gte=now - timedelta(minutes=5)).count() >= 2
    # the agreement was in force before the history began; last month has enough hand-overs, mostly closed
    version = AgreementVersion.objects.get()
    assert version.activated_at < Lead.objects.order_by("created_at").first().created_at
    last_month = previous_month(now.date().replace(day=1))
    assert funnel(last_month)["mqls"] >= MIN_EVIDENCE
    assert not cohort(last_month).exclude(agreement=version).exists()
    # (last month may still be young early in a month; the one before has settled and can be judged)
    settled = funnel(previous_month(last_month))
    assert settled["mqls"] >= MIN_EVIDENCE and settled["immature"] / settled["mqls"] <= 0.5
