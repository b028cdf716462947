"""`manage.py demo_data --segments` (what `make run` loads): Enterprise Japan and SMB global, each with its own
agreement, team and leads."""

from io import StringIO

import pytest
from django.core.management import call_command

from leads.models import Lead
from sla.agreement import Agreement
from sla.models import AgreementVersion, Segment

pytestmark = pytest.mark.django_db


def test_demo_segments_have_their_own_agreement_calendar_team_and_leads():
    out = StringIO()
    call_command("demo_data", "--segments", "--leads", "80", stdout=out)
    call_command("demo_data", "--segments", stdout=StringIO())  # harmless twice
    japan, smb = Segment.objects.get(name="Enterprise Japan"), Segment.objects.get(name="SMB global")
    assert smb.is_default and not japan.is_default
    # each has one agreement in force; Japan's keeps Japanese business hours
    japan_version, smb_version = (
        AgreementVersion.objects.active_for(japan),
        AgreementVersion.objects.active_for(smb),
    )
    assert japan_version != smb_version and AgreementVersion.objects.filter(status="active").count() == 2
    assert Agreement.of(japan_version).terms.calendar.time_zone == "Asia/Tokyo"
    # each has its own team
    assert set(japan.members.values_list("username", flat=True)) == {
        "jp-rep",
        "jp-salesmanager",
        "jp-marketingmanager",
    }
    assert {"rep", "salesmanager", "marketingmanager"} <= set(smb.members.values_list("username", flat=True))
    # and its own leads: Japan's are Japanese companies of 500+, scored by Japan's agreement
    japanese = Lead.objects.in_segments([japan])
    assert japanese.count() == 80 // 3 and not japanese.exclude(country="Japan").exists()
    assert not japanese.filter(employees__lt=500).exists()
    assert not japanese.exclude(scored_with=japan_version).exists()
    assert "jp-rep" in out.getvalue() and "Enterprise Japan" in out.getvalue()
