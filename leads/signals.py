from django.dispatch import Signal

# Sent inside the transaction that hands leads to sales (they became MQLs); kwargs: lead_ids, at.
# feedback/ listens to open a cycle per hand-over with the score frozen as sales received it.
leads_handed_over = Signal()

# Sent inside the transaction that gives a lead an owner (claim, assignment, round-robin); kwargs: lead_id,
# owner_id, at. feedback/ records the claim on the open cycle.
lead_owner_set = Signal()
