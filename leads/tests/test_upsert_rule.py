"""One rule for what a source says about a lead (`lead_facts_apply`), shared by ingest, CSV import, forms and\n`lead_upsert`, and merges."""

from __future__ import annotations

import pytest
from django.utils import timezone

from leads.intake import ingest
from leads.intake.import_services import leads_upsert_bulk
from leads.models import Lead
from leads.services import LeadData, lead_facts_apply, lead_merge, lead_upsert
from leads.tests.test_api import identify

pytestmark = pytest.mark.django_db


def known_lead() -> Lead:
    return Lead(
        email="ada@acme.example", company="Acme", industry="", employees=None, attributes={"plan": "pro"}
    )


def test_new_values_win_and_blanks_never_erase():
    lead = known_lead()
    changed = lead_facts_apply(
        lead,
        fields={"company": "Acme Ltd", "industry": "", "employees": 40},
        custom={"plan": "", "tier": "b"},
    )
    assert (lead.company, lead.industry, lead.employees) == ("Acme Ltd", "", 40)
    assert lead.attributes == {"plan": "pro", "tier": "b"}
    assert changed == {"company", "employees", "attributes"}


def test_without_overwrite_known_facts_win_and_fills_only_fill_blanks():
    lead = known_lead()
    changed = lead_facts_apply(
        lead,
        fields={"company": "Other", "industry": "software"},
        custom={"plan": "free", "seats": 3},
        overwrite=False,
    )
    assert (lead.company, lead.industry, lead.attributes) == ("Acme", "software", {"plan": "pro", "seats": 3})
    assert lead_facts_apply(lead, fill={"company": "Fill", "source": "newsletter"}) == {"source"}
    assert (lead.company, lead.source) == ("Acme", "newsletter")
    assert changed == {"industry", "attributes"}


def test_the_email_and_unknown_names_are_never_fields():
    lead = known_lead()
    assert lead_facts_apply(lead, fields={"email": "eve@evil.example", "score": 99}) == set()
    assert lead.email == "ada@acme.example" and lead.score == 0


def test_every_path_applies_the_same_rule():
    now = timezone.now()
    # an upsert, then an identify through the event API path, then a merge: each keeps known facts from blanks
    lead, _ = lead_upsert(data=LeadData(email="ada@acme.example", fields={"industry": "software"}), now=now)
    ingest.events_ingest(messages=[identify(company="Acme", industry="")], now=now)
    lead.refresh_from_db()
    assert (lead.company, lead.industry, lead.first_name) == ("Acme", "software", "Ada")
    other, _ = lead_upsert(
        data=LeadData(email="old@acme.example", fields={"country": "UK", "company": "Old"}), now=now
    )
    kept = lead_merge(keep=lead, merge=other, now=now, reason="same person")
    kept.refresh_from_db()
    assert (kept.company, kept.country) == ("Acme", "UK")
    # and a CSV import row (the bulk path): new values win, its blank cells erase nothing
    row = {"email": "ada@acme.example", "identities": {}, "fields": {"country": "", "company": "Acme Ltd",
           "industry": ""}, "custom": {"plan": ""}}  # fmt: skip
    assert leads_upsert_bulk([(2, row)], now=now).updated == 1
    kept.refresh_from_db()
    assert (kept.company, kept.country, kept.industry) == ("Acme Ltd", "UK", "software")
