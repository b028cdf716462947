"""Signed agreement versions never change: a model guard here, and database triggers (migration 0002) that also
stop `QuerySet.update()`, raw SQL and any other client.

Signed means active or superseded: both managers signed that exact content. After that only one move is allowed:
active → superseded (with `superseded_at` set once). Content, hash, number, title, summary, dates and the
signatures themselves are fixed; a signature can be neither added, changed (voided) nor deleted.

On SQLite, deleting a signed version or signature is refused by the model guard only (see SQLITE_FORWARD).

`signed_edits_allowed(reason)` is the one explicit bypass, for test fixtures and data repairs that must say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from sla.models import FIXED_FIELDS, SignedEditBypass


@contextmanager
def signed_edits_allowed(reason: str) -> Iterator[None]:
    """Inside this block (one transaction) signed versions may be edited: for fixtures and repairs only."""
    with transaction.atomic():
        row = SignedEditBypass.objects.create(reason=reason[:200])
        try:
            yield
        finally:
            SignedEditBypass.objects.filter(pk=row.pk).delete()


# --- the triggers (migration 0002) ------------------------------------------------------------------------------

_SIGNED = "('active', 'superseded')"
_NO_BYPASS = "NOT EXISTS (SELECT 1 FROM sla_signed_edit_bypass)"


def _version_changed(distinct: str) -> str:
    """SQL: the UPDATE changes what a signed version may not change (`distinct`: the vendor's IS DISTINCT FROM)."""
    fixed = " OR ".join(f"NEW.{name} {distinct} OLD.{name}" for name in FIXED_FIELDS)
    return (
        f"({fixed} OR NOT (NEW.status = OLD.status OR (OLD.status = 'active' AND NEW.status = 'superseded'))"
        f" OR (OLD.superseded_at IS NOT NULL AND NEW.superseded_at {distinct} OLD.superseded_at))"
    )


SQLITE_FORWARD = [
    f"""CREATE TRIGGER sla_signed_version_update BEFORE UPDATE ON sla_agreementversion FOR EACH ROW
        WHEN OLD.status IN {_SIGNED} AND {_NO_BYPASS} AND {_version_changed("IS NOT")}
        BEGIN SELECT RAISE(ABORT, 'a signed agreement version cannot be changed'); END""",
    *(
        f"""CREATE TRIGGER sla_signed_signature_{op.lower()} BEFORE {op} ON sla_signature FOR EACH ROW
        WHEN (SELECT status FROM sla_agreementversion WHERE id = {row}.version_id) IN {_SIGNED} AND {_NO_BYPASS}
        BEGIN SELECT RAISE(ABORT, 'the signatures of a signed agreement version cannot change'); END"""
        for op, row in (("INSERT", "NEW"), ("UPDATE", "OLD"))
    ),
]  # no DELETE triggers on SQLite: Django's flush (tests) empties tables with DELETE, where PostgreSQL TRUNCATEs;
# deleting is refused there by the model guard (delete()) and by the PROTECT foreign keys to a version
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "sla_signed_version_update",
        "sla_signed_version_delete",
        "sla_signed_signature_insert",
        "sla_signed_signature_update",
        "sla_signed_signature_delete",
    )  # fmt: skip
]

POSTGRESQL_FORWARD = [
    f"""CREATE OR REPLACE FUNCTION sla_signed_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status IN {_SIGNED} AND {_NO_BYPASS} AND (TG_OP = 'DELETE' OR {_version_changed("IS DISTINCT FROM")})
        THEN
            RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation',
                MESSAGE = 'signed agreement version ' || OLD.number || ' cannot be changed';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER sla_signed_version_guard BEFORE UPDATE OR DELETE ON sla_agreementversion
        FOR EACH ROW EXECUTE FUNCTION sla_signed_version_guard()""",
    f"""CREATE OR REPLACE FUNCTION sla_signed_signature_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        row_version bigint := CASE WHEN TG_OP = 'INSERT' THEN NEW.version_id ELSE OLD.version_id END;
    BEGIN
        IF (SELECT status FROM sla_agreementversion WHERE id = row_version) IN {_SIGNED} AND {_NO_BYPASS} THEN
            RAISE EXCEPTION 'the signatures of a signed agreement version cannot change'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER sla_signed_signature_guard BEFORE INSERT OR UPDATE OR DELETE ON sla_signature
        FOR EACH ROW EXECUTE FUNCTION sla_signed_signature_guard()""",
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS sla_signed_version_guard ON sla_agreementversion",
    "DROP FUNCTION IF EXISTS sla_signed_version_guard()",
    "DROP TRIGGER IF EXISTS sla_signed_signature_guard ON sla_signature",
    "DROP FUNCTION IF EXISTS sla_signed_signature_guard()",
]


def install_triggers(apps: Any, schema_editor: Any) -> None:
    statements = POSTGRESQL_FORWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_FORWARD
    for statement in statements:
        schema_editor.execute(statement)


def remove_triggers(apps: Any, schema_editor: Any) -> None:
    statements = POSTGRESQL_BACKWARD if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD
    for statement in statements:
        schema_editor.execute(statement)
