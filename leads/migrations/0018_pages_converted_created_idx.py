"""The review's "never an MQL but won" list: leads created in the month whose `outcome_converted` attribute says
won, with no hand-over. Without this index PostgreSQL reads every lead created in the month (160k of 1M) to find
the few that carry the attribute; with it, only those. Partial (leads that have the attribute) and PostgreSQL only:
elsewhere the list reads the created-at index as before."""

from django.db import migrations

INDEX = "leads_converted_created_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON leads_lead (((attributes ->> 'outcome_converted')), created_at) "
            "WHERE (attributes ->> 'outcome_converted') IS NOT NULL"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0017_part_activity_partitions")]

    operations = [migrations.RunPython(create, drop)]
