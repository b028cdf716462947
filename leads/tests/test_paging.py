"""Pages by cursor (alignment.paging) on the queue, the all-leads list and /api/leads/: every lead is on exactly one
page, in the order the page promises, forwards and back; the query count does not grow with the number of leads;
a cursor nobody gave shows the first page (pages) or is a 422 (API)."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from alignment.paging import BadCursor, Key, encode, keys_for, keyset_page
from leads.filters import PRIORITY, queue_order
from leads.models import Lead, State
from leads.services import LeadData, lead_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def many(now, rep):
    """37 leads with ties, empty deadlines and late ones: what makes keyset paging go wrong if anything does."""
    rng = random.Random(3)
    for n in range(37):
        lead, _ = lead_upsert(data=LeadData(email=f"p{n}@acme.example", fields={}), now=now)
        due = rng.choice(
            [
                None,
                now - timedelta(hours=2),
                now + timedelta(hours=1),
                now + timedelta(hours=rng.randint(2, 9)),
            ]
        )
        Lead.objects.filter(pk=lead.pk).update(
            state=rng.choice([State.MQL, State.SAL]), tier=rng.choice(["hot", "warm"]), score=rng.choice([10, 20, 30]),
            sla_due_at=due, sla_clock="claim" if due else "", last_name=rng.choice(["Ito", "Abe", ""]),
            owner=rep if n % 3 == 0 else None, updated_at=now - timedelta(minutes=rng.randint(0, 5)),
        )  # fmt: skip
    return Lead.objects.all()


def walk(queryset, keys, partitions=None, per_page=5):
    """Every page forwards (following next), then every page backwards from the last (following previous)."""
    forwards, cursor = [], None
    while True:
        page = keyset_page(queryset, keys, per_page=per_page, after=cursor, partitions=partitions)
        forwards.append([lead.pk for lead in page.records])
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    backwards, cursor = [forwards[-1]], page.previous_cursor
    while cursor:
        page = keyset_page(queryset, keys, per_page=per_page, before=cursor, partitions=partitions)
        backwards.insert(0, [lead.pk for lead in page.records])
        cursor = page.previous_cursor
    return forwards, backwards


@pytest.mark.parametrize(
    "fields",
    [["-updated_at"], ["last_name", "first_name", "email"], ["-score"], ["sla_due_at"], ["-sla_due_at"], ["owner__username"]],
)  # fmt: skip
def test_following_next_and_previous_visits_every_lead_once_in_order(many, fields):
    # given a sort by these fields (nullable ones, ties, a related field among them)
    keys = keys_for(Lead, fields)
    expected = [lead.pk for lead in many.order_by(*(key.order() for key in keys))]
    # when every page is read forwards and then backwards
    forwards, backwards = walk(many, keys)
    # then forwards is the whole order in pages of 5, and backwards finds the same pages
    assert [pk for page in forwards for pk in page] == expected
    assert all(len(page) == 5 for page in forwards[:-1])
    assert backwards == forwards


def test_the_queue_order_saves_what_can_be_saved_first_then_the_late(many, now):
    # given the queue's order: not yet late (hot first, nearest deadline, score), then the late ones
    keys, partitions = queue_order("all", now=now)
    queue = Lead.objects.in_queue()
    ordered = [lead.pk for lead in queue.filter(partitions[0]).order_by(*(k.order() for k in PRIORITY))]
    ordered += [lead.pk for lead in queue.filter(partitions[1]).order_by(*(k.order() for k in PRIORITY))]
    # when it is paged
    forwards, backwards = walk(queue, keys, partitions, per_page=4)
    # then the pages run through both parts in that order, and back
    assert [pk for page in forwards for pk in page] == ordered
    assert backwards == forwards
    late = {lead.pk for lead in queue.filter(sla_due_at__lt=now)}
    assert late and set(ordered[-len(late) :]) == late


@pytest.mark.parametrize(
    "cursor",
    ["", "x", "%%%", "A" * 2000, encode(PRIORITY, 0, ["hot", None, 1, 2])[:-3], encode(keys_for(Lead, ["score"]), 0, [1, 2])],
)  # fmt: skip
def test_a_cursor_this_order_did_not_give_is_refused(many, cursor):
    if not cursor:  # the empty cursor is the first page, not an error
        assert keyset_page(many, PRIORITY, per_page=5, after=cursor).records
        return
    with pytest.raises(BadCursor):
        keyset_page(many, PRIORITY, per_page=5, after=cursor)


@pytest.mark.parametrize(
    "values",
    [["hot", "9999-12-31T23:59:59-23:59", 1, 2], ["hot", "yesterday", 1, 2], ["hot", None, 2**70, 2],
     [7, None, 1, 2], ["hot\x00", None, 1, 2], ["hot", "2026-01-01T00:00:00", 1, 2]],
)  # fmt: skip
def test_a_tampered_cursor_is_refused_before_the_database_sees_it(many, values):
    with pytest.raises(BadCursor):
        keyset_page(many, PRIORITY, per_page=5, after=encode(PRIORITY, 0, values))


# --- the pages ------------------------------------------------------------------------------------------------


def links(html: str, rel: str) -> list[str]:
    return [unescape(href) for href in re.findall(rf'<a href="([^"]+)" rel="{rel}"', html)]


def test_the_queue_pages_by_next_and_previous_links_keeping_the_filters(many, rep, login, monkeypatch):
    from leads import views

    monkeypatch.setattr(views, "PER_PAGE", 5)
    client = login(rep)
    # when the rep opens the warm leads, then follows "Next page"
    first = client.get(reverse("leads:queue"), {"tier": "warm"}).content.decode()
    [next_link] = links(first, "next")
    assert "tier=warm" in next_link and not links(first, "prev")
    second = client.get(reverse("leads:queue") + next_link).content.decode()
    # then page two holds other warm leads, and "Previous page" brings back page one
    assert rows(second) and not set(rows(second)) & set(rows(first))
    assert {tier for _pk, tier in rows(first) + rows(second)} == {"warm"}
    [previous] = links(second, "prev")
    assert rows(client.get(reverse("leads:queue") + previous).content.decode()) == rows(first)


def rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr id="lead-(\d+)" class="tier-(\w+)', html)


def test_a_page_link_that_no_longer_fits_shows_the_first_page(many, rep, login, monkeypatch):
    from leads import views

    monkeypatch.setattr(views, "PER_PAGE", 5)
    # given a next-page link of the queue sorted by score
    client = login(rep)
    by_score = client.get(reverse("leads:queue"), {"sort": "-score"}).content.decode()
    [next_link] = links(by_score, "next")
    # when the cursor is mangled, or kept while the rep sorts by name instead
    mangled = client.get(reverse("leads:queue"), {"sort": "-score", "after": "garbage"})
    resorted = client.get(reverse("leads:queue") + next_link.replace("sort=-score", "sort=who"))
    # then each shows the first page of its sort, not an error
    assert mangled.status_code == resorted.status_code == 200
    assert rows(mangled.content.decode()) == rows(by_score)
    assert rows(resorted.content.decode()) == rows(
        client.get(reverse("leads:queue"), {"sort": "who"}).content.decode()
    )


def test_the_queue_reads_the_same_number_of_queries_for_5_leads_or_40(
    agreement, rep, login, now, django_assert_max_num_queries
):
    client = login(rep)

    def add(count: int) -> None:
        for _ in range(count):
            lead, _ = lead_upsert(
                data=LeadData(email=f"q{Lead.objects.count()}@acme.example", fields={}), now=now
            )
            Lead.objects.filter(pk=lead.pk).update(
                state=State.MQL, tier="warm", sla_due_at=now + timedelta(hours=1)
            )

    add(5)
    client.get(reverse("leads:queue"))  # warm the caches a page keeps (filter choices)
    with django_assert_max_num_queries(9) as small:
        client.get(reverse("leads:queue"))
    add(35)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = client.get(reverse("leads:queue"), {"sort": "owner"}).content.decode()
    assert page.count('<tr id="lead-') == 25


def test_the_all_leads_count_stops_at_its_limit(many, marketer, login, monkeypatch):
    from leads import views

    client = login(marketer)
    assert "37 leads" in client.get(reverse("leads:list")).content.decode()
    monkeypatch.setattr(views, "LIST_COUNT_UP_TO", 30)
    assert "More than 30 leads" in client.get(reverse("leads:list")).content.decode()


def test_the_api_refuses_a_tampered_cursor_as_json(many, rep, login):
    keys = [Key("updated_at", "datetime"), Key("pk", "int")]
    reader = login(rep)
    for values in (["9999-12-31T23:59:59-23:59", 1], ["2026-01-01T00:00:00Z", 2**80], [None, 1]):
        response = reader.get("/api/leads/", {"cursor": encode(keys, 0, values)})
        assert response.status_code == 422, response.content
        assert response.json()["detail"][0]["loc"] == ["query", "cursor"]
    good = reader.get("/api/leads/", {"cursor": encode(keys, 0, ["2000-01-01T00:00:00+00:00", 0])})
    assert len(good.json()["items"]) == 37


@pytest.mark.parametrize("sort", ["owner", "-owner"])
def test_the_queue_sorted_by_owner_pages_through_owners_by_name(
    many, rep, make_user, login, monkeypatch, sort
):
    from leads import views

    # given queue leads owned by Riley (rep), by Abby, and by nobody
    abby = make_user(username="abby", first_name="Abby")
    Lead.objects.filter(
        pk__in=list(Lead.objects.filter(owner__isnull=True).values_list("pk", flat=True)[:6])
    ).update(owner=abby)
    monkeypatch.setattr(views, "PER_PAGE", 4)
    client = login(rep)
    # when the rep sorts by owner and follows "Next page" to the end
    seen, url = [], reverse("leads:queue") + f"?sort={sort}"
    while url:
        html = client.get(url).content.decode()
        seen += [int(pk) for pk, _tier in rows(html)]
        url = reverse("leads:queue") + links(html, "next")[0] if links(html, "next") else ""
    # then every queued lead is listed once: by owner's name (unowned last, or first when reversed), then by id
    name = lambda lead: (lead.owner is None, lead.owner.first_name if lead.owner else "")  # noqa: E731
    queued = sorted(Lead.objects.in_queue().select_related("owner"), key=lambda lead: (name(lead), lead.pk))
    if sort.startswith("-"):
        queued.reverse()
    assert seen == [lead.pk for lead in queued]
    assert {lead.owner_id for lead in queued} == {rep.pk, abby.pk, None}
