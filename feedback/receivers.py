from django.dispatch import receiver

from leads.models import Lead
from leads.signals import leads_handed_over


@receiver(leads_handed_over, sender=Lead, dispatch_uid="feedback.open_cycles")
def open_cycles(sender, lead_ids, at, **kwargs) -> None:
    from feedback.services import cycles_open

    cycles_open(lead_ids=lead_ids, at=at)
