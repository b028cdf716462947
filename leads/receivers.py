from django.dispatch import receiver
from django.utils import timezone

from sla.models import AgreementVersion
from sla.signals import agreement_activated


@receiver(agreement_activated, sender=AgreementVersion, dispatch_uid="leads.rescore_on_activation")
def rescore_on_activation(sender, version: AgreementVersion, previous=None, **kwargs) -> None:
    from leads.services import rescore_job_start

    rescore_job_start(version=version, reason=f"v{version.number} activated", now=timezone.now())
