"""feedback's side of a lead's hand-over, run inside the service's transaction that sends the signal.

The hand-over itself is the lead's (state, `mql_at`, its STATE event): a bug or a database error here must not
roll back an event batch, an import or a claim. So the cycle bookkeeping runs in a savepoint; a failure is logged
with the lead ids and undone alone, and `cycles_repair` (a beat task) opens the missing cycles afterwards from
what the lead records. Merges are the exception: if the hand-overs cannot be moved, deleting the merged lead
would cascade them away, so a failure there fails the merge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from leads.models import Lead
from leads.signals import lead_merging, lead_owner_set, leads_handed_over

logger = logging.getLogger(__name__)


def _isolated(what: str, work: Callable[[], Any], **context: Any) -> None:
    try:
        with transaction.atomic():  # a savepoint: only this work is undone on failure
            work()
    except Exception:  # deliberate: no feedback bug may fail the lead's own write; logged, repaired later
        logger.exception("feedback: %s failed (%s); left for cycles_repair", what, context)


@receiver(leads_handed_over, sender=Lead, dispatch_uid="feedback.open_cycles")
def open_cycles(sender, lead_ids, at, **kwargs) -> None:
    from feedback.services import cycles_open

    _isolated("opening hand-over cycles", lambda: cycles_open(lead_ids=lead_ids, at=at), lead_ids=lead_ids)


@receiver(lead_owner_set, sender=Lead, dispatch_uid="feedback.cycle_claimed")
def record_claim(sender, lead_id, owner_id, at, **kwargs) -> None:
    from feedback.services import cycle_claimed

    _isolated(
        "recording a claim",
        lambda: cycle_claimed(lead_id=lead_id, owner_id=owner_id, at=at),
        lead_id=lead_id,
    )


@receiver(lead_merging, sender=Lead, dispatch_uid="feedback.move_cycles")
def move_cycles(sender, keep_id, merge_id, at, **kwargs) -> None:
    from feedback.services import cycles_move

    cycles_move(keep_id=keep_id, merge_id=merge_id, at=at)
