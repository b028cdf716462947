"""The shared queue: ordering, filters, claiming (with a real race on PostgreSQL), assignment, SLA breaches."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from alignment.roles import Role
from leads.exceptions import LeadAlreadyClaimed, LeadError, NoRepAvailable
from leads.models import Lead, LeadEvent, RepProfile, SlaBreach, State
from leads.queue import (
    available_reps,
    lead_assign,
    lead_assign_round_robin,
    lead_claim,
    lead_release,
    sla_breaches_scan,
)
from leads.scoring import leads_rescore
from sla.services import agreement_change, agreement_draft_create, agreement_propose, agreement_sign

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true", "HX-Target": "queue-table"}


def mql(make_lead, *, now, hot=False, **fields):
    """A lead that qualifies at `now`: hot by a demo request, or warm by score."""
    activities = [("demo_request", now, {})] if hot else [("webinar", now - timedelta(hours=1), {})]
    defaults = {"employees": 500, "seniority": "vp", "industry": "software"} if not hot else {"employees": 20}
    lead = make_lead(now=now, activities=activities, **{**defaults, **fields})
    leads_rescore(lead_ids=[lead.pk], now=now)
    lead.refresh_from_db()
    assert lead.state == State.MQL
    return lead


@pytest.fixture
def now():
    return timezone.now()


# --- ordering and filters -------------------------------------------------------------------------------


def test_queue_puts_hot_leads_first_then_the_nearest_deadline_then_score(agreement, make_lead, now):
    # given warm leads qualified at different times and a hot one that arrived last
    early_warm = mql(make_lead, now=now - timedelta(hours=3), last_name="Early")
    late_warm = mql(make_lead, now=now - timedelta(hours=1), last_name="Late")
    hot = mql(make_lead, now=now, hot=True, last_name="Hot")
    # when the queue is ordered
    order = list(Lead.objects.in_queue().by_priority().values_list("last_name", flat=True))
    # then the hot lead is first, then the warm lead whose clock runs out first
    assert order == ["Hot", "Early", "Late"]
    assert hot.sla_due_at < early_warm.sla_due_at < late_warm.sla_due_at or hot.tier == "hot"


def test_queue_page_shows_why_now_and_the_clock_and_filters_survive_in_the_url(
    agreement, make_lead, rep, login, now
):
    # given a hot lead and a warm lead from another source
    mql(make_lead, now=now, hot=True, first_name="Hana", last_name="Hot", company="Hooli", source="Google")
    mql(make_lead, now=now, first_name="Walt", last_name="Warm", company="Wonka", source="Reference")
    client = login(rep)
    # when the rep opens the queue filtered to Google
    response = client.get(reverse("leads:queue"), {"source": "Google"})
    html = response.content.decode()
    # then only the Google lead shows, with why it is here and its business time left
    assert "Hana Hot" in html and "Walt Warm" not in html
    assert "requested a demo" in html
    assert "business minutes (" in html
    # and the filter is kept in the self-refreshing table's URL
    assert "source=Google" in html


def test_text_search_tabs_and_empty_state(agreement, make_lead, rep, login, now):
    lead = mql(make_lead, now=now, first_name="Zed", last_name="Zebra", company="Zoo Ltd")
    other = mql(make_lead, now=now, first_name="Ann", last_name="Other")
    lead_claim(lead_id=lead.pk, rep=rep, now=now)
    client = login(rep)
    mine = client.get(reverse("leads:queue"), {"tab": "mine"}, headers=HX).content.decode()
    assert "Zebra" in mine and "Other" not in mine and "<html" not in mine
    unassigned = client.get(reverse("leads:queue"), {"tab": "unassigned"}).content.decode()
    assert "Other" in unassigned and "Zebra" not in unassigned
    found = client.get(reverse("leads:queue"), {"q": "zoo"}).content.decode()
    assert "Zebra" in found and other.last_name not in found
    nothing = client.get(reverse("leads:queue"), {"q": "no such person"}).content.decode()
    assert "No lead matches" in nothing


def test_what_can_still_be_saved_comes_first_and_long_breached_work_goes_to_the_overdue_tab(
    agreement, make_lead, rep, login, now, django_assert_max_num_queries
):
    # given a lead late by months, one late by minutes, a warm lead with time left and a hot one that just arrived
    # (deadlines set outright: the business calendar would make them depend on the hour the test runs)
    due = {"Ancient": -timedelta(days=156), "Slipping": -timedelta(minutes=30), "Warm": timedelta(hours=3),
           "Fresh": timedelta(minutes=5)}  # fmt: skip
    for name, offset in due.items():
        lead = mql(make_lead, now=now, hot=name != "Warm", last_name=name)
        Lead.objects.filter(pk=lead.pk).update(sla_due_at=now + offset)
    ancient = Lead.objects.get(last_name="Ancient")
    # when the queue is read in the rep's order
    queue = Lead.objects.in_queue().savable(now=now).by_urgency(now=now)
    order = list(queue.values_list("last_name", flat=True))
    # then the hot lead with time left is first, the warm one next, the just-late one after, the ancient one gone
    assert order[:2] == ["Fresh", "Warm"] and order[-1] == "Slipping"
    assert "Ancient" not in order
    # and on the page: the ancient lead is in the Overdue tab (counted), not on the rep's first screen
    client = login(rep)
    with django_assert_max_num_queries(12):  # 10, and the filter menus' two when their cache is cold
        html = client.get(reverse("leads:queue")).content.decode()
    assert "Fresh" in html and "Ancient" not in html
    assert "Overdue (2)" in html and "1 lead late by more than a day is in the" in html
    overdue = client.get(reverse("leads:queue"), {"tab": "overdue"}).content.decode()
    assert ancient.last_name in overdue and "late by 15" in overdue


def test_overdue_tab(agreement, make_lead, rep, login, now):
    overdue = mql(make_lead, now=now - timedelta(days=5), last_name="Overdue")
    mql(make_lead, now=now, hot=True, last_name="Fresh")
    html = login(rep).get(reverse("leads:queue"), {"tab": "overdue"}).content.decode()
    assert overdue.last_name in html and "Fresh" not in html
    assert "late" in html


@pytest.mark.parametrize("count", [3, 60])
def test_queue_page_query_count_is_bounded_whatever_the_data_size(
    agreement, make_lead, rep, login, now, count, django_assert_max_num_queries
):
    for n in range(count):
        mql(make_lead, now=now - timedelta(minutes=n), hot=n % 3 == 0, last_name=f"L{n}")
    client = login(rep)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("leads:queue"))
    assert response.status_code == 200


# --- claiming --------------------------------------------------------------------------------------------


def test_claim_stops_the_claim_clock_and_moves_the_lead_to_mine(agreement, make_lead, rep, login, now):
    lead = mql(make_lead, now=now, hot=True)
    assert lead.sla_clock == "claim"
    # when the rep claims it from the row
    response = login(rep).post(reverse("leads:claim", args=[lead.pk]) + "?tab=mine", headers=HX)
    # then the table comes back (same tab) with the lead, owned, and its next clock is first contact
    assert response.status_code == 200 and "is yours" in response.content.decode()
    assert "queueChanged" in response["HX-Trigger"]
    lead.refresh_from_db()
    assert lead.owner == rep and lead.claimed_at is not None
    assert lead.sla_clock == "first_contact"
    assert LeadEvent.objects.filter(lead=lead, kind="owner", to_value=rep.username).exists()


def test_second_claim_is_refused_with_the_owner_named(agreement, make_lead, rep, make_user, login, now):
    from alignment.roles import Role

    other = make_user(Role.REP, username="sam", first_name="Sam", last_name="Okafor")
    lead = mql(make_lead, now=now, hot=True)
    lead_claim(lead_id=lead.pk, rep=other, now=now)
    response = login(rep).post(reverse("leads:claim", args=[lead.pk]), headers=HX)
    # (a 200: the fresh table is shown, saying who won, instead of an error status htmx would not display)
    assert response.status_code == 200
    assert "Already claimed by Sam Okafor." in response.content.decode()
    assert "queueChanged" not in response.headers.get("HX-Trigger", "")
    lead.refresh_from_db()
    assert lead.owner == other


@pytest.mark.django_db(transaction=True)
def test_two_reps_claiming_at_the_same_moment_exactly_one_wins(agreement, make_lead, rep, make_user, now):
    """Two real database connections race for one row; the row lock lets exactly one through."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "SELECT ... FOR UPDATE is a no-op on SQLite; this race is proven on PostgreSQL (CI runs it)"
        )
    from alignment.roles import Role

    other = make_user(Role.REP, username="sam")
    lead = mql(make_lead, now=now, hot=True)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def attempt(user) -> None:
        try:
            barrier.wait(timeout=10)
            lead_claim(lead_id=lead.pk, rep=user, now=timezone.now())
            outcomes[user.username] = "won"
        except LeadAlreadyClaimed as error:
            outcomes[user.username] = str(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(user,)) for user in (rep, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then exactly one won, and the other was told who has the lead
    assert sorted(outcomes.values()).count("won") == 1
    winner = next(name for name, result in outcomes.items() if result == "won")
    loser_message = next(result for result in outcomes.values() if result != "won")
    assert "Already claimed by" in loser_message
    lead.refresh_from_db()
    assert lead.owner.username == winner
    assert LeadEvent.objects.filter(lead=lead, kind="owner").count() == 1


def test_release_returns_the_lead_and_only_owner_or_manager_may(
    agreement, make_lead, rep, make_user, sales_manager, now
):
    from alignment.roles import Role

    other = make_user(Role.REP, username="sam")
    lead = mql(make_lead, now=now, hot=True)
    lead_claim(lead_id=lead.pk, rep=rep, now=now)
    with pytest.raises(LeadError, match="Only the lead's owner or a sales manager"):
        lead_release(lead_id=lead.pk, user=other, now=now)
    lead_release(lead_id=lead.pk, user=sales_manager, now=now)
    lead.refresh_from_db()
    assert lead.owner is None


def test_only_reps_claim_and_only_managers_assign(
    agreement, make_lead, rep, marketer, sales_manager, login, now
):
    lead = mql(make_lead, now=now, hot=True)
    assert login(marketer).post(reverse("leads:claim", args=[lead.pk])).status_code == 403
    assert login(rep).post(reverse("leads:assign", args=[lead.pk]), {"rep": rep.pk}).status_code == 403
    response = login(sales_manager).post(reverse("leads:assign", args=[lead.pk]), {"rep": rep.pk}, headers=HX)
    assert response.status_code == 200 and "assigned to" in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner == rep


# --- round-robin -----------------------------------------------------------------------------------------


def test_round_robin_skips_away_and_full_reps_and_rotates(agreement, make_lead, make_user, now):
    from alignment.roles import Role

    a, b, away, full = (make_user(Role.REP, username=name) for name in ("a", "b", "away", "full"))
    inactive = make_user(Role.REP, username="gone", is_active=False)
    RepProfile.objects.create(user=away, is_away=True)
    RepProfile.objects.create(user=full, capacity=1)
    lead_assign(lead_id=mql(make_lead, now=now).pk, rep=full, by="test", now=now)
    # when three new leads are assigned round-robin
    owners = [lead_assign_round_robin(lead_id=mql(make_lead, now=now).pk, now=now).owner for _ in range(3)]
    # then only a and b take them, in turn
    assert [o.username for o in owners] == ["a", "b", "a"]
    assert inactive not in available_reps() and away not in available_reps() and full not in available_reps()


def test_no_rep_available_leaves_the_lead_in_the_shared_queue(agreement, make_lead, now):
    lead = mql(make_lead, now=now)
    with pytest.raises(NoRepAvailable):
        lead_assign_round_robin(lead_id=lead.pk, now=now)
    lead.refresh_from_db()
    assert lead.owner is None


def test_auto_assignment_when_the_terms_say_so(
    agreement, make_lead, rep, marketer, marketing_manager, sales_manager, django_capture_on_commit_callbacks
):
    draft = agreement_draft_create(user=marketer, now=timezone.now())

    def auto(content):
        content["terms"]["auto_assign"] = True
        return content

    agreement_change(version_id=draft.pk, user=marketer, change=auto, now=timezone.now())
    agreement_propose(version_id=draft.pk, user=marketer, now=timezone.now())
    agreement_sign(version_id=draft.pk, user=marketing_manager, now=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        agreement_sign(version_id=draft.pk, user=sales_manager, now=timezone.now())
    lead = mql(make_lead, now=timezone.now(), hot=True)
    assert lead.owner == rep and lead.claimed_at is not None


# --- SLA clocks and breaches ------------------------------------------------------------------------------


def test_clocks_run_in_business_time_across_a_weekend(agreement, make_lead):
    # given a warm lead qualifying on Friday 16:00 London (claim within 240 business minutes, 09:00–17:30)
    friday = datetime(2026, 3, 13, 16, 0, tzinfo=UTC)
    lead = mql(make_lead, now=friday)
    # then the claim deadline is Monday 11:30: 90 minutes on Friday, 150 on Monday
    assert lead.claim_due_at == datetime(2026, 3, 16, 11, 30, tzinfo=UTC)


def test_breach_is_detected_once_notified_and_escalated_to_the_queue(
    agreement, make_lead, rep, sales_manager, webhook, django_capture_on_commit_callbacks
):
    # given a hot lead claimed by a rep who never made first contact (15 business minutes)
    start = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    lead = mql(make_lead, now=start, hot=True)
    lead_claim(lead_id=lead.pk, rep=rep, now=start + timedelta(minutes=2))
    # when the scan runs after the deadline, twice
    later = start + timedelta(minutes=30)
    with django_capture_on_commit_callbacks(execute=True):
        first = sla_breaches_scan(now=later)
    second = sla_breaches_scan(now=later + timedelta(minutes=1))
    # then exactly one breach is recorded, with how late and whose it was
    assert len(first.breaches) == 1 and second.breaches == []
    breach = SlaBreach.objects.get()
    assert (breach.clock, breach.owner, breach.late_seconds) == ("first_contact", rep, 15 * 60)
    # and the starter terms return the lead to the shared queue
    lead.refresh_from_db()
    assert lead.owner is None and breach.action == "return_to_queue"
    # and the owner and the sales manager were told, by e-mail and webhook
    assert sorted(message.to[0] for message in mail.outbox) == sorted([rep.email, sales_manager.email])
    assert "first contact deadline was missed by 15 min" in mail.outbox[0].body
    assert "first contact deadline was missed by 15 min" in webhook[0]["text"]


def test_breach_scan_reads_only_due_leads(agreement, make_lead):
    # mid-morning on a business day, a warm lead just arrived: its claim deadline (4 business hours) and the
    # warning before it are both still ahead, so the scan does not even read it
    now = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
    fresh = mql(make_lead, now=now)
    result = sla_breaches_scan(now=now)
    assert result.checked == 0 and result.breaches == []
    fresh.refresh_from_db()
    assert fresh.next_sla_check_at == fresh.claim_due_at


def test_reassign_on_breach(
    agreement,
    make_lead,
    rep,
    make_user,
    marketer,
    marketing_manager,
    sales_manager,
    django_capture_on_commit_callbacks,
):
    from alignment.roles import Role

    other = make_user(Role.REP, username="sam")
    draft = agreement_draft_create(user=marketer, now=timezone.now())

    def reassign(content):
        content["terms"]["on_breach"] = "reassign"
        return content

    agreement_change(version_id=draft.pk, user=marketer, change=reassign, now=timezone.now())
    agreement_propose(version_id=draft.pk, user=marketer, now=timezone.now())
    agreement_sign(version_id=draft.pk, user=marketing_manager, now=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        agreement_sign(version_id=draft.pk, user=sales_manager, now=timezone.now())
    start = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    lead = mql(make_lead, now=start, hot=True)
    lead_claim(lead_id=lead.pk, rep=rep, now=start)
    sla_breaches_scan(now=start + timedelta(hours=1))
    lead.refresh_from_db()
    assert lead.owner == other
    assert SlaBreach.objects.get(clock="first_contact").new_owner == other


def test_my_day_groups_my_leads_by_urgency(agreement, make_lead, rep, login, now):
    late = mql(make_lead, now=now - timedelta(days=10), last_name="Late")
    fresh = mql(make_lead, now=now, hot=True, last_name="Fresh")
    for lead in (late, fresh):
        lead_claim(lead_id=lead.pk, rep=rep, now=now)
    html = login(rep).get(reverse("leads:my_day")).content.decode()
    assert html.index("Overdue") < html.index("Late") < html.index("Due today")
    assert "Fresh" in html


def test_clocks_skip_public_holidays(agreement, make_lead):
    # given a hot lead qualifying at 17:28 on Christmas Eve 2026 (a closed date in the starter calendar is
    # 24 Dec; 25 and 28 Dec are English public holidays, 26–27 a weekend)
    lead = mql(make_lead, now=datetime(2026, 12, 23, 17, 28, tzinfo=UTC), hot=True)
    # then 2 minutes run on the 23rd and the other 3 on Tuesday 29 December from 09:00
    assert lead.claim_due_at == datetime(2026, 12, 29, 9, 3, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_two_scanners_at_once_record_each_breach_exactly_once(agreement, make_lead, rep, now):
    """Two beat processes scanning at the same moment, on two real connections."""
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is a no-op on SQLite; this race is proven on PostgreSQL (CI runs it)")
    start = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    leads = [mql(make_lead, now=start, hot=True) for _ in range(40)]
    later = start + timedelta(hours=2)
    barrier = threading.Barrier(2)
    found: list[list[int]] = []

    def scan() -> None:
        try:
            barrier.wait(timeout=10)
            found.append(sla_breaches_scan(now=later, batch=7).breaches)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then every lead's claim and first-contact breaches (accept is due at 14:00) exist once, split between them
    assert SlaBreach.objects.count() == 2 * len(leads)
    assert sorted(found[0] + found[1]) == sorted(SlaBreach.objects.values_list("pk", flat=True))


def test_the_owner_menu_shows_a_new_rep_at_once_and_keeps_the_chosen_owner(
    agreement, make_user, sales_manager, rep, login
):
    # given a sales manager who has opened the queue once (its filter menus are remembered after that)
    client = login(sales_manager)
    first = client.get(reverse("leads:queue")).content.decode()
    assert ">Rep</option>" in first and "Newcomer" not in first
    # when a rep joins the team
    newcomer = make_user(Role.REP, username="newcomer", first_name="Newcomer")
    # then the next page offers them as an owner, and a chosen owner stays selected
    html = client.get(reverse("leads:queue"), {"owner": newcomer.pk}).content.decode()
    assert f'<option value="{newcomer.pk}" selected>Newcomer</option>' in html
    assert f'<option value="{rep.pk}">Rep</option>' in html
