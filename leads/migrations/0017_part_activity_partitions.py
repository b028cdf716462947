"""Activities partitioned by month on PostgreSQL (leads/partitions.py explains the layout).

The idempotency key moves from a unique `Activity.message_id` to ActivityReceipt (a partitioned table cannot hold a
unique key without the partition column); the existing ids are copied into it. Then, on PostgreSQL only, the table
is rebuilt as `PARTITION BY RANGE (occurred_at)`: one partition per month that has rows (the last 20 years) and the
next three, a default partition for anything else, every row moved with its id, the same index names, foreign keys
and an `id` sequence; the primary key becomes (id, occurred_at). SQLite keeps its plain table. Django's model
state is untouched by the rebuild (it is the same model).
"""

from datetime import UTC, date, datetime

from django.db import migrations, models

TABLE = "leads_activity"
AHEAD = 1
OLDEST = 240  # months: rows older than this wait in the default partition


def _month_add(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _fetch(cursor, sql, params=()):
    cursor.execute(sql, params)
    return cursor.fetchall()


def _shape(cursor, table):
    """The primary key's name, the other indexes' definitions and the foreign keys of `table`."""
    pk = _fetch(
        cursor, "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [table]
    )
    indexes = _fetch(
        cursor,
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
        [table],
    )
    fks = _fetch(
        cursor,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    return pk[0][0], indexes, fks


def _rebuild(schema_editor, *, partitioned):
    """Copy leads_activity into a new table of the other kind under the same name, keeping ids, index names and
    foreign keys."""
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    with schema_editor.connection.cursor() as cursor:
        pk, indexes, fks = _shape(cursor, TABLE)
        (old_sequence,) = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])[0]
        run(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_old")
        run(
            f"CREATE TABLE {TABLE} (LIKE {TABLE}_old INCLUDING DEFAULTS)"
            + (" PARTITION BY RANGE (occurred_at)" if partitioned else "")
        )
        if partitioned:
            run(f"CREATE SEQUENCE {TABLE}_id_new_seq OWNED BY {TABLE}.id")
            run(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{TABLE}_id_new_seq')")
            today = datetime.now(UTC).date().replace(day=1)
            months = {_month_add(today, n) for n in range(AHEAD + 1)}
            months |= {
                m
                for (m,) in _fetch(
                    cursor,
                    f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date FROM {TABLE}_old",
                )
                if _month_add(today, -OLDEST) <= m <= _month_add(today, AHEAD)
            }
            for month in sorted(months):
                low, high = f"{month:%Y-%m-%d} 00:00:00+00", f"{_month_add(month, 1):%Y-%m-%d} 00:00:00+00"
                run(
                    f"CREATE TABLE {TABLE}_{month:%Y_%m} PARTITION OF {TABLE} FOR VALUES FROM ('{low}') TO ('{high}')"
                )
            run(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT")
        else:  # the partitioned table's sequence now belongs to the plain one
            run(f"ALTER SEQUENCE {old_sequence} OWNED BY {TABLE}.id")
        run(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_old")
        (last,) = _fetch(
            cursor,
            f"SELECT GREATEST(COALESCE((SELECT max(id) FROM {TABLE}_old), 0), "
            f"COALESCE(pg_sequence_last_value(%s::regclass), 0))",
            [old_sequence],
        )[0]
        run(f"DROP TABLE {TABLE}_old CASCADE")
        if partitioned:
            run(f"ALTER SEQUENCE {TABLE}_id_new_seq RENAME TO {TABLE}_id_seq")
        sequence = f"{TABLE}_id_seq" if partitioned else old_sequence
        cursor.execute("SELECT setval(%s::regclass, %s, %s)", [sequence, max(last, 1), last > 0])
        key = "id, occurred_at" if partitioned else "id"
        run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {pk} PRIMARY KEY ({key})")
        for _name, definition in indexes:
            run(definition.replace(" ON ONLY ", " ON "))
        for name, definition in fks:
            run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")


def partition(apps, schema_editor):
    _rebuild(schema_editor, partitioned=True)
    if (
        schema_editor.connection.vendor == "postgresql"
    ):  # retention deletes old receipts by time: a tiny index
        schema_editor.execute(
            "CREATE INDEX leads_activityreceipt_received_brin ON leads_activityreceipt USING brin (received_at)"
        )


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS leads_activityreceipt_received_brin")
    _rebuild(schema_editor, partitioned=False)


def receipts_fill(apps, schema_editor):
    schema_editor.execute(
        "INSERT INTO leads_activityreceipt (message_id, received_at) "
        "SELECT message_id, received_at FROM leads_activity WHERE message_id IS NOT NULL"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0016_attribute_seen_at_db_default"),
    ]

    operations = [
        migrations.CreateModel(
            name="ActivityMonthDropped",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "month",
                    models.DateField(help_text="First day of the month (UTC) whose activities were dropped"),
                ),
                ("rows", models.BigIntegerField()),
                ("dropped_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["-dropped_at", "-month"],
            },
        ),
        migrations.CreateModel(
            name="ActivityReceipt",
            fields=[
                ("message_id", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("received_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(receipts_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="activity",
            name="message_id",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
        migrations.RunPython(partition, unpartition),
    ]
