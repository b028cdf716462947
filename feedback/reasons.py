"""The reason lists a fresh site starts with; managers add, rename and retire reasons afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction

if TYPE_CHECKING:
    from feedback.models import Reason

DEFAULT_REASONS = {
    "rejection": [
        ("not_a_fit", "Not a fit", False), ("too_early", "Too early / not ready", False),
        ("bad_data", "Bad or fake data", False), ("student", "Student or job seeker", False),
        ("competitor", "Competitor", False), ("existing_customer", "Existing customer", False),
        ("duplicate", "Duplicate", False), ("other", "Other", True),
    ],
    "loss": [
        ("price", "Price", False), ("competitor", "Chose a competitor", False), ("no_decision", "No decision", False),
        ("timing", "Timing", False), ("no_budget", "No budget", False), ("other", "Other", True),
    ],
    "disqualification": [
        ("no_need", "No need", False), ("no_authority", "No authority", False), ("no_budget", "No budget", False),
        ("other", "Other", True),
    ],
}  # fmt: skip


def ensure_default_reasons() -> None:
    """Create any default reason that is missing (idempotent; never touches reasons managers changed)."""
    from feedback.models import Reason

    for kind, reasons in DEFAULT_REASONS.items():
        for order, (code, label, needs_comment) in enumerate(reasons):
            Reason.objects.get_or_create(
                kind=kind,
                code=code,
                defaults={"label": label, "needs_comment": needs_comment, "order": order},
            )


# --- managers keep the lists in the product (not the admin) ------------------------------------------------


def reason_add(*, kind: str, label: str, needs_comment: bool, user: object, now: datetime) -> Reason:
    """Add a reason at the end of its list; its code is made from the label and kept unique within the kind."""
    from django.db.models import Max
    from django.utils.text import slugify

    from alignment.audit import audit_record
    from feedback.models import Reason

    with transaction.atomic():
        base = slugify(label).replace("-", "_")[:34] or "reason"
        code, n = base, 1
        while Reason.objects.filter(kind=kind, code=code).exists():
            n += 1
            code = f"{base}_{n}"
        last = Reason.objects.filter(kind=kind).aggregate(m=Max("order"))["m"]
        reason = Reason(kind=kind, code=code, label=label.strip(), needs_comment=needs_comment,
                        order=(last or 0) + 1)  # fmt: skip
        reason.full_clean()
        reason.save()
        audit_record(actor=user, action="feedback.reason_added", target=reason, reason=reason.label, at=now)
    return reason


def reason_update(
    *, reason_id: int, label: str, needs_comment: bool, is_active: bool, user: object, now: datetime
) -> Reason:
    """Rename, ask for a comment or not, retire or bring back; records that used the reason keep it."""
    from alignment.audit import audit_record
    from feedback.models import Reason

    with transaction.atomic():
        reason = Reason.objects.select_for_update().get(pk=reason_id)
        before = {"label": reason.label, "needs_comment": reason.needs_comment, "is_active": reason.is_active}
        reason.label, reason.needs_comment, reason.is_active = label.strip(), needs_comment, is_active
        reason.full_clean()
        reason.save(update_fields=["label", "needs_comment", "is_active"])
        after = {"label": reason.label, "needs_comment": reason.needs_comment, "is_active": reason.is_active}
        changes = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
        if changes:
            audit_record(actor=user, action="feedback.reason_changed", target=reason, changes=changes, at=now)
    return reason
