from django.dispatch import receiver

from leads.models import Lead
from leads.signals import lead_merging, lead_owner_set, leads_handed_over


@receiver(leads_handed_over, sender=Lead, dispatch_uid="feedback.open_cycles")
def open_cycles(sender, lead_ids, at, **kwargs) -> None:
    from feedback.services import cycles_open

    cycles_open(lead_ids=lead_ids, at=at)


@receiver(lead_owner_set, sender=Lead, dispatch_uid="feedback.cycle_claimed")
def record_claim(sender, lead_id, owner_id, at, **kwargs) -> None:
    from feedback.services import cycle_claimed

    cycle_claimed(lead_id=lead_id, owner_id=owner_id, at=at)


@receiver(lead_merging, sender=Lead, dispatch_uid="feedback.move_cycles")
def move_cycles(sender, keep_id, merge_id, at, **kwargs) -> None:
    from feedback.services import cycles_move

    cycles_move(keep_id=keep_id, merge_id=merge_id, at=at)
