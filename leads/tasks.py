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
from leads import services
from leads.models import Lead, SlaBreach
from leads.queue import sla_breaches_scan

log = logging.getLogger(__name__)


@shared_task
def rescore_job_run(job_id: int) -> int:
    return services.rescore_job_run(job_id=job_id, now_func=timezone.now).done


@shared_task
def leads_rescore_aged() -> int:
    return services.leads_rescore_aged(now=timezone.now())


@shared_task(autoretry_for=(urllib.error.URLError, TimeoutError), retry_backoff=True, max_retries=5)
def notify_hot_lead(lead_id: int) -> str:
    """Tell sales at once: e-mail to the owner (or every rep and sales manager) and the outbound webhook."""
    lead = Lead.objects.filter(pk=lead_id).select_related("owner").first()
    if lead is None:
        return "gone"
    reasons = "; ".join(hit.reason for hit in lead.evaluation.triggers) or f"score {lead.score}"
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
def notify_breaches(breach_ids: list[int], notify_manager: bool = True) -> int:
    """Deadlines were missed: one e-mail per person (each owner; the sales managers if the terms say so)
    listing what they need to know, and one webhook message per breach (a digest when there are many)."""
    breaches = list(SlaBreach.objects.filter(pk__in=breach_ids).select_related("lead", "owner", "new_owner"))
    if not breaches:
        return 0
    managers: set[str] = set()
    if notify_manager:
        User = get_user_model()
        users = User.objects.filter(is_active=True, groups__name=Role.SALES_MANAGER.value)
        managers = {email for email in users.values_list("email", flat=True) if email}
    lines_for: dict[str, list[str]] = {}
    texts = []
    for breach in breaches:
        text = _breach_text(breach)
        texts.append(text)
        recipients = set(managers)
        if breach.owner and breach.owner.email:
            recipients.add(breach.owner.email)
        for email in recipients:
            lines_for.setdefault(email, []).append(text)
    for email, lines in sorted(lines_for.items()):
        subject = lines[0].split(" http", 1)[0] if len(lines) == 1 else f"{len(lines)} SLA breaches"
        send_mail(subject, "\n".join(lines), None, [email], fail_silently=False)
    if len(texts) <= 5:
        for breach, text in zip(breaches, texts, strict=True):
            _post_webhook({"text": text, "lead_id": breach.lead_id, "breach_id": breach.pk})
    else:
        _post_webhook(
            {"text": f"{len(texts)} SLA breaches:\n" + "\n".join(texts[:20]), "breach_ids": breach_ids}
        )
    return len(breaches)


def _breach_text(breach) -> str:
    lead = breach.lead
    text = f"SLA breach: {breach.get_clock_display().lower()} deadline missed by {breach.late_minutes} min on {lead}."
    if breach.action != "none":
        text += f" {breach.get_action_display()}"
        text += f" to {breach.new_owner.get_username()}." if breach.new_owner else "."
    url = f"{settings.SITE_URL.rstrip('/')}{lead.get_absolute_url()}" if settings.SITE_URL else ""
    return f"{text} {url}".strip()


@shared_task
def sla_breach_scan() -> int:
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


# Celery discovers `tasks` modules only; the import task lives beside the import code.
from leads.intake.import_tasks import import_run_task  # noqa: E402, F401
