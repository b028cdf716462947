"""A lead's life: `rules` (pure Python, no Django) says which states there are, what each action is allowed
from, and what it does to the SLA clocks and the owner; `services.lead_progress` applies a move to a stored lead.
Every service that changes a lead's state or clocks asks `rules` first; screens ask it what to offer.
"""
