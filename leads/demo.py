"""Demo leads for `make run`: true-looking companies, people and six months of activity, scored as they happened.

Sources and their weights follow the real X Education data set (Google, Direct Traffic, Olark Chat, Organic
Search, Reference, ...); company sizes, titles and behaviour are drawn so that the score has something to find.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from leads.models import Activity, Lead, LeadEvent, LeadIdentity, SlaBreach, State, Tier
from leads.normalise import seniority_from_title
from leads.queue.clocks import stamp_clocks
from leads.scoring import DEADLINE_FIELDS, Rules, attributes_of
from sla.criteria import Activity as Fact
from sla.criteria import evaluate

SOURCES = [  # (source, weight) — shares as in the X Education data set
    ("Google", 31), ("Direct Traffic", 27), ("Olark Chat", 19), ("Organic Search", 12), ("Reference", 6),
    ("Welingak Website", 2), ("Referral Sites", 1), ("Facebook", 1), ("LinkedIn", 1),
]  # fmt: skip
CAMPAIGNS = ["Spring webinar series", "Pricing page retargeting", "Q2 newsletter", "Case study push", ""]
INDUSTRIES = [
    "software",
    "financial services",
    "healthcare",
    "education",
    "retail",
    "manufacturing",
    "logistics",
]
COMPANY_WORDS = (
    "Acme Northwind Globex Initech Umbrella Stark Wayne Hooli Vandelay Soylent Tyrell Cyberdyne Massive Dynamic "
    "Aperture Blue Sun Gringotts Monarch Oscorp Pied Piper Wonka Zorg Virtucon Nakatomi Duff Ollivander Sirius"
).split()
FIRST = "Amelia Oliver Isla George Ava Noah Mia Arthur Grace Leo Freya Oscar Lily Harry Ella Jack Sofia Theo Maya Liam".split()
LAST = "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Wright Walker Khan Lewis Evans Clarke Hughes".split()
TITLES = [
    ("CEO", 3), ("Founder", 3), ("VP of Sales", 4), ("VP Marketing", 3), ("Director of Operations", 5),
    ("Head of Growth", 4), ("Marketing Manager", 10), ("Sales Manager", 8), ("IT Manager", 6),
    ("Software Engineer", 12), ("Analyst", 10), ("Account Executive", 8), ("Student", 6), ("Intern", 3),
]  # fmt: skip
COUNTRIES = [
    ("United Kingdom", 40),
    ("Ireland", 8),
    ("Germany", 12),
    ("France", 10),
    ("Netherlands", 8),
    ("United States", 22),
]
BLOG = [
    "/blog/lead-scoring-101",
    "/blog/sla-between-sales-and-marketing",
    "/blog/what-is-an-mql",
    "/blog/bant-vs-champ",
]


SETTLED_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class DemoResult:
    leads: int
    activities: int
    mqls: int


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in weighted], weights=[weight for _, weight in weighted])[0]


def demo_leads_generate(
    *, rules: Rules, now: datetime, reps: list[Any], count: int = 400, seed: int = 2026,
    countries: list[tuple[str, int]] = COUNTRIES, min_employees: int = 0, segment: Any = None, tag: str = "",
) -> DemoResult:  # fmt: skip
    """Create `count` leads with activity over the last 180 days; each is scored after every activity, so it
    became an MQL (with its tier and SLA clocks) at the moment it really qualified, not at generation time."""
    rng = random.Random(seed)
    companies = [
        (f"{word} {rng.choice(['Ltd', 'Group', 'Systems', 'Labs', 'plc', 'GmbH', 'Inc'])}",
         rng.choice(INDUSTRIES), max(min_employees, int(rng.lognormvariate(4.2, 1.4)) + 2))
        for word in COMPANY_WORDS
    ]  # fmt: skip
    leads, facts_by_lead = [], []
    for n in range(count):
        company, industry, employees = rng.choice(companies)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        title = _pick(rng, TITLES)
        free_mail = rng.random() < 0.12
        domain = "gmail.com" if free_mail else company.split()[0].lower() + ".example"
        created = now - timedelta(days=rng.uniform(1, 180))
        lead = Lead(
            email=f"{first}.{last}.{tag}{n}@{domain}".lower(), segment=segment,
            first_name=first, last_name=last, company=company, job_title=title,
            seniority=seniority_from_title(title), industry=industry, employees=employees,
            country=_pick(rng, countries), source=_pick(rng, SOURCES), campaign=rng.choice(CAMPAIGNS),
            created_at=created, updated_at=created,
        )  # fmt: skip
        leads.append(lead)
        facts_by_lead.append(_activities(rng, lead, created, now))
    with transaction.atomic():
        Lead.objects.bulk_create(leads, batch_size=500)
        activities, events, identities, breaches = [], [], [], []
        for lead, facts in zip(leads, facts_by_lead, strict=True):
            identities.append(
                LeadIdentity(lead=lead, kind="external", value=f"demo-{lead.pk}", created_at=lead.created_at)
            )
            for fact in facts:
                activities.append(Activity(lead=lead, type=fact.type, properties=dict(fact.properties),
                                           occurred_at=fact.occurred_at, received_at=fact.occurred_at, source="demo"))  # fmt: skip
            events += _score_through_time(lead, facts, rules, now)
            if lead.mql_at and reps:
                events += _work_the_lead(rng, lead, reps, now)
            breaches += _missed(lead, now)
            stamp_clocks(lead, flagged=[(b.clock, b.deadline) for b in breaches if b.lead is lead])
        Activity.objects.bulk_create(activities, batch_size=1000)
        SlaBreach.objects.bulk_create(breaches, batch_size=1000)
        LeadIdentity.objects.bulk_create(identities, batch_size=1000)
        LeadEvent.objects.bulk_create(events, batch_size=1000)
        fields = ["state", "tier", "score", "fit_score", "engagement_score", "breakdown", "scored_with", "scored_at",
                  "rescore_at", "last_activity_at", "mql_at", "handoff_reason", "sla_clock", "sla_due_at", "next_sla_check_at",
                  "owner", "claimed_at", "first_contact_at", "decided_at", "outcome_at", *DEADLINE_FIELDS.values()]  # fmt: skip
        Lead.objects.bulk_update(leads, fields, batch_size=500)
    return DemoResult(
        leads=len(leads), activities=len(activities), mqls=sum(lead.mql_at is not None for lead in leads)
    )


def _activities(rng: random.Random, lead: Lead, created: datetime, now: datetime) -> list[Fact]:
    keen = rng.random()  # how interested this person is
    span = (now - created).total_seconds()
    facts = []
    for _ in range(int(rng.expovariate(1 / (3 + 12 * keen)))):
        at = created + timedelta(seconds=rng.uniform(0, span))
        roll = rng.random()
        if roll < 0.35:
            fact = ("page", {"path": rng.choice(BLOG)})
        elif roll < 0.5:
            fact = ("email_open", {"name": rng.choice(CAMPAIGNS) or "Newsletter"})
        elif roll < 0.52 + 0.12 * keen**2:
            fact = ("page", {"path": "/pricing"})
        elif roll < 0.72 + 0.1 * keen:
            fact = (
                "download",
                {"asset": rng.choice(["Case study: Acme", "Case study: Globex", "SLA template"])},
            )
        elif roll < 0.8 + 0.1 * keen:
            fact = ("webinar", {"name": "Aligning sales and marketing"})
        elif lead.seniority == "student" or roll > 0.97:
            fact = ("page", {"path": "/careers"})
        else:
            fact = ("page", {"path": "/"})
        facts.append(Fact(id=None, type=fact[0], occurred_at=at, properties=fact[1]))
    if keen > 0.85 and rng.random() < 0.5:
        facts.append(
            Fact(
                id=None,
                type="demo_request",
                occurred_at=created + timedelta(seconds=rng.uniform(0, span)),
                properties={},
            )
        )
    return sorted(facts, key=lambda fact: fact.occurred_at)


def _score_through_time(lead: Lead, facts: list[Fact], rules: Rules, now: datetime) -> list[LeadEvent]:
    events = []
    attributes = attributes_of(lead)
    for index, fact in enumerate(facts):
        evaluation = evaluate(rules.criteria, attributes, facts[: index + 1], fact.occurred_at)
        if evaluation.is_mql:
            lead.state, lead.tier, lead.mql_at = State.MQL, str(evaluation.tier), fact.occurred_at
            for key, due in rules.terms.deadlines(tier=lead.tier, start=fact.occurred_at).items():
                setattr(lead, DEADLINE_FIELDS[key], due)
            stamp_clocks(lead)
            why = "; ".join(hit.reason for hit in evaluation.triggers) or f"score {evaluation.total}"
            lead.handoff_reason = why
            lead.handoff_score = evaluation.total
            handoff = {"score": evaluation.total, "fit": evaluation.fit, "engagement": evaluation.engagement,
                       "tier": str(evaluation.tier), "breakdown": evaluation.to_dict()}  # fmt: skip
            events.append(LeadEvent(lead=lead, at=fact.occurred_at, kind=LeadEvent.Kind.STATE, from_value=State.NEW,
                                    to_value=State.MQL, actor_label="scoring", reason=why, data=handoff))  # fmt: skip
            break
    final = evaluate(rules.criteria, attributes, facts, now)
    lead.score, lead.fit_score, lead.engagement_score = final.total, final.fit, final.engagement
    lead.breakdown, lead.scored_with, lead.scored_at = final.to_dict(), rules.version, now
    lead.rescore_at = final.next_change_at
    lead.last_activity_at = facts[-1].occurred_at if facts else None
    if lead.state != State.MQL:
        lead.tier = Tier.NONE
    return events


def _work_the_lead(rng: random.Random, lead: Lead, reps: list[Any], now: datetime) -> list[LeadEvent]:
    """What sales did with an MQL, drawn so most clocks are met and some are missed, as in real teams."""
    events: list[LeadEvent] = []

    def step(after: datetime, due: datetime | None, on_time: float) -> datetime:
        if due and rng.random() < on_time:
            return (
                after + (due - after) * rng.uniform(0.1, 0.9) if due > after else after + timedelta(minutes=5)
            )
        return (due or after) + timedelta(hours=rng.uniform(1, 30))

    rep = rng.choice(reps)
    claimed = step(lead.mql_at, lead.claim_due_at, 0.8)
    if claimed >= now:
        return events
    lead.owner, lead.claimed_at = rep, claimed
    events.append(LeadEvent(lead=lead, at=claimed, kind=LeadEvent.Kind.OWNER, to_value=rep.get_username(),
                            actor=rep, actor_label=rep.get_username(), reason="claimed"))  # fmt: skip
    contacted = step(claimed, lead.first_contact_due_at, 0.75)
    if contacted >= now:
        return events
    lead.first_contact_at = contacted
    decided = step(contacted, lead.accept_due_at, 0.85)
    if decided >= now or rng.random() < 0.1:
        return events
    lead.decided_at = decided
    score = getattr(lead, "handoff_score", lead.score)  # what sales saw at hand-off drives what happens next
    if rng.random() < 0.4 - 0.004 * max(min(score, 80), 0):
        events.append(_state(lead, State.MQL, State.RECYCLED, decided, rep, "rejected: not ready"))
        lead.state, lead.owner = State.RECYCLED, None
        return events
    events.append(_state(lead, State.MQL, State.SAL, decided, rep, "accepted"))
    lead.state = State.SAL
    qualified = decided + timedelta(days=rng.uniform(1, 10))
    # A hand-over older than a month has reached an outcome in the demo, so past review months can be judged
    settled = now - lead.mql_at > SETTLED_AFTER
    if qualified >= now or (
        rng.random() < 0.55 - 0.2 * (lead.tier == "hot") - 0.003 * max(min(score, 80), 0) and not settled
    ):
        return events
    events.append(_state(lead, State.SAL, State.SQL, qualified, rep, "qualified"))
    lead.state = State.SQL
    closed = qualified + timedelta(days=rng.uniform(5, 40 if not settled else 20))
    if closed >= now or (rng.random() < 0.3 and not settled):
        return events
    result = (
        State.WON
        if rng.random() < 0.35 + 0.25 * (lead.tier == "hot") + 0.003 * max(lead.score, 0)
        else State.LOST
    )
    events.append(_state(lead, State.SQL, result, closed, rep, "won" if result == State.WON else "lost"))
    lead.state, lead.outcome_at = result, closed
    return events


def _state(lead: Lead, before: str, after: str, at: datetime, rep: Any, reason: str) -> LeadEvent:
    return LeadEvent(lead=lead, at=at, kind=LeadEvent.Kind.STATE, from_value=before, to_value=after,
                     actor=rep, actor_label=rep.get_username(), reason=reason)  # fmt: skip


def _missed(lead: Lead, now: datetime) -> list[SlaBreach]:
    """The deadlines this demo lead missed, recorded as the breach scan would have found them."""
    clocks = [
        ("claim", lead.claim_due_at, lead.claimed_at),
        ("first_contact", lead.first_contact_due_at, lead.first_contact_at),
        ("accept", lead.accept_due_at, lead.decided_at),
        ("outcome", lead.outcome_due_at, lead.outcome_at),
    ]
    found = []
    for clock, due, done in clocks:
        if due is None or due >= now or (done is not None and done <= due):
            continue
        if clock == "outcome" and lead.state in (State.RECYCLED, State.NEW):
            continue
        detected = due + timedelta(minutes=1)
        found.append(SlaBreach(lead=lead, clock=clock, deadline=due, detected_at=detected, late_seconds=60,
                               owner=lead.owner if done is None or clock != "claim" else None))  # fmt: skip
    return found


# --- Two demo segments: Enterprise Japan (its own agreement, Japanese calendar and team) and SMB global ---------

JAPAN_COUNTRIES = [("Japan", 1)]
JAPAN_TEAM = (  # username, password, first name, last name, role
    ("jp-rep", "demo-jp-rep-pass", "Hanako", "Sato", "Rep"),
    ("jp-salesmanager", "demo-jp-sales-pass", "Kenji", "Tanaka", "Sales manager"),
    ("jp-marketingmanager", "demo-jp-marketing-pass", "Yui", "Suzuki", "Marketing manager"),
)
SMB_TEAM = ("rep", "rep2", "salesmanager", "marketingmanager")


@dataclass(frozen=True)
class DemoSegments:
    japan: Any
    smb: Any
    japan_agreement: Any
    created: bool


def demo_segments_ensure(*, now: datetime, signed_at: datetime) -> DemoSegments:
    """Enterprise Japan (country Japan and 500+ employees; the Japanese calendar; its own team) and SMB global (the
    default segment: everyone else, the existing team). Idempotent: a second run finds them."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from sla.content import calendar_set, threshold_set
    from sla.forms import CALENDAR_PRESETS
    from sla.models import AgreementVersion, Segment, Side
    from sla.services import agreement_change, agreement_draft_create, agreement_propose, agreement_sign

    User = get_user_model()
    smb = Segment.objects.default() or Segment.objects.create(
        name="SMB global", is_default=True, position=1000
    )
    if smb.name != "SMB global":
        smb.name, smb.description = (
            "SMB global",
            "Every lead no other segment takes: small and mid-size, worldwide.",
        )
        smb.save(update_fields=["name", "description"])
    smb.members.add(*User.objects.filter(username__in=SMB_TEAM))
    japan, created = Segment.objects.get_or_create(
        name="Enterprise Japan",
        defaults={
            "position": 10,
            "description": "Companies in Japan with 500 or more employees.",
            "conditions": [
                {"field": "country", "op": "equals", "value": "Japan"},
                {"field": "employees", "op": "gte", "value": 500},
            ],
        },
    )
    team = {}
    for username, password, first, last, role in JAPAN_TEAM:
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name, user.email = first, last, f"{username}@example.com"
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        team[role] = user
    japan.members.add(*team.values())
    version = AgreementVersion.objects.active_for(japan)
    if version is None:
        marketing, sales = team["Marketing manager"], team["Sales manager"]
        draft = agreement_draft_create(
            user=marketing, now=signed_at, segment=japan, title="Enterprise Japan",
            summary="Japanese business calendar and holidays; a higher bar for big accounts.",
        )  # fmt: skip
        agreement_change(
            version_id=draft.pk, user=marketing, now=signed_at,
            change=lambda content: threshold_set(calendar_set(content, CALENDAR_PRESETS["jp"]), 60),
        )  # fmt: skip
        agreement_propose(version_id=draft.pk, user=marketing, now=signed_at)
        agreement_sign(version_id=draft.pk, user=marketing, now=signed_at, side=Side.MARKETING)
        agreement_sign(version_id=draft.pk, user=sales, now=signed_at, side=Side.SALES)
        version = AgreementVersion.objects.get(pk=draft.pk)
    return DemoSegments(japan=japan, smb=smb, japan_agreement=version, created=created)
