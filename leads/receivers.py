"""Connects signals to work: the agreement's activation starts a rescore; services' side effects become Celery
tasks enqueued after commit (a rolled-back transaction sends nothing); notifications and outbound webhooks are
written to the outbox inside the transaction (leads/notifications.py)."""

import logging

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from alignment.webhooks import webhook_emit
from leads import attribute_timing, notifications, services, tasks
from leads.intake import import_tasks
from leads.models import Lead
from leads.signals import (
    import_job_queued,
    lead_became_hot,
    lead_owner_set,
    lead_state_changed,
    leads_handed_over,
    rescore_job_queued,
    scoring_demanded,
    sla_breaches_found,
    sla_escalated,
    sla_warnings_found,
)
from sla.exceptions import InvalidContent
from sla.models import AgreementVersion
from sla.signals import agreement_activated, agreement_fields_checking

log = logging.getLogger(__name__)


@receiver(agreement_activated, sender=AgreementVersion, dispatch_uid="leads.rescore_on_activation")
def rescore_on_activation(sender, version: AgreementVersion, previous=None, **kwargs) -> None:
    services.rescore_job_start(version=version, reason=f"v{version.number} activated", now=timezone.now())


@receiver(agreement_activated, sender=AgreementVersion, dispatch_uid="leads.webhook_agreement_activated")
def webhook_agreement_activated(sender, version: AgreementVersion, previous=None, **kwargs) -> None:
    data = {"version": version.number, "previous": previous.number if previous else None}
    with transaction.atomic():
        webhook_emit(
            event_type="agreement.activated",
            ref=f"agreement.activated:{version.pk}",
            data=data,
            now=timezone.now(),
        )


@receiver(lead_became_hot, sender=Lead, dispatch_uid="leads.notify_hot_leads")
def notify_hot_leads(sender, lead_ids, at, **kwargs) -> None:
    """Written right after the scoring commits, in its own transaction: reading the audience and writing the
    messages (about ten queries) no longer holds the judged leads' locks, so a hot lead is in the queue sooner.
    The message keys name the lead and the instant, so a repeated announcement adds nothing."""
    ids = list(lead_ids)
    transaction.on_commit(lambda: _notify_hot(ids, at), robust=True)


def _notify_hot(lead_ids: list[int], at) -> None:
    with transaction.atomic():
        notifications.hot_leads_notify(lead_ids=lead_ids, at=at)


@receiver(sla_breaches_found, sender=Lead, dispatch_uid="leads.notify_breaches")
def notify_breaches(sender, breach_ids, notify_manager, **kwargs) -> None:
    notifications.breaches_notify(breach_ids=breach_ids, notify_manager=notify_manager, now=timezone.now())


@receiver(sla_warnings_found, sender=Lead, dispatch_uid="leads.notify_warnings")
def notify_warnings(sender, warnings, **kwargs) -> None:
    notifications.warnings_notify(warnings=warnings, now=kwargs.get("at") or timezone.now())


@receiver(sla_escalated, sender=Lead, dispatch_uid="leads.notify_escalation")
def notify_escalation(sender, steps, **kwargs) -> None:
    notifications.escalations_notify(steps=steps)


@receiver(lead_owner_set, sender=Lead, dispatch_uid="leads.notify_new_owner")
def notify_new_owner(sender, lead_id, owner_id, at, actor_id=None, **kwargs) -> None:
    notifications.owner_notify(lead_id=lead_id, owner_id=owner_id, actor_id=actor_id, at=at)


@receiver(leads_handed_over, sender=Lead, dispatch_uid="leads.webhook_mql")
def webhook_mql(sender, lead_ids, at, **kwargs) -> None:
    notifications.handed_over_emit(lead_ids=lead_ids, at=at)


@receiver(lead_state_changed, sender=Lead, dispatch_uid="leads.webhook_state")
def webhook_state(sender, lead_id, from_state, to_state, at, reason="", **kwargs) -> None:
    notifications.state_change_emit(
        lead_id=lead_id, from_state=from_state, to_state=to_state, reason=reason, at=at
    )


@receiver(rescore_job_queued, sender=Lead, dispatch_uid="leads.run_rescore_job")
def run_rescore_job(sender, job_id, **kwargs) -> None:
    tasks.rescore_job_run.delay_on_commit(job_id)


@receiver(import_job_queued, sender=Lead, dispatch_uid="leads.run_import_job")
def run_import_job(sender, job_id, **kwargs) -> None:
    import_tasks.import_run_task.delay_on_commit(job_id)


@receiver(scoring_demanded, sender=Lead, dispatch_uid="leads.run_scoring")
def run_scoring(sender, hot_ids, others, **kwargs) -> None:
    transaction.on_commit(lambda: _queue_scoring(list(hot_ids), others=others))


def _queue_scoring(hot_ids: list[int], *, others: bool) -> None:
    """Hot leads go to the `hot` queue (their run judges nothing else), the other leads to an ordinary run. A
    broker outage must not fail the request that stored the events: the demands are rows, and the sweeper
    (beat) queues their scoring once the broker is back."""
    try:
        if hot_ids:
            tasks.scoring_run.apply_async(kwargs={"hot_ids": hot_ids}, queue="hot")
        if others:
            tasks.scoring_run.delay()
    except Exception:
        log.warning("scoring: could not queue a run; the sweeper will")


@receiver(agreement_fields_checking)
def refuse_rules_on_attributes_written_after_hand_off(sender, fields: dict[str, str], **kwargs) -> None:
    """A draft's rule may not read an attribute most handed-over leads got only after their hand-off."""
    late = attribute_timing.late_attributes(fields)
    for name, path in fields.items():
        if name in late:
            message = late[name].refusal()
            raise InvalidContent(f"{path}: {message}", path=path)
