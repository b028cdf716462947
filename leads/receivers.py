"""Connects signals to work: the agreement's activation starts a rescore; services' side effects become Celery
tasks enqueued after commit (a rolled-back transaction sends nothing)."""

from django.dispatch import receiver
from django.utils import timezone

from leads import services, tasks
from leads.intake import import_tasks
from leads.models import Lead
from leads.signals import import_job_queued, lead_became_hot, rescore_job_queued, sla_breaches_found
from sla.models import AgreementVersion
from sla.signals import agreement_activated


@receiver(agreement_activated, sender=AgreementVersion, dispatch_uid="leads.rescore_on_activation")
def rescore_on_activation(sender, version: AgreementVersion, previous=None, **kwargs) -> None:
    services.rescore_job_start(version=version, reason=f"v{version.number} activated", now=timezone.now())


@receiver(lead_became_hot, sender=Lead, dispatch_uid="leads.notify_hot_leads")
def notify_hot_leads(sender, lead_ids, **kwargs) -> None:
    for lead_id in lead_ids:
        tasks.notify_hot_lead.delay_on_commit(lead_id)


@receiver(sla_breaches_found, sender=Lead, dispatch_uid="leads.notify_breaches")
def notify_breaches(sender, breach_ids, notify_manager, **kwargs) -> None:
    tasks.notify_breaches.delay_on_commit(list(breach_ids), notify_manager)


@receiver(rescore_job_queued, sender=Lead, dispatch_uid="leads.run_rescore_job")
def run_rescore_job(sender, job_id, **kwargs) -> None:
    tasks.rescore_job_run.delay_on_commit(job_id)


@receiver(import_job_queued, sender=Lead, dispatch_uid="leads.run_import_job")
def run_import_job(sender, job_id, **kwargs) -> None:
    import_tasks.import_run_task.delay_on_commit(job_id)
