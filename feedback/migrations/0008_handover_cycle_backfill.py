"""Every existing cycle gets the leads.HandOver it records (copied from the cycle's frozen hand-off values)."""

from django.db import migrations

WITH_SALES = ("mql", "sal", "sql")
CHUNK = 1000


def backfill(apps, schema_editor):
    Cycle = apps.get_model("feedback", "Cycle")
    HandOver = apps.get_model("leads", "HandOver")
    cycles = Cycle.objects.filter(hand_over__isnull=True).select_related("lead").order_by("pk")
    batch = []
    for cycle in cycles.iterator(chunk_size=CHUNK):
        batch.append(cycle)
        if len(batch) == CHUNK:
            _link(batch, HandOver, Cycle)
            batch = []
    if batch:
        _link(batch, HandOver, Cycle)


def _link(cycles, HandOver, Cycle):
    hand_overs = HandOver.objects.bulk_create(
        [
            HandOver(
                lead_id=cycle.lead_id,
                number=cycle.number,
                at=cycle.handed_over_at,
                agreement_id=cycle.agreement_id,
                tier=cycle.tier,
                score=cycle.score,
                fit_score=cycle.fit_score,
                engagement_score=cycle.engagement_score,
                breakdown=cycle.breakdown,
                reason=cycle.reason,
                source=cycle.source,
                campaign=cycle.campaign,
                claim_due_at=cycle.claim_due_at,
                first_contact_due_at=cycle.first_contact_due_at,
                accept_due_at=cycle.accept_due_at,
                outcome_due_at=cycle.outcome_due_at,
                # an open cycle on a lead no longer with sales (merges before hand-overs existed) ends with it
                ended_at=cycle.closed_at
                or (
                    None
                    if cycle.lead.state in WITH_SALES
                    else max(cycle.lead.updated_at, cycle.handed_over_at)
                ),
            )  # fmt: skip
            for cycle in cycles
        ]
    )
    for cycle, hand_over in zip(cycles, hand_overs, strict=True):
        cycle.hand_over_id = hand_over.pk
    Cycle.objects.bulk_update(cycles, ["hand_over"])


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0007_handover_cycle"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
