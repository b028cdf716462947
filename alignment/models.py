from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _l


class AuditEntry(models.Model):
    """One change to one object: who, when, what, before/after, why. Written by services, never edited."""

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=150, blank=True, help_text="Who, also when not a user (a task)."
    )
    action = models.CharField(max_length=80)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "-at"], name="audit_object_idx")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker ran the heartbeat task; the health page shows it."""

    hostname = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


def _valid_time_zone(value: str) -> None:
    from zoneinfo import available_timezones

    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if value and value not in available_timezones():
        raise ValidationError(_("“%(zone)s” is not a known time zone (e.g. Asia/Tokyo).") % {"zone": value})


class UserPreference(models.Model):
    """A user's own language and display time zone; blank means "follow the browser / the site default"."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(
        _l("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_l("Blank: the browser's."),
    )
    time_zone = models.CharField(
        _l("display time zone"),
        max_length=64,
        blank=True,
        validators=[_valid_time_zone],
        help_text=_l("Times are shown in this zone, e.g. Asia/Tokyo. Blank: the site's zone."),
    )

    def __str__(self) -> str:
        return f"{self.user} · {self.language or '-'} · {self.time_zone or '-'}"


class OutboxMessage(models.Model):
    """One notification to one recipient on one channel, written in the transaction that caused it.

    `key` is unique and names the event, the channel and the recipient (`sla.breached:12:email:ann@x`), so a
    retried scan or a second delivery attempt can never produce a second message, and two channels or two
    recipients of one event never collide. Delivered after commit by alignment.tasks.outbox_deliver; whatever a
    lost broker or a dead worker left pending is picked up by the periodic sweeper.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        CHAT = "chat", "Chat webhook"
        INAPP = "inapp", "In-app"
        WEBHOOK = "webhook", "Outbound webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    key = models.CharField(max_length=255, unique=True)
    event = models.CharField(max_length=60, help_text="lead.hot, sla.breached, ...")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=255, help_text="An e-mail, a user id, a subscription id")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return self.key


class DeliveryAttempt(models.Model):
    """One try at delivering an outbox message: the delivery log the deliveries and webhooks pages show."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.message_id} @ {self.at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else 'failed'}"


class Notification(models.Model):
    """An in-app notification (the bell). `key` is the outbox message's key: delivering twice writes one row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    key = models.CharField(max_length=255, unique=True)
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return self.text[:60]


class WebhookSubscription(models.Model):
    """An endpoint that receives typed, signed events (Standard Webhooks: webhook-id/-timestamp/-signature)."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text="The event types sent to this endpoint")
    secret = models.CharField(max_length=100, help_text="whsec_… (base64); the receiver verifies with it")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.description or self.url
