"""Demo work happening now: fresh hand-overs each demo rep owns, hot leads waiting, a few recent breaches.

The generated history (leads/demo.py) ends in the past; without this the first login shows an empty "My day"
and a queue of months-old leads. Everything here goes through the real services (upsert, activity, scoring,
claim, breach scan), so the clocks and breaches are exactly what the product would have made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leads.queue import lead_claim, sla_breaches_scan
from leads.scoring import leads_rescore
from leads.services import ActivityData, LeadData, activities_record, lead_upsert

# (first name, last name, company, employees, job title, minutes since the demo request)
FRESH = [
    ("Hanako", "Sato", "Kite Systems", 40, "Head of Sales", 6),
    ("Omar", "Haddad", "Lumen Labs", 120, "VP Marketing", 25),
    ("Greta", "Lind", "Nordfjord Group", 300, "COO", 50),
    ("Tomas", "Reyes", "Solano Inc", 60, "Founder", 90),
    ("Priya", "Nair", "Indigo plc", 800, "Director of Operations", 140),
    ("Lukas", "Brandt", "Falke GmbH", 35, "Head of Growth", 200),
]
WAITING = [("Mei", "Chen", "Harbor Ltd", 25, "CEO", 3), ("Ravi", "Kumar", "Banyan Labs", 70, "CTO", 12)]
LATE = [("Nora", "Quinn", "Quill Group", 90, "Sales Director", 60 * 26), ("Felix", "Berg", "Berg Systems", 55,
        "Head of Revenue", 60 * 30)]  # fmt: skip


@dataclass(frozen=True)
class RecentWork:
    claimed: int
    waiting: int
    breaches: int


def _hand_over(person: tuple[str, str, str, int, str, int], *, now: datetime) -> int:
    first, last, company, employees, title, minutes = person
    at = now - timedelta(minutes=minutes)
    email = f"{first}.{last}@{company.split()[0].lower()}.example".lower()
    lead, _ = lead_upsert(
        data=LeadData(email=email, fields={"first_name": first, "last_name": last, "company": company,
                                           "employees": employees, "job_title": title, "source": "Website"}),
        now=at,
    )  # fmt: skip
    activities_record(lead=lead, activities=[ActivityData(type="demo_request", occurred_at=at, properties={})],
                      now=at)  # fmt: skip
    leads_rescore(lead_ids=[lead.pk], now=at)
    return lead.pk


def demo_recent_work(*, reps: list[Any], now: datetime) -> RecentWork:
    """Fresh demo requests claimed by every rep (first rep first), two hot leads waiting, two recent breaches."""
    claimed = 0
    for index, person in enumerate(FRESH):
        lead_id = _hand_over(person, now=now)
        rep = reps[index % len(reps)]
        lead_claim(lead_id=lead_id, rep=rep, now=now - timedelta(minutes=max(person[5] - 2, 1)))
        claimed += 1
    for person in WAITING:
        _hand_over(person, now=now)
    for index, person in enumerate(LATE):
        lead_id = _hand_over(person, now=now)
        lead_claim(lead_id=lead_id, rep=reps[index % len(reps)], now=now - timedelta(minutes=person[5] - 10))
    scan = sla_breaches_scan(now=now)
    return RecentWork(claimed=claimed, waiting=len(WAITING), breaches=len(scan.breaches))
