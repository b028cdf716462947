"""Find any lead: the all-leads list (any state, imported ones included) and an import's links to its leads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import ImportedLead, Lead
from leads.tests.test_import_services import HUBSPOT_HEADER, csv_bytes, hubspot_row, run

pytestmark = pytest.mark.django_db


def test_an_import_records_which_leads_it_created_and_which_it_updated(make_lead):
    # given a lead already known by e-mail
    known = make_lead(now=timezone.now(), email="known@acme.example", first_name="Kim")
    # when a file creates one lead and updates the known one
    job = run(csv_bytes(HUBSPOT_HEADER, [hubspot_row("1", "Ada", "ada@acme.example"),
                                         hubspot_row("2", "Kim", "known@acme.example")]))  # fmt: skip
    # then the import knows both, and which is which
    links = {link.lead.email: link.created for link in ImportedLead.objects.filter(job=job)}
    assert links == {"ada@acme.example": True, known.email: False}
    assert (job.imported, job.updated) == (1, 1)


def test_every_lead_is_listed_in_any_state_and_the_import_links_there(
    make_lead, marketer, login, django_assert_max_num_queries
):
    now = timezone.now()
    for n in range(30):
        make_lead(
            now=now - timedelta(minutes=n), first_name=f"Person{n}", last_name="Plain", company="Plainco"
        )
    job = run(csv_bytes(HUBSPOT_HEADER, [hubspot_row("1", "Ada", "ada@acme.example")]))
    client = login(marketer)
    # when the marketer opens all leads (a lead that never reached sales, imported ones too)
    with django_assert_max_num_queries(12):
        html = client.get(reverse("leads:list")).content.decode()
    assert "Ada Archer" in html and "Person0 Plain" in html and "31 leads" in html
    # and the import's result links to the lead it created, and that link lists only it
    detail = client.get(job.get_absolute_url()).content.decode()
    link = f"{reverse('leads:list')}?import_job={job.pk}&amp;imported=created"
    assert link in detail
    only = client.get(reverse("leads:list"), {"import_job": job.pk, "imported": "created"}).content.decode()
    assert "Ada Archer" in only and "Plain" not in only.split("<table", 1)[1]
    assert "1 lead" in only and "leads.csv" in only


def test_search_state_filter_and_sort_come_from_the_url(make_lead, rep, login):
    now = timezone.now()
    make_lead(now=now, first_name="Zed", last_name="Zebra", company="Zoo Ltd")
    make_lead(now=now, first_name="Ann", last_name="Aardvark", company="Ark")
    client = login(rep)
    found = client.get(reverse("leads:list"), {"q": "zoo", "state": "new"}).content.decode()
    assert "Zed Zebra" in found and "Aardvark" not in found
    assert 'value="zoo"' in found and '<option value="new" selected>' in found
    by_name = client.get(reverse("leads:list"), {"sort": "who"}).content.decode()
    assert by_name.index("Aardvark") < by_name.index("Zebra")
    by_name_desc = client.get(reverse("leads:list"), {"sort": "-who"}).content.decode()
    assert by_name_desc.index("Zebra") < by_name_desc.index("Aardvark")


def test_a_hand_edited_url_is_a_clear_400_and_a_stranger_may_not_look(make_lead, rep, login, make_user):
    response = login(rep).get(reverse("leads:list"), {"import_job": "abc"})
    assert response.status_code == 400 and "cannot be read" in response.content.decode()
    nobody = make_user()
    assert login(nobody).get(reverse("leads:list")).status_code == 403
    assert Lead.objects.count() == 0
