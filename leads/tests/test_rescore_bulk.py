"""The bulk rescore (an activation's job, chunk by chunk over any queryset of leads) stores exactly what the one
evaluator says, every field, also when the rows go back through COPY + UPDATE ... FROM (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alignment import copywrite
from leads.models import Lead, State
from leads.scoring import Rules, leads_rescore_chunk
from leads.scoring.rescore import facts_for, judge

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied_leads(agreement, make_lead):
    now = timezone.now()
    leads = [
        make_lead(now=now, employees=250, seniority="director", activities=[("demo_request", now, {})]),
        make_lead(now=now, employees=20, activities=[("page_view", now - timedelta(days=3), {"url": "/blog/a"})]),
        make_lead(now=now, employees=500, industry="software", seniority="vp",
                  activities=[("page_view", now - timedelta(days=d), {"url": "/pricing"}) for d in (1, 2, 40)]),
        make_lead(now=now, employees=120, activities=[("page_view", now, {"url": "/pricing"})]),
        make_lead(now=now, employees=5),
    ]  # fmt: skip
    recycled = make_lead(
        now=now,
        employees=250,
        seniority="director",
        activities=[("demo_request", now - timedelta(days=2), {})],
    )
    Lead.objects.filter(pk=recycled.pk).update(state=State.RECYCLED, decided_at=now - timedelta(days=1))
    Lead.objects.update(score=-999, breakdown={}, rescore_at=None, scored_with=None)
    return [*leads, recycled]


@pytest.mark.parametrize("copy_from_rows", [1, 10_000], ids=["copy", "upsert"])
def test_the_bulk_rescore_stores_what_the_evaluator_says(
    agreement, varied_leads, monkeypatch, copy_from_rows
):
    # given stale verdicts, and a write-back through COPY (PostgreSQL) or the upsert
    monkeypatch.setattr(copywrite, "COPY_FROM_ROWS", copy_from_rows)
    rules = Rules.of(agreement)
    now = timezone.now()
    # when the bulk path rescores every lead in one chunk
    chunk = leads_rescore_chunk(
        leads=Lead.objects.all(), rules=rules, now=now, after=0, size=100, reason="agreement activated"
    )
    # then each stored row is the evaluator's judgement: score, fit, engagement, breakdown, next rescore, tier
    assert chunk.scored == len(varied_leads) and chunk.last_pk == max(lead.pk for lead in varied_leads)
    leads = list(Lead.objects.order_by("pk"))
    facts = facts_for([lead.pk for lead in leads])
    for lead in leads:
        evaluation, waits = judge(lead, facts.get(lead.pk, []), rules.criteria, now)
        assert (lead.score, lead.fit_score, lead.engagement_score) == (
            evaluation.total,
            evaluation.fit,
            evaluation.engagement,
        )
        assert lead.breakdown == evaluation.to_dict()
        assert lead.rescore_at == evaluation.next_change_at
        assert lead.scored_with_id == agreement.pk and lead.scored_at == now
        if lead.state == State.MQL:
            assert lead.tier == evaluation.tier.value and lead.claim_due_at is not None
    # and the recycled lead with nothing new since its rejection stays recycled, though its old demo request fires
    recycled = leads[-1]
    assert recycled.state == State.RECYCLED and recycled.tier == ""
    assert {lead.state for lead in leads[:4]} >= {State.MQL}


def test_the_bulk_rescore_takes_only_the_leads_it_is_given_after_its_cursor(agreement, varied_leads):
    # given a subset of the leads (a segment, say) and a cursor past the first of them
    rules = Rules.of(agreement)
    subset = Lead.objects.filter(employees__gte=100)
    first, *rest = sorted(subset.values_list("pk", flat=True))
    # when a chunk runs after the first
    chunk = leads_rescore_chunk(
        leads=subset, rules=rules, now=timezone.now(), after=first, size=2, reason="t"
    )
    # then it scored the next two of the subset only, and says where to resume
    assert chunk.scored == 2 and chunk.last_pk == rest[1]
    scored = set(Lead.objects.exclude(score=-999).values_list("pk", flat=True))
    assert scored == set(rest[:2])
    # and past the end there is nothing left
    done = leads_rescore_chunk(
        leads=subset, rules=rules, now=timezone.now(), after=rest[-1], size=2, reason="t"
    )
    assert done.last_pk is None and done.scored == 0


def test_rows_inserted_with_copy_read_back_as_bulk_create_stores_them(agreement, varied_leads):
    # given the same hand-overs and events (JSON documents, choices, dates, blanks) built twice over
    from alignment.copywrite import rows_insert
    from leads.lifecycle.hand_overs import hand_over_from_lead
    from leads.models import HandOver, LeadEvent

    now = timezone.now()
    Lead.objects.update(breakdown={"total": 40, "why": 'a "quoted" \\ path', "evidence": [{"at": "é"}]})
    leads = list(Lead.objects.order_by("pk"))

    def build(number: int) -> tuple[list[HandOver], list[LeadEvent]]:
        hand_overs = [hand_over_from_lead(lead, number=number, at=now) for lead in leads]
        for hand_over in hand_overs:
            hand_over.ended_at = now  # a lead has one open hand-over at most
        events = [
            LeadEvent(lead=lead, at=now, kind=LeadEvent.Kind.STATE, from_value="new", to_value="mql",
                      actor_label="scoring", reason='score 40, "hot"', data={"score": 40, "tier": "hot"})
            for lead in leads
        ]  # fmt: skip
        return hand_overs, events

    # when one set goes through bulk_create and the other through rows_insert (COPY on PostgreSQL)
    expected_hand_overs, expected_events = build(1)
    HandOver.objects.bulk_create(expected_hand_overs)
    LeadEvent.objects.bulk_create(expected_events)
    copied_hand_overs, copied_events = build(2)
    returned = rows_insert(HandOver, copied_hand_overs)
    rows_insert(LeadEvent, copied_events)

    # then the copied rows have their ids, and read back exactly as the bulk-created ones
    assert returned == copied_hand_overs and all(h.pk for h in copied_hand_overs)
    assert len({h.pk for h in [*expected_hand_overs, *copied_hand_overs]}) == 2 * len(leads)
    for model, expected, copied in (
        (HandOver, expected_hand_overs, copied_hand_overs),
        (LeadEvent, expected_events, copied_events),
    ):
        rows = {row["id"]: row for row in model.objects.values()}
        for want, got in zip(expected, copied, strict=True):
            want_row, got_row = dict(rows[want.pk]), dict(rows[got.pk])
            want_row.pop("id"), got_row.pop("id")
            want_row.pop("number", None), got_row.pop("number", None)
            assert got_row == want_row
