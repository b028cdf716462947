"""The audit trail every state-changing service writes to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from alignment.models import AuditEntry


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    changes: dict[str, tuple[Any, Any] | list[Any]] | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """Store who did `action` to `target`, the fields that changed ({field: (before, after)}) and why."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = user.get_username() if user else str(actor or "system")
    return AuditEntry.objects.create(
        at=at or timezone.now(),
        actor=user,
        actor_label=label[:150],
        action=action,
        content_type=ContentType.objects.get_for_model(target),
        object_id=str(target.pk),
        object_repr=str(target)[:200],
        changes={
            field: [_plain(before), _plain(after)] for field, (before, after) in (changes or {}).items()
        },
        reason=reason,
    )


def audit_for(target: models.Model) -> models.QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(target), object_id=str(target.pk)
    ).select_related("actor")


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    if isinstance(value, models.Model):
        return str(value)
    return str(value)
