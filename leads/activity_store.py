"""Storing activities once each: every write of activities goes through here.

An event's messageId is written to ActivityReceipt (its primary key) in the same transaction as the activity,
with ON CONFLICT DO NOTHING RETURNING: only the activities whose receipt was new are inserted. A retry, or a
concurrent delivery of the same event (which waits on the first one's uncommitted key), stores nothing, whichever
month the event falls in: the partitioned activity table (leads/partitions.py) cannot hold that unique key itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, transaction

from leads.bulkwrite import rows_insert, values_insert
from leads.models import Activity, ActivityReceipt


def message_ids_stored(ids: Iterable[str]) -> set[str]:
    """The message ids among `ids` already stored."""
    ids = [i for i in ids if i]
    if not ids:
        return set()
    return set(ActivityReceipt.objects.filter(pk__in=ids).values_list("pk", flat=True))


@transaction.atomic(savepoint=False)
def activities_insert(activities: Sequence[Activity]) -> list[Activity]:
    """Insert `activities`, skipping each whose message id is already stored (or repeated in this list);
    returns those written. Their `received_at` is the receipts' time."""
    firsts: dict[str, Activity] = {}
    for activity in activities:
        if activity.message_id:
            firsts.setdefault(activity.message_id, activity)
    new: set[str] = set()
    if firsts:
        receipts = [(message_id, a.received_at) for message_id, a in firsts.items()]
        if connection.vendor == "postgresql":
            new = set(
                values_insert(
                    ActivityReceipt,
                    ["message_id", "received_at"],
                    receipts,
                    ignore_conflicts=True,
                    returning=True,
                )
            )
        else:  # one writer at a time: what is not stored yet is new
            new = set(firsts) - message_ids_stored(firsts)
            ActivityReceipt.objects.bulk_create(
                [ActivityReceipt(message_id=m, received_at=at) for m, at in receipts if m in new]
            )
    fresh = [a for a in activities if not a.message_id or (a.message_id in new and firsts[a.message_id] is a)]
    rows_insert(Activity, fresh)
    return fresh
