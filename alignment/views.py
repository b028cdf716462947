from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.http import require_GET

from alignment.models import WorkerHeartbeat
from alignment.roles import Role, role_required


@role_required(Role.ADMIN)
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """What an administrator checks first: database, broker and whether workers are alive."""
    now = timezone.now()
    heartbeats = list(WorkerHeartbeat.objects.order_by("-seen_at")[:20])
    broker = settings.CELERY_BROKER_URL
    context = {
        "database_vendor": connection.vendor,
        "database_name": settings.DATABASES["default"].get("NAME"),
        "broker": _redact(broker) if broker else "",
        "eager": settings.CELERY_TASK_ALWAYS_EAGER,
        "heartbeats": [(hb, now - hb.seen_at < timedelta(minutes=3)) for hb in heartbeats],
    }
    return render(request, "health.html", context)


def _redact(url: str) -> str:
    """Hide a password in a broker URL (redis://:secret@host → redis://:***@host)."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on their own: the site's icon (resolved per request, after collectstatic)."""
    return redirect(static("img/favicon.svg"), permanent=True)
