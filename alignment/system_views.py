"""Administrators' screens for what leaves the building: failing deliveries (with retry) and outbound webhooks
(subscriptions, their delivery log, a test message)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alignment import outbox, webhooks
from alignment.models import OutboxMessage, WebhookSubscription
from alignment.roles import Role, role_required

Status = OutboxMessage.Status


@role_required(Role.ADMIN)
@require_GET
def deliveries(request: HttpRequest) -> HttpResponse:
    """Messages that keep failing (given up, or pending after at least one failed try), newest first."""
    failing = OutboxMessage.objects.filter(Q(status=Status.FAILED) | Q(status=Status.PENDING, attempts__gt=0))
    page = Paginator(failing.order_by("-created_at", "-pk"), 50).get_page(request.GET.get("page"))
    totals = dict(
        OutboxMessage.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return render(request, "system/deliveries.html", {"page": page, "totals": totals})


@role_required(Role.ADMIN)
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(OutboxMessage, pk=pk)
    outbox.message_retry(message_id=message.pk, now=timezone.now())
    messages.success(request, _("%(key)s will be sent again now.") % {"key": message.key})
    return redirect("deliveries")


class SubscriptionForm(forms.Form):
    url = forms.URLField(label=_l("Endpoint URL"), max_length=500, assume_scheme="https")
    description = forms.CharField(label=_l("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        choices=[
            (name, format_lazy("{} — {}", name, text))
            for name, text in webhooks.EVENT_TYPES.items()
            if name != "webhook.test"
        ],
        widget=forms.CheckboxSelectMultiple,
        label=_l("Event types"),
    )


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        subscription = webhooks.subscription_create(**form.cleaned_data, now=timezone.now())
        messages.success(
            request, "Endpoint added. Give its secret to the receiver so it can verify signatures."
        )
        return redirect("webhook_detail", pk=subscription.pk)
    subscriptions = WebhookSubscription.objects.all()
    status = 422 if request.method == "POST" else 200
    return render(
        request, "system/webhooks.html", {"form": form, "subscriptions": subscriptions}, status=status
    )


@role_required(Role.ADMIN)
@require_GET
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    log = (
        OutboxMessage.objects.filter(channel=OutboxMessage.Channel.WEBHOOK, recipient=str(subscription.pk))
        .prefetch_related("tries")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(log, 25).get_page(request.GET.get("page"))
    return render(request, "system/webhook_detail.html", {"subscription": subscription, "page": page})


@role_required(Role.ADMIN)
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    webhooks.webhook_send_test(subscription=subscription, now=timezone.now())
    messages.success(request, _("A webhook.test message was sent; its result is in the log below."))
    return redirect("webhook_detail", pk=subscription.pk)


@role_required(Role.ADMIN)
@require_POST
def webhook_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    subscription.is_active = not subscription.is_active
    subscription.save(update_fields=["is_active"])
    messages.success(request, _("Endpoint resumed.") if subscription.is_active else _("Endpoint paused."))
    return redirect("webhook_detail", pk=subscription.pk)
