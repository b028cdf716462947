from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone

from alignment.roles import Role

log = logging.getLogger(__name__)


@shared_task
def rescore_job_run(job_id: int) -> int:
    from leads.services import rescore_job_run as run

    return run(job_id=job_id, now_func=timezone.now).done


@shared_task
def leads_rescore_aged() -> int:
    from leads.services import leads_rescore_aged as rescore

    return rescore(now=timezone.now())


@shared_task(autoretry_for=(urllib.error.URLError, TimeoutError), retry_backoff=True, max_retries=5)
def notify_hot_lead(lead_id: int) -> str:
    """Tell sales at once: e-mail to the owner (or every rep and sales manager) and the outbound webhook."""
    from leads.models import Lead

    lead = Lead.objects.filter(pk=lead_id).select_related("owner").first()
    if lead is None:
        return "gone"
    reasons = "; ".join(hit["reason"] for hit in lead.breakdown.get("triggers", [])) or f"score {lead.score}"
    who = f"{lead} ({lead.company})" if lead.company else str(lead)
    text = f"Hot lead: {who} — {reasons}. Claim within the SLA."
    url = f"{settings.SITE_URL.rstrip('/')}{lead.get_absolute_url()}" if settings.SITE_URL else ""
    recipients = _recipients(lead)
    if recipients:
        send_mail(f"Hot lead: {who}", f"{text}\n{url}".strip(), None, recipients, fail_silently=False)
    _post_webhook({"text": f"{text} {url}".strip(), "lead_id": lead.pk})
    return text


def _recipients(lead) -> list[str]:
    if lead.owner and lead.owner.email:
        return [lead.owner.email]
    User = get_user_model()
    users = User.objects.filter(is_active=True, groups__name__in=[Role.REP.value, Role.SALES_MANAGER.value])
    return sorted({email for email in users.values_list("email", flat=True) if email})


@shared_task(autoretry_for=(urllib.error.URLError, TimeoutError), retry_backoff=True, max_retries=5)
def notify_breach(breach_id: int, notify_manager: bool = True) -> str:
    """A deadline was missed: tell the owner, and the sales managers if the terms say so (e-mail and webhook)."""
    from leads.models import SlaBreach

    breach = SlaBreach.objects.filter(pk=breach_id).select_related("lead", "owner", "new_owner").first()
    if breach is None:
        return "gone"
    lead = breach.lead
    late = breach.late_seconds // 60
    text = f"SLA breach: {breach.get_clock_display().lower()} deadline missed by {late} min on {lead}."
    if breach.action != SlaBreach.Action.NONE:
        text += f" {breach.get_action_display()}"
        text += f" to {breach.new_owner.get_username()}." if breach.new_owner else "."
    url = f"{settings.SITE_URL.rstrip('/')}{lead.get_absolute_url()}" if settings.SITE_URL else ""
    recipients = {breach.owner.email} if breach.owner and breach.owner.email else set()
    if notify_manager:
        User = get_user_model()
        managers = User.objects.filter(is_active=True, groups__name=Role.SALES_MANAGER.value)
        recipients |= {email for email in managers.values_list("email", flat=True) if email}
    if recipients:
        send_mail(
            f"SLA breach: {lead}", f"{text}\n{url}".strip(), None, sorted(recipients), fail_silently=False
        )
    _post_webhook({"text": f"{text} {url}".strip(), "lead_id": lead.pk, "breach_id": breach.pk})
    return text


@shared_task
def sla_breach_scan() -> int:
    from leads.queue import sla_breaches_scan

    return len(sla_breaches_scan(now=timezone.now()).breaches)


def _post_webhook(payload: dict) -> None:
    if not settings.NOTIFY_WEBHOOK_URL:
        return
    request = urllib.request.Request(
        settings.NOTIFY_WEBHOOK_URL,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()
