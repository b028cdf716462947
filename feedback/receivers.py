"""feedback's side of a lead's life, connected to leads' signals.

The hand-over itself is the lead's (its state, `mql_at`, its STATE event and its `leads.HandOver` row, written
in scoring's transaction): feedback's cycle for it is opened after that transaction commits, in its own, so a
feedback bug or a database error here can never roll back an event batch, an import or a claim. A failure is
logged with the hand-over ids; `cycles_repair` (a beat task) opens the missing cycles afterwards from the
hand-overs, and a rep's first action on the lead opens its cycle if it is still missing (`services._cycle`).
A claim is recorded on the open cycle in a savepoint of the claim's transaction (undone alone on failure).
Merges are the exception: if the cycles cannot be moved, deleting the merged lead would cascade them away, so a
failure there fails the merge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
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
def open_cycles(sender, hand_over_ids, at, **kwargs) -> None:
    transaction.on_commit(partial(open_cycles_now, list(hand_over_ids), at))


def open_cycles_now(hand_over_ids: list[int], at: Any) -> None:
    """After the hand-over committed: open its cycles in a transaction of their own (a failure is logged)."""
    from feedback.services import cycles_open

    _isolated(
        "opening hand-over cycles",
        lambda: cycles_open(hand_over_ids=hand_over_ids, at=at),
        hand_over_ids=hand_over_ids,
    )


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
