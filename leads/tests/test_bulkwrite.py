"""leads/bulkwrite.py stores what Django's own bulk_create / bulk_update store (both backends)."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from leads.bulkwrite import rows_insert, rows_update, values_insert
from leads.models import Lead, LeadIdentity

T0 = datetime(2026, 11, 2, 9, 30, 1, 123456, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def test_inserted_rows_read_back_as_written_with_their_new_ids():
    # given two new leads with text, numbers, JSON (nested, unicode, null inside) and a blank field
    leads = [
        Lead(email="a@x.example", company="株式会社テスト", employees=250, attributes={"plan": ["pro", None]},
             created_at=T0, updated_at=T0),
        Lead(email="b@x.example", employees=None, attributes={}, created_at=T0, updated_at=T0),
    ]  # fmt: skip
    # when inserted with their ids read back
    rows_insert(Lead, leads, set_pks=True)
    # then each object has its row's id and the rows hold exactly those values
    stored = {lead.pk: lead for lead in Lead.objects.all()}
    assert set(stored) == {leads[0].pk, leads[1].pk}
    first = stored[leads[0].pk]
    assert (first.email, first.company, first.employees, first.attributes, first.created_at) == (
        "a@x.example", "株式会社テスト", 250, {"plan": ["pro", None]}, T0,
    )  # fmt: skip
    assert (stored[leads[1].pk].employees, stored[leads[1].pk].attributes) == (None, {})


def test_updated_rows_change_only_the_fields_named():
    # given two stored leads
    a = Lead.objects.create(email="a@x.example", company="A", job_title="CEO", created_at=T0, updated_at=T0)
    b = Lead.objects.create(email="b@x.example", company="B", job_title="CTO", created_at=T0, updated_at=T0)
    a.company, a.job_title, b.company, b.attributes = "A2", "ignored", "B2", {"k": 1}
    # when their company and attributes are written
    rows_update(Lead, [a, b], ["company", "attributes"])
    # then those changed, the rest did not
    assert dict(Lead.objects.values_list("email", "company")) == {"a@x.example": "A2", "b@x.example": "B2"}
    assert Lead.objects.get(pk=a.pk).job_title == "CEO"
    assert Lead.objects.get(pk=b.pk).attributes == {"k": 1}


def test_a_unique_conflict_is_djangos_integrity_error_unless_ignored():
    # given a stored identity
    lead = Lead.objects.create(email="a@x.example", created_at=T0, updated_at=T0)
    LeadIdentity.objects.create(lead=lead, kind="external", value="X1", created_at=T0)
    again = [LeadIdentity(lead=lead, kind="external", value="X1", created_at=T0)]
    # when the same one is inserted again / then Django's IntegrityError, and nothing changed
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(LeadIdentity, again)
    # when conflicts are ignored / then it is skipped
    rows_insert(LeadIdentity, again, ignore_conflicts=True)
    assert LeadIdentity.objects.count() == 1


def test_rows_given_as_values_insert_with_their_ids_in_order():
    # given two leads; when links are inserted as plain values (a foreign key by its id), ids read back
    a = Lead.objects.create(email="a@x.example", created_at=T0, updated_at=T0)
    b = Lead.objects.create(email="b@x.example", created_at=T0, updated_at=T0)
    ids = values_insert(
        LeadIdentity, ["lead", "kind", "value", "created_at"], [(a.pk, "external", "A1", T0), (b.pk, "external", "B1", T0)],
        returning=True,
    )  # fmt: skip
    # then the rows are there, in the order given, to the microsecond
    stored = [LeadIdentity.objects.get(pk=pk) for pk in ids]
    assert [(i.lead_id, i.value, i.created_at) for i in stored] == [(a.pk, "A1", T0), (b.pk, "B1", T0)]
