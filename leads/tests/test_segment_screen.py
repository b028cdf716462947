"""The segments screen: managers see their segments in precedence order (conditions, agreement in force, team,
open leads); an admin or the segment's own manager changes the conditions, sees how many open leads would move,
and applying moves them on record; a rep reads, another segment's manager gets a 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from alignment.models import AuditEntry
from alignment.roles import Role
from leads.models import Lead, LeadEvent
from leads.tests.test_segment_sla import START, sign
from sla.models import Segment
from sla.services import agreement_draft_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_leads(people: dict[str, Any], make_lead: Any) -> dict[str, Lead]:
    """Three open leads placed by scoring: a big Japanese company (Japan), a small Japanese one and a UK one
    (both SMB global)."""
    from leads.scoring import leads_rescore

    found = {
        "big_jp": make_lead(now=START, country="Japan", employees=900),
        "small_jp": make_lead(now=START, country="Japan", employees=120),
        "uk": make_lead(now=START, country="UK", employees=40),
    }
    leads_rescore(lead_ids=[lead.pk for lead in found.values()], now=START)
    for lead in found.values():
        lead.refresh_from_db()
    assert found["big_jp"].segment == people["japan"] and found["small_jp"].segment == people["default"]
    return found


def form_data(segment: Segment, conditions: list[tuple[str, str, str]], **extra: Any) -> dict[str, Any]:
    data = {
        "name": segment.name,
        "description": segment.description,
        "members": [str(pk) for pk in segment.members.values_list("pk", flat=True)] if segment.pk else [],
        "cond-TOTAL_FORMS": str(len(conditions)),
        "cond-INITIAL_FORMS": "0",
        "cond-MIN_NUM_FORMS": "0",
        "cond-MAX_NUM_FORMS": "20",
    }
    for i, (field, op, value) in enumerate(conditions):
        data |= {f"cond-{i}-field": field, f"cond-{i}-op": op, f"cond-{i}-value": value}
    return {**data, **extra}


LOWER_BAR = [("country", "equals", "Japan"), ("employees", "gte", "100")]


def test_a_segment_manager_sees_their_segments_with_conditions_agreement_team_and_open_leads(
    people, open_leads, login
):
    # when Japan's sales manager opens the segments screen
    page = login(people["jp-salesmanager"]).get(reverse("leads:segments")).content.decode()
    # then they see Japan only: its conditions in words, its agreement in force, its team and 1 open lead
    assert "Enterprise Japan" in page and "SMB global" not in page and "All leads" not in page
    assert "country is Japan" in page and "employees ≥ 500" in page
    assert "Enterprise Japan" in page and "v2" in page
    assert "Jp-Rep" in page and "Jp-Salesmanager" in page
    assert '<dd class="segment-open">1 ' in page
    # while the admin sees both, Japan first (precedence), the default last
    admin = login(people["admin"]).get(reverse("leads:segments")).content.decode()
    assert admin.index("Enterprise Japan") < admin.index(people["default"].name)


def test_the_list_takes_as_many_queries_for_many_segments_as_for_two(
    people, open_leads, login, make_user, django_assert_max_num_queries
):
    client = login(people["admin"])
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("leads:segments"))
    for n in range(6):
        segment = Segment.objects.create(name=f"Extra {n}", position=20 + n)
        segment.members.add(make_user(Role.REP), make_user(Role.SALES_MANAGER))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert b"Extra 5" in client.get(reverse("leads:segments")).content


def test_changing_conditions_previews_the_moves_and_applying_moves_the_leads_on_record(
    people, open_leads, login, django_capture_on_commit_callbacks
):
    japan = people["japan"]
    client = login(people["jp-salesmanager"])
    url = reverse("leads:segment", args=[japan.pk])
    # when Japan's manager lowers the bar to 100 employees, the preview (as htmx asks it) counts one lead
    preview = client.post(reverse("leads:segment_preview", args=[japan.pk]), form_data(japan, LOWER_BAR),
                          headers={"HX-Request": "true"}).content.decode()  # fmt: skip
    assert "<html" not in preview
    assert (
        "1 open lead would move" in preview
        and "(1 into this segment, 0 out of it, of 3 open leads)" in preview
    )
    # and nothing has changed yet
    assert Lead.objects.get(pk=open_leads["small_jp"].pk).segment == people["default"]
    # when they apply (the move runs as a background job, here in-process once the save commits)
    with django_capture_on_commit_callbacks(execute=True):
        applied = client.post(url, form_data(japan, LOWER_BAR, action="apply"))
    response = client.get(applied["Location"])
    # then the conditions are saved, the small Japanese lead moved on record (why, from, to), the others stayed
    assert "1 lead moved segment" in response.content.decode()
    japan.refresh_from_db()
    assert japan.conditions[1] == {"field": "employees", "op": "gte", "value": 100}
    small = Lead.objects.get(pk=open_leads["small_jp"].pk)
    assert small.segment == japan and small.scored_with.segment == japan
    event = LeadEvent.objects.get(lead=small, kind=LeadEvent.Kind.SEGMENT)
    assert (event.from_value, event.to_value) == (people["default"].name, "Enterprise Japan")
    assert "employees ≥ 100" in event.reason
    assert not LeadEvent.objects.filter(lead=open_leads["uk"], kind=LeadEvent.Kind.SEGMENT).exists()
    assert AuditEntry.objects.filter(action="segment.edited", actor=people["jp-salesmanager"]).exists()
    # and the lead's page says so
    lead_page = client.get(small.get_absolute_url()).content.decode()
    assert "Segment: Enterprise Japan" in lead_page


def test_the_form_works_without_javascript_and_a_bad_value_is_named_not_a_500(people, open_leads, login):
    japan = people["japan"]
    client = login(people["jp-marketingmanager"])
    url = reverse("leads:segment", args=[japan.pk])
    # the Preview button renders the whole page with the count
    page = client.post(url, form_data(japan, LOWER_BAR, action="preview")).content.decode()
    assert "1 open lead would move" in page and "<html" in page
    # a value that is not a number for ≥, an unknown operator: 422 with the problem named, nothing saved
    bad = client.post(url, form_data(japan, [("employees", "gte", "lots")], action="apply"))
    assert bad.status_code == 422 and "“lots” is not a number." in bad.content.decode()
    worse = client.post(url, form_data(japan, [("employees", "bigger", "1")], action="apply"))
    assert worse.status_code == 422
    japan.refresh_from_db()
    assert japan.conditions[1]["value"] == 500


def test_a_manager_edits_only_their_segments_and_a_rep_only_reads(people, open_leads, login):
    japan, default = people["japan"], people["default"]
    # another segment's manager: 404 on the page, the preview and the precedence
    smb_manager = login(people["salesmanager"])
    assert smb_manager.get(reverse("leads:segment", args=[japan.pk])).status_code == 404
    assert smb_manager.post(reverse("leads:segment_preview", args=[japan.pk])).status_code == 404
    assert smb_manager.post(reverse("leads:segment_precedence", args=[japan.pk, "down"])).status_code == 404
    # a rep of the segment reads it (nothing editable) and may not change it
    rep = login(people["jp-rep"])
    page = rep.get(reverse("leads:segment", args=[japan.pk])).content.decode()
    assert 'id="read-only"' in page and 'id="segment-apply"' not in page and "disabled" in page
    assert (
        rep.post(
            reverse("leads:segment", args=[japan.pk]), form_data(japan, LOWER_BAR, action="apply")
        ).status_code
        == 403
    )
    assert rep.get(reverse("leads:segment", args=[default.pk])).status_code == 404
    # a team manager may not create segments (they take leads from every segment); the admin may
    assert login(people["jp-salesmanager"]).get(reverse("leads:segment_new")).status_code == 403
    assert login(people["admin"]).get(reverse("leads:segment_new")).status_code == 200


def test_team_members_are_set_on_the_form(people, open_leads, login, make_user):
    japan = people["japan"]
    newcomer = make_user(Role.REP, username="jp-rep3")
    data = form_data(japan, [("country", "equals", "Japan"), ("employees", "gte", "500")], action="apply")
    data["members"] = [*data["members"], str(newcomer.pk)]
    data["members"].remove(str(people["jp-rep2"].pk))
    login(people["jp-salesmanager"]).post(reverse("leads:segment", args=[japan.pk]), data)
    assert set(japan.members.values_list("username", flat=True)) == {
        "jp-rep", "jp-rep3", "jp-salesmanager", "jp-marketingmanager", "jp-admin"
    }  # fmt: skip


def test_an_admin_creates_a_segment_and_moving_it_up_in_precedence_moves_leads(
    people, open_leads, login, marketing_manager, sales_manager, django_capture_on_commit_callbacks
):
    admin = login(people["admin"])
    # given a new segment for all of Japan: it takes no lead until its own agreement is in force
    data = form_data(Segment(name="Japan all"), [("country", "equals", "Japan")], action="apply")
    admin.post(reverse("leads:segment_new"), data)
    japan_all = Segment.objects.get(name="Japan all")
    assert japan_all.position > people["japan"].position
    assert (
        "none yet: it takes no lead until one is signed"
        in admin.get(reverse("leads:segments")).content.decode()
    )
    # when it has an agreement in force and is moved above Enterprise Japan
    sign(agreement_draft_create(user=marketing_manager, now=START, segment=japan_all), marketing_manager,
         sales_manager)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        moved = admin.post(reverse("leads:segment_precedence", args=[japan_all.pk, "up"]))
    response = admin.get(moved["Location"])
    # then both Japanese leads moved into it, on record
    assert "2 leads moved segment" in response.content.decode()
    for key in ("big_jp", "small_jp"):
        assert Lead.objects.get(pk=open_leads[key].pk).segment == japan_all
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.SEGMENT, to_value="Japan all").count() == 2
    admin_page = admin.get(reverse("leads:segments")).content.decode()
    assert admin_page.index("Japan all") < admin_page.index("Enterprise Japan")


def test_a_japanese_manager_reads_the_screen_and_the_preview_in_japanese(people, open_leads, login):
    japan = people["japan"]
    client = login(people["jp-salesmanager"])
    # given Japan's sales manager reads Japanese
    client.post(reverse("preferences"), {"language": "ja", "time_zone": "Asia/Tokyo"})
    # when they open the segments screen
    page = client.get(reverse("leads:segments")).content.decode()
    # then the labels and the conditions are in Japanese
    assert "有効な合意" in page and "未完了のリード" in page
    assert "国が Japan かつ 従業員数が 500 以上" in page
    # and so is the preview's count
    preview = client.post(reverse("leads:segment_preview", args=[japan.pk]), form_data(japan, LOWER_BAR),
                          headers={"HX-Request": "true"}).content.decode()  # fmt: skip
    assert "未完了のリード 1 件が移動します" in preview
