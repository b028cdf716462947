"""Alerts and routing follow the lead's segment team: a breach, a warning, a hot lead or an escalation in
Enterprise Japan reaches Japan's people, not SMB global's, and the other way round; round-robin (new MQLs, a
reassign on breach) picks only the segment's own reps. A segment whose team has nobody of the role falls back to
everyone holding it (leads.audience)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alignment.models import OutboxMessage
from alignment.roles import Role
from leads.models import Lead, SlaBreach
from leads.notifications import breaches_notify
from leads.queue import lead_assign_round_robin, lead_claim, sla_breaches_scan
from leads.tests.conftest import TERMS
from leads.tests.test_segment_sla import START, TOKYO_OPENS, hot_lead, sign
from sla.models import Segment
from sla.services import agreement_draft_create

pytestmark = pytest.mark.django_db
JAPAN = {"country": "Japan", "employees": 900}
SMB = {"country": "UK", "employees": 40}


def told(prefix: str) -> set[str]:
    """The usernames told in the app (the bell) by messages whose key starts with `prefix`."""
    from django.contrib.auth import get_user_model

    ids = [
        int(key.rsplit(":", 1)[1])
        for key in OutboxMessage.objects.filter(key__startswith=prefix, key__contains=":inapp:").values_list(
            "key", flat=True
        )
    ]
    return set(get_user_model().objects.filter(pk__in=ids).values_list("username", flat=True))


def test_a_breach_reaches_its_own_segments_sales_managers_only(people, make_lead):
    # given a hot lead in each segment, claimed by a rep of its team who never calls
    uk, japanese = hot_lead(make_lead, **SMB), hot_lead(make_lead, **JAPAN)
    lead_claim(lead_id=uk.pk, rep=people["rep"], now=START + timedelta(minutes=1))
    lead_claim(lead_id=japanese.pk, rep=people["jp-rep"], now=TOKYO_OPENS + timedelta(minutes=1))
    # when both first-contact deadlines have passed and the scan runs
    found = sla_breaches_scan(now=TOKYO_OPENS + timedelta(hours=3)).breaches
    uk_breach = SlaBreach.objects.get(pk__in=found, lead=uk, clock="first_contact")
    jp_breach = SlaBreach.objects.get(pk__in=found, lead=japanese, clock="first_contact")
    # then Japan's breach reaches the Japanese sales manager and the owner, not SMB's manager; and vice versa
    assert {"jp-salesmanager", "jp-rep"} <= told(f"sla.breached:{jp_breach.pk}:")
    assert not {"salesmanager", "rep", "rep2"} & told(f"sla.breached:{jp_breach.pk}:")
    assert {"salesmanager", "rep"} <= told(f"sla.breached:{uk_breach.pk}:")
    assert not {"jp-salesmanager", "jp-rep", "jp-rep2"} & told(f"sla.breached:{uk_breach.pk}:")
    # and the reassign-on-breach gave each lead to the other rep of its own team
    assert (jp_breach.action, jp_breach.new_owner.username) == (SlaBreach.Action.REASSIGNED, "jp-rep2")
    assert (uk_breach.action, uk_breach.new_owner.username) == (SlaBreach.Action.REASSIGNED, "rep2")
    # and the ladder's "manager's manager" step told each segment's own admin
    assert told(f"sla.escalated:{japanese.pk}:first_contact:1:") == {"jp-admin"}
    assert told(f"sla.escalated:{uk.pk}:first_contact:1:") == {"admin"}


def test_a_hot_lead_nobody_owns_reaches_its_segments_reps_and_manager(
    people, make_lead, django_capture_on_commit_callbacks
):
    # when a hot lead arrives in each segment (the hot notice is written once the scoring has committed)
    with django_capture_on_commit_callbacks(execute=True):
        uk, japanese = hot_lead(make_lead, **SMB), hot_lead(make_lead, **JAPAN)
    # then the Japanese one tells Japan's reps and sales manager only; the UK one SMB's only
    assert told(f"lead.hot:{japanese.pk}:") == {"jp-rep", "jp-rep2", "jp-salesmanager"}
    assert told(f"lead.hot:{uk.pk}:") == {"rep", "rep2", "salesmanager"}


def test_a_warning_on_an_unowned_lead_reaches_its_segments_sales_manager(people, make_lead):
    uk, japanese = hot_lead(make_lead, **SMB), hot_lead(make_lead, **JAPAN)
    # when each claim deadline is 2 business minutes away
    sla_breaches_scan(now=uk.claim_due_at - timedelta(minutes=2))
    sla_breaches_scan(now=japanese.claim_due_at - timedelta(minutes=2))
    # then each segment's own sales manager is warned
    assert told(f"sla.warning:{japanese.pk}:claim:") == {"jp-salesmanager"}
    assert told(f"sla.warning:{uk.pk}:claim:") == {"salesmanager"}


def test_round_robin_gives_each_segments_leads_to_its_own_reps(people, make_lead):
    uk, japanese = hot_lead(make_lead, **SMB), hot_lead(make_lead, **JAPAN)
    # when each is assigned round-robin twice (the second time away from the first rep)
    first_jp = lead_assign_round_robin(lead_id=japanese.pk, now=START).owner
    second_jp = lead_assign_round_robin(lead_id=japanese.pk, now=START, exclude=first_jp).owner
    first_uk = lead_assign_round_robin(lead_id=uk.pk, now=START).owner
    second_uk = lead_assign_round_robin(lead_id=uk.pk, now=START, exclude=first_uk).owner
    # then the Japanese lead only ever goes to Japan's reps, the UK lead to SMB's
    assert {first_jp.username, second_jp.username} == {"jp-rep", "jp-rep2"}
    assert {first_uk.username, second_uk.username} == {"rep", "rep2"}


def test_a_new_mql_is_auto_assigned_within_its_segment(people, make_lead, marketing_manager, sales_manager):
    # given Japan's agreement assigns new MQLs round-robin
    draft = agreement_draft_create(user=marketing_manager, now=START, segment=people["japan"])
    sign(draft, marketing_manager, sales_manager, **TERMS, auto_assign=True)
    # when a hot Japanese lead arrives
    japanese = hot_lead(make_lead, **JAPAN)
    # then a Japanese rep owns it at once
    assert japanese.owner.username in {"jp-rep", "jp-rep2"}


def test_a_segment_whose_team_has_nobody_of_the_role_falls_back_to_everyone(people, make_lead, make_user):
    # given a third segment whose team has a rep but no sales manager, and one with no team at all
    nordics = Segment.objects.create(
        name="Nordics", position=5, conditions=[{"field": "country", "op": "equals", "value": "Sweden"}]
    )
    nordics.members.add(make_user(Role.REP, username="se-rep"))
    lead = Lead.objects.create(email="a@example.se", country="Sweden", segment=nordics, created_at=START,
                               updated_at=START, state="mql", owner=people["rep"])  # fmt: skip
    breach = SlaBreach.objects.create(lead=lead, clock="claim", deadline=START, detected_at=START, late_seconds=60,
                                      owner=people["rep"])  # fmt: skip
    # when a breach in it tells the managers
    breaches_notify(breach_ids=[breach.pk], notify_manager=True, now=START)
    # then every sales manager hears of it (nobody of the role in its team)
    assert told(f"sla.breached:{breach.pk}:") == {"rep", "salesmanager", "jp-salesmanager"}
    # and a segment with no team at all: the same
    Segment.objects.filter(pk=nordics.pk).update(team=None)
    OutboxMessage.objects.all().delete()
    breaches_notify(breach_ids=[breach.pk], notify_manager=True, now=START)
    assert told(f"sla.breached:{breach.pk}:") == {"rep", "salesmanager", "jp-salesmanager"}
    # while round-robin in the Nordics (its team has a rep) gives only to that rep
    Segment.objects.filter(pk=nordics.pk).update(team=nordics.team)
    assert (
        lead_assign_round_robin(lead_id=lead.pk, now=START, exclude=people["rep"]).owner.username == "se-rep"
    )


def test_telling_a_batch_of_breaches_takes_as_many_queries_for_many_leads_as_for_two(people, make_lead):
    def breaches(n: int) -> list[int]:
        ids = []
        for i in range(n):
            fields = JAPAN if i % 2 else SMB
            lead = Lead.objects.create(email=f"b{n}-{i}@example.com", created_at=START, updated_at=START,
                                       segment=people["japan"] if i % 2 else people["default"], **fields)  # fmt: skip
            ids.append(SlaBreach.objects.create(lead=lead, clock="claim", deadline=START, detected_at=START,
                                                late_seconds=60).pk)  # fmt: skip
        return ids

    few, many = breaches(2), breaches(12)
    counts = []
    for ids in (few, many):
        with CaptureQueriesContext(connection) as queries:
            breaches_notify(breach_ids=ids, notify_manager=True, now=START)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_segment_sales_manager_sets_the_routing_of_their_own_teams_reps_only(people, login):
    from django.urls import reverse

    client = login(people["jp-salesmanager"])
    # when Japan's sales manager opens Routing, then only Japan's reps are listed
    page = client.get(reverse("leads:routing")).content.decode()
    assert f'id="rep-{people["jp-rep"].pk}"' in page and f'id="rep-{people["rep"].pk}"' not in page
    # and changing an SMB rep's routing is not theirs to do
    response = client.post(reverse("leads:routing_rep", args=[people["rep"].pk]), {})
    assert response.status_code == 404
    # while the SMB manager sees SMB's reps only
    smb = login(people["salesmanager"]).get(reverse("leads:routing")).content.decode()
    assert f'id="rep-{people["rep"].pk}"' in smb and f'id="rep-{people["jp-rep"].pk}"' not in smb


def test_the_assign_menu_offers_the_leads_segment_team(people, make_lead, login):
    from django.urls import reverse

    uk, japanese = hot_lead(make_lead, **SMB), hot_lead(make_lead, **JAPAN)
    # when Japan's sales manager opens the Assign menu of the Japanese lead, then Japan's reps are offered
    menu = login(people["jp-salesmanager"]).get(reverse("leads:assign", args=[japanese.pk])).content.decode()
    assert f'value="{people["jp-rep"].pk}"' in menu and f'value="{people["rep"].pk}"' not in menu
    # and the SMB lead's menu offers SMB's reps
    menu = login(people["salesmanager"]).get(reverse("leads:assign", args=[uk.pk])).content.decode()
    assert f'value="{people["rep"].pk}"' in menu and f'value="{people["jp-rep"].pk}"' not in menu
