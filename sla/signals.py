from django.dispatch import Signal

# Sent after commit when a version becomes active; kwargs: version, previous (or None).
# leads/ listens to rescore every open lead.
agreement_activated = Signal()
