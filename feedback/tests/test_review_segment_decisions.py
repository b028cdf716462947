"""A segment's monthly review decides for that segment alone: its decisions, the next draft of its own agreement
(signed by its two managers), and its frozen month. A manager of another segment can neither see nor act on it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from alignment.roles import Role
from feedback import services
from feedback.exceptions import OutcomeRefused
from feedback.models import Decision, Snapshot
from sla.models import AgreementVersion, Segment

pytestmark = pytest.mark.django_db

THRESHOLD_40 = {"op": "set_threshold", "threshold": 40}


@pytest.fixture
def teams(japan, make_user):
    """Japan's sales manager, and the default segment's (SMB) sales manager."""
    smb = Segment.objects.default()
    tanaka = make_user(Role.SALES_MANAGER, username="tanaka")
    japan.members.add(tanaka)
    smith = make_user(Role.SALES_MANAGER, username="smith")
    smb.members.add(smith)
    return tanaka, smith


def _accept(client, month, segment, text="Raise the bar"):
    return client.post(
        reverse("feedback:decide"),
        {"month": month, "segment": segment.pk, "text": text, "due": "", "owner": ""},
    )


def test_a_decision_belongs_to_the_review_it_was_made_in(japan, handed_over, teams, login):
    tanaka, smith = teams
    month = f"{handed_over:%Y-%m}"
    smb = Segment.objects.default()
    # when Japan's manager and SMB's manager each record a decision in their own review
    assert _accept(login(tanaka), month, japan, "Call Japanese leads in Japanese").status_code == 302
    assert _accept(login(smith), month, smb, "Shorter SMB claim time").status_code == 302
    # then each review lists only its own decision
    japan_page = login(tanaka).get(reverse("feedback:review"), {"month": month}).content.decode()
    smb_page = login(smith).get(reverse("feedback:review"), {"month": month}).content.decode()
    assert "Call Japanese leads in Japanese" in japan_page and "Shorter SMB claim time" not in japan_page
    assert "Shorter SMB claim time" in smb_page and "Call Japanese leads in Japanese" not in smb_page
    assert dict(Decision.objects.values_list("text", "segment__name")) == {
        "Call Japanese leads in Japanese": "Enterprise Japan",
        "Shorter SMB claim time": smb.name,
    }


def test_the_next_draft_from_a_segments_review_changes_that_segments_agreement(
    japan, handed_over, teams, login
):
    tanaka, smith = teams
    month = handed_over.date().replace(day=1)
    smb = Segment.objects.default()
    # given an accepted change in each segment's review
    services.decision_record(month=month, user=tanaka, text="Japan: threshold 40", now=timezone.now(),
                             change=THRESHOLD_40, segment=japan)  # fmt: skip
    services.decision_record(month=month, user=smith, text="SMB: threshold 40", now=timezone.now(),
                             change=THRESHOLD_40, segment=smb)  # fmt: skip
    # when Japan's manager starts the next draft from Japan's review
    response = login(tanaka).post(
        reverse("feedback:start_draft"), {"month": f"{month:%Y-%m}", "segment": japan.pk}
    )
    # then it is a draft of Japan's agreement with Japan's change only; SMB's change still waits for SMB's review
    draft = AgreementVersion.objects.get(status="draft")
    assert response.status_code == 302 and response["Location"] == draft.get_absolute_url()
    assert draft.segment == japan and draft.content["mql"]["threshold"] == 40
    assert list(Decision.objects.filter(applied_to=draft).values_list("text", flat=True)) == [
        "Japan: threshold 40"
    ]
    assert Decision.objects.get(segment=smb).applied_to is None
    # and the review says whose agreement the next draft changes
    page = login(smith).get(reverse("feedback:review"), {"month": f"{month:%Y-%m}"}).content.decode()
    assert f"The next draft changes the agreement of {smb.name};" in page


def test_a_manager_of_another_segment_cannot_decide_draft_or_freeze_there(japan, handed_over, teams, login):
    tanaka, smith = teams
    month = f"{handed_over:%Y-%m}"
    services.decision_record(month=handed_over.date().replace(day=1), user=tanaka, text="Japan: threshold 40",
                             now=timezone.now(), change=THRESHOLD_40, segment=japan)  # fmt: skip
    client = login(smith)
    # when SMB's manager posts to Japan's review
    codes = [
        client.post(reverse(name), {"month": month, "segment": japan.pk, "text": "Mine now"}).status_code
        for name in ("feedback:decide", "feedback:start_draft", "feedback:freeze")
    ]
    # then each is not found, and nothing was written
    assert codes == [404, 404, 404]
    assert Decision.objects.count() == 1 and not Snapshot.objects.exists()
    assert not AgreementVersion.objects.filter(status="draft").exists()
    # and the service refuses too, whatever calls it
    with pytest.raises(OutcomeRefused):
        services.review_start_draft(month=handed_over.date().replace(day=1), user=smith, now=timezone.now(),
                                    segment=japan)  # fmt: skip


def test_each_segments_month_is_frozen_on_its_own_and_an_old_whole_month_snapshot_stays_all_leads(
    japan, handed_over, teams, login, sales_manager
):
    tanaka, smith = teams
    month = handed_over.date().replace(day=1)
    # given a whole-month snapshot frozen before segments (no segment), with figures of its own
    Snapshot.objects.create(month=month, data={"frozen": "before segments"}, frozen_by=sales_manager,
                            frozen_at=timezone.now())  # fmt: skip
    # when Japan's manager freezes Japan's month
    response = login(tanaka).post(
        reverse("feedback:freeze"), {"month": f"{month:%Y-%m}", "segment": japan.pk}
    )
    assert response["Location"].endswith(f"segment={japan.pk}")
    # then Japan's snapshot holds Japan's two hand-overs; SMB's month is still live; the old one is "all leads"
    frozen = Snapshot.objects.get(segment=japan)
    assert frozen.data["funnel"]["mqls"] == 2
    assert not Snapshot.objects.filter(segment=Segment.objects.default()).exists()
    assert Snapshot.objects.get(segment__isnull=True).data == {"frozen": "before segments"}
    japan_page = login(tanaka).get(reverse("feedback:review"), {"month": f"{month:%Y-%m}"}).content.decode()
    smb_page = login(smith).get(reverse("feedback:review"), {"month": f"{month:%Y-%m}"}).content.decode()
    assert "Frozen by" in japan_page and "Frozen by" not in smb_page
    # and freezing Japan's month again is refused
    login(tanaka).post(reverse("feedback:freeze"), {"month": f"{month:%Y-%m}", "segment": japan.pk})
    assert Snapshot.objects.filter(segment=japan).count() == 1
