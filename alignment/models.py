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
