"""A signed agreement version cannot change, whatever the path: model save(), QuerySet.update(), raw SQL.

The database triggers (migration 0002) refuse it on SQLite and PostgreSQL; the model guard refuses it earlier with
a message. Run with DATABASE_URL=postgres://... for the PostgreSQL triggers.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from sla.exceptions import SignedVersionImmutable
from sla.immutability import signed_edits_allowed
from sla.models import AgreementVersion, Signature, Status

pytestmark = pytest.mark.django_db


def refused_by_database(sql: str, params: list) -> None:
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_save_of_changed_content_is_refused(agreement):
    agreement.content["mql"]["threshold"] = 1
    with pytest.raises(SignedVersionImmutable, match="content"):
        agreement.save()
    assert AgreementVersion.objects.get(pk=agreement.pk).content["mql"]["threshold"] != 1


def test_save_of_a_new_title_is_refused(agreement):
    agreement.title = "Something else"
    with pytest.raises(SignedVersionImmutable, match="title"):
        agreement.save(update_fields=["title"])


def test_update_bypassing_the_model_is_refused_by_the_database(agreement):
    with pytest.raises(IntegrityError), transaction.atomic():
        AgreementVersion.objects.filter(pk=agreement.pk).update(content={"mql": {}}, content_hash="x")
    assert AgreementVersion.objects.get(pk=agreement.pk).content_hash == agreement.content_hash


@pytest.mark.parametrize(
    ("column", "value"),
    [("title", "Tampered"), ("content_hash", "0" * 64), ("status", "draft"), ("number", 99)],
)
def test_raw_sql_is_refused_by_the_database(agreement, column, value):
    refused_by_database(f"UPDATE sla_agreementversion SET {column} = %s WHERE id = %s", [value, agreement.pk])


def test_a_signed_version_cannot_be_deleted(agreement):
    with pytest.raises(SignedVersionImmutable):
        agreement.delete()
    if (
        connection.vendor == "postgresql"
    ):  # SQLite has no DELETE trigger: Django's flush deletes row by row there
        refused_by_database("DELETE FROM sla_agreementversion WHERE id = %s", [agreement.pk])
    assert AgreementVersion.objects.filter(pk=agreement.pk).exists()


def test_its_signatures_cannot_be_voided_changed_added_or_deleted(agreement, rep):
    signature = agreement.signatures.first()
    # voided through the ORM
    signature.voided_at = timezone.now()
    with pytest.raises(SignedVersionImmutable):
        signature.save()
    # changed or deleted behind the ORM's back
    with pytest.raises(IntegrityError), transaction.atomic():
        Signature.objects.filter(pk=signature.pk).update(content_hash="forged")
    with pytest.raises(SignedVersionImmutable):
        signature.delete()
    if connection.vendor == "postgresql":
        refused_by_database("DELETE FROM sla_signature WHERE id = %s", [signature.pk])
    # a new signature added to it
    with pytest.raises(SignedVersionImmutable):
        Signature.objects.create(
            version=agreement, side="sales", signed_by=rep, signed_at=timezone.now(), content_hash="x"
        )
    assert agreement.signatures.valid().count() == 2


def test_superseding_an_active_version_is_the_one_change_allowed(agreement):
    now = timezone.now()
    AgreementVersion.objects.filter(pk=agreement.pk).update(status=Status.SUPERSEDED, superseded_at=now)
    # and once superseded, its date is fixed and it cannot come back
    refused_by_database("UPDATE sla_agreementversion SET superseded_at = NULL WHERE id = %s", [agreement.pk])
    refused_by_database("UPDATE sla_agreementversion SET status = 'active' WHERE id = %s", [agreement.pk])


def test_drafts_stay_editable(agreement, marketing_manager):
    from sla.services import agreement_draft_create

    draft = agreement_draft_create(user=marketing_manager, now=timezone.now())
    draft.title = "Next quarter"
    draft.save()
    AgreementVersion.objects.filter(pk=draft.pk).update(summary="edited")


def test_the_explicit_bypass_allows_a_fixture_to_edit_a_signed_version(agreement):
    with signed_edits_allowed("test fixture: a version signed in the past with another threshold"):
        agreement.content["mql"]["threshold"] = 1
        agreement.save()
        Signature.objects.filter(version=agreement).update(content_hash="rehashed")
    assert AgreementVersion.objects.get(pk=agreement.pk).content["mql"]["threshold"] == 1
    # and the guard is back right after
    refused_by_database("UPDATE sla_agreementversion SET title = 'x' WHERE id = %s", [agreement.pk])
