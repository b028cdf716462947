"""Test data for the review: cycles made directly (not by handing leads over) still get the leads.HandOver each
cycle is keyed to, copied from the cycle's frozen hand-off values as migration feedback 0008 does."""

from __future__ import annotations

from collections.abc import Iterable

from feedback.models import Cycle
from leads.models import HandOver

FROZEN = ("tier", "score", "fit_score", "engagement_score", "breakdown", "reason", "source", "campaign",
          "claim_due_at", "first_contact_due_at", "accept_due_at", "outcome_due_at")  # fmt: skip


def keyed(cycles: Iterable[Cycle]) -> list[Cycle]:
    """The unsaved cycles, each with its hand-over saved (same lead, number and frozen values)."""
    cycles = list(cycles)
    hand_overs = HandOver.objects.bulk_create(
        [
            HandOver(
                lead_id=cycle.lead_id,
                number=cycle.number,
                at=cycle.handed_over_at,
                agreement_id=cycle.agreement_id,
                ended_at=cycle.closed_at,
                **{name: getattr(cycle, name) for name in FROZEN},
            )  # fmt: skip
            for cycle in cycles
        ]
    )
    for cycle, hand_over in zip(cycles, hand_overs, strict=True):
        cycle.hand_over = hand_over
    return cycles


def cycle_create(**fields: object) -> Cycle:
    """`Cycle.objects.create(**fields)`, keyed to its hand-over."""
    cycle = keyed([Cycle(**fields)])[0]
    cycle.save()
    return cycle
