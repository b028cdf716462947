"""The bell and the in-app notifications page: each person sees and marks only their own notifications."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from alignment.models import Notification
from alignment.roles import ALL_ROLES, role_required


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


@role_required(ALL_ROLES)
@require_GET
def bell(request: HttpRequest) -> HttpResponse:
    """The nav's bell with the unread count; htmx loads it after the page and refreshes it every minute."""
    return render(request, "notifications/_bell.html", {"unread": unread_count(request.user)})


@role_required(ALL_ROLES)
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = Notification.objects.filter(user=request.user)
    page = Paginator(notifications, 50).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page, "unread": unread_count(request.user)})


@role_required(ALL_ROLES)
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one read and go where it points (only within this site)."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    target = notification.url
    if request.POST.get("stay") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return redirect("notifications")
    return redirect(target)


@role_required(ALL_ROLES)
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    Notification.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return redirect("notifications")
