"""Segments: each lead is scored by its own segment's agreement, moves between segments on record, and an
activation rescores only its segment's leads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leads.models import Lead, LeadEvent, RescoreJob, State
from leads.scoring import leads_rescore
from sla.content import threshold_set
from sla.models import AgreementVersion, Segment, Side, Status
from sla.services import agreement_change, agreement_draft_create, agreement_propose, agreement_sign
from sla.tests.segment_factory import japan_segment_create

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday, 10:00 London


def signed(version, marketing_manager, sales_manager):
    agreement_propose(version_id=version.pk, user=marketing_manager, now=NOW)
    agreement_sign(version_id=version.pk, user=marketing_manager, now=NOW, side=Side.MARKETING)
    agreement_sign(version_id=version.pk, user=sales_manager, now=NOW, side=Side.SALES)
    version.refresh_from_db()
    return version


def segment_agreement(segment, threshold, marketing_manager, sales_manager):
    draft = agreement_draft_create(user=marketing_manager, now=NOW, title=f"{segment} rules", segment=segment)
    agreement_change(
        version_id=draft.pk, user=marketing_manager, now=NOW, change=lambda c: threshold_set(c, threshold)
    )
    return signed(draft, marketing_manager, sales_manager)


@pytest.fixture
def japan(default_segment, agreement, marketing_manager, sales_manager):
    """Enterprise Japan (country Japan and 500+ employees) with its own agreement: threshold 200."""
    segment = japan_segment_create()
    segment_agreement(segment, 200, marketing_manager, sales_manager)
    return segment


def busy(at):
    return [
        ("download", at - timedelta(days=5), {"asset": "Case study: Acme"}),
        ("download", at - timedelta(days=6), {"asset": "Case study: Globex"}),
        ("webinar", at - timedelta(days=8), {"name": "Q1 launch"}),
    ]


@pytest.fixture
def default_segment(db):
    return Segment.objects.ensure_default()  # made by migration sla 0003 (a flushed test database lost it)


def test_the_default_segment_owns_the_agreement_and_leads_of_a_one_segment_install(
    default_segment, agreement, make_lead
):
    default = default_segment
    lead = make_lead(now=NOW, seniority="director", employees=40, activities=busy(NOW))
    leads_rescore(lead_ids=[lead.pk], now=NOW)
    lead.refresh_from_db()
    assert lead.segment == default and agreement.segment == default
    assert AgreementVersion.objects.active() == agreement


def test_each_lead_is_scored_by_its_own_segments_agreement(agreement, japan, make_lead):
    # given the same busy director at a big Japanese firm and at a small British one
    big = make_lead(
        now=NOW,
        seniority="director",
        industry="software",
        country="Japan",
        employees=900,
        activities=busy(NOW),
    )
    small = make_lead(
        now=NOW, seniority="director", industry="software", country="UK", employees=40, activities=busy(NOW)
    )
    # when both are scored
    leads_rescore(lead_ids=[big.pk, small.pk], now=NOW)
    big.refresh_from_db()
    small.refresh_from_db()
    # then Japan's agreement (threshold 200) keeps the Japanese lead back; the default one hands the other over
    assert big.segment == japan and big.scored_with == AgreementVersion.objects.active_for(japan)
    assert big.state == State.NEW
    assert small.segment.is_default and small.scored_with == agreement and small.state == State.MQL


def test_a_lead_whose_company_grows_moves_segment_on_record(agreement, japan, make_lead, login, rep):
    lead = make_lead(now=NOW, country="Japan", employees=100)
    leads_rescore(lead_ids=[lead.pk], now=NOW)
    Lead.objects.filter(pk=lead.pk).update(employees=2000)
    leads_rescore(lead_ids=[lead.pk], now=NOW + timedelta(hours=1))
    lead.refresh_from_db()
    assert lead.segment == japan
    move = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.SEGMENT)
    assert (move.from_value, move.to_value) == ("All leads", "Enterprise Japan")
    assert move.reason == "country is Japan and employees ≥ 500"
    # the lead page says which segment and why
    page = login(rep).get(lead.get_absolute_url()).content.decode()
    assert "Segment: Enterprise Japan" in page and "because country is Japan and employees ≥ 500" in page


def test_activating_a_segments_agreement_supersedes_only_its_own_and_rescores_only_its_leads(
    agreement, japan, make_lead, marketing_manager, sales_manager, django_capture_on_commit_callbacks
):
    japanese = make_lead(
        now=NOW,
        seniority="director",
        industry="software",
        country="Japan",
        employees=900,
        activities=busy(NOW),
    )
    others = [make_lead(now=NOW, country="UK", employees=40) for _ in range(3)]
    leads_rescore(lead_ids=[japanese.pk, *(o.pk for o in others)], now=NOW)
    old_japan = AgreementVersion.objects.active_for(japan)
    # when Japan's managers sign a lower threshold
    with django_capture_on_commit_callbacks(execute=True):
        new_japan = segment_agreement(japan, 20, marketing_manager, sales_manager)
    # then Japan's old version is superseded, the default segment's stays in force
    old_japan.refresh_from_db()
    agreement.refresh_from_db()
    assert old_japan.status == Status.SUPERSEDED and new_japan.status == Status.ACTIVE
    assert agreement.status == Status.ACTIVE
    # and the rescore went over Japan's one lead only
    job = RescoreJob.objects.filter(agreement=new_japan).get()
    assert (job.total, job.done) == (1, 1)
    japanese.refresh_from_db()
    assert japanese.scored_with == new_japan and japanese.state == State.MQL
    assert all(Lead.objects.get(pk=o.pk).scored_with == agreement for o in others)


def test_a_manager_signs_only_their_own_segments_agreement(agreement, japan, make_user, marketing_manager):
    from alignment.roles import Role
    from sla.exceptions import SignatureRefused

    # given a sales manager of Enterprise Japan, and a proposed change to the default segment's agreement
    japan_manager = make_user(Role.SALES_MANAGER, username="tanaka")
    japan.members.add(japan_manager)
    draft = agreement_draft_create(user=marketing_manager, now=NOW)
    agreement_propose(version_id=draft.pk, user=marketing_manager, now=NOW)
    # when Japan's manager signs it, then it is refused
    with pytest.raises(SignatureRefused, match="segment"):
        agreement_sign(version_id=draft.pk, user=japan_manager, now=NOW, side=Side.SALES)
    # and Japan's own agreement is theirs to sign
    own = agreement_draft_create(user=marketing_manager, now=NOW, segment=japan)
    agreement_propose(version_id=own.pk, user=marketing_manager, now=NOW)
    agreement_sign(version_id=own.pk, user=japan_manager, now=NOW, side=Side.SALES)
    assert own.signatures.valid().get().signed_by == japan_manager


def test_a_rep_sees_only_their_segments_queue_and_leads(agreement, japan, make_user, make_lead, login):
    from alignment.roles import Role

    # given one MQL in each segment and a rep of Enterprise Japan
    jp = make_lead(now=NOW, last_name="Yamada", seniority="director", industry="software", country="Japan",
                   employees=900, activities=busy(NOW))  # fmt: skip
    uk = make_lead(now=NOW, last_name="Smith", seniority="director", industry="software", country="UK",
                   employees=40, activities=busy(NOW))  # fmt: skip
    leads_rescore(lead_ids=[jp.pk, uk.pk], now=NOW)
    Lead.objects.filter(pk=jp.pk).update(state=State.MQL, tier="warm")
    japan_rep = make_user(Role.REP, username="suzuki")
    japan.members.add(japan_rep)
    client = login(japan_rep)
    # when the rep opens the queue, then only Japan's lead is there
    queue = client.get("/leads/queue/").content.decode()
    assert "Yamada" in queue and "Smith" not in queue
    # nor in the list of every lead
    everyone = client.get("/leads/").content.decode()
    assert "Yamada" in everyone and "Smith" not in everyone
    # and the other segment's lead page is not theirs to open, nor to claim
    assert client.get(uk.get_absolute_url()).status_code == 404
    assert client.post(f"/leads/{uk.pk}/claim/").status_code == 404


def test_round_robin_gives_a_segments_lead_to_its_own_team(agreement, japan, make_user, make_lead, rep):
    from alignment.roles import Role
    from leads.exceptions import NoRepAvailable
    from leads.queue import lead_assign_round_robin

    # given a rep in no team and a rep of Enterprise Japan
    japan_rep = make_user(Role.REP, username="suzuki")
    japan.members.add(japan_rep)
    jp = make_lead(now=NOW, country="Japan", employees=900, seniority="director", industry="software",
                   activities=busy(NOW))  # fmt: skip
    leads_rescore(lead_ids=[jp.pk], now=NOW)
    Lead.objects.filter(pk=jp.pk).update(state=State.MQL, tier="warm")
    # when round-robin assigns Japan's lead (twice: whoever's turn it is), then it is always Japan's rep
    for _ in range(2):
        assert lead_assign_round_robin(lead_id=jp.pk, now=NOW).owner == japan_rep
    # and with Japan's rep away, the lead waits in Japan's queue rather than going to another team
    from leads.models import RepProfile

    RepProfile.objects.update_or_create(user=japan_rep, defaults={"is_away": True})
    with pytest.raises(NoRepAvailable):
        lead_assign_round_robin(lead_id=jp.pk, now=NOW)
