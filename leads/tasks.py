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
    if settings.NOTIFY_WEBHOOK_URL:
        body = json.dumps({"text": f"{text} {url}".strip(), "lead_id": lead.pk}).encode()
        request = urllib.request.Request(
            settings.NOTIFY_WEBHOOK_URL,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
    return text


def _recipients(lead) -> list[str]:
    if lead.owner and lead.owner.email:
        return [lead.owner.email]
    User = get_user_model()
    users = User.objects.filter(is_active=True, groups__name__in=[Role.REP.value, Role.SALES_MANAGER.value])
    return sorted({email for email in users.values_list("email", flat=True) if email})
