"""The shared queue: who works a lead (claim, release, assign, round-robin), its SLA clocks and breaches.

Public interface: the names below. `clocks` is pure Python (no ORM).
"""

from leads.queue.assignment import (
    available_reps,
    lead_assign,
    lead_assign_round_robin,
    lead_claim,
    lead_release,
)
from leads.queue.breaches import ScanResult, sla_breaches_scan

__all__ = [
    "ScanResult",
    "available_reps",
    "lead_assign",
    "lead_assign_round_robin",
    "lead_claim",
    "lead_release",
    "sla_breaches_scan",
]
