from django.dispatch import Signal

# Sent inside the transaction that hands leads to sales (they became MQLs); kwargs: lead_ids, at.
# feedback/ listens to open a cycle per hand-over with the score frozen as sales received it.
leads_handed_over = Signal()
