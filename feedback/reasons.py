"""The reason lists a fresh site starts with; managers add, rename and retire reasons afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext_noop

if TYPE_CHECKING:
    from feedback.models import Reason

# Labels are stored in English and shown through gettext (Reason.__str__): a default reason reads in the reader's
# language until a manager renames it.
DEFAULT_REASONS = {
    "rejection": [
        ("not_a_fit", gettext_noop("Not a fit"), False), ("too_early", gettext_noop("Too early / not ready"), False),
        ("bad_data", gettext_noop("Bad or fake data"), False), ("student", gettext_noop("Student or job seeker"), False),
        ("competitor", gettext_noop("Competitor"), False), ("existing_customer", gettext_noop("Existing customer"), False),
        ("duplicate", gettext_noop("Duplicate"), False), ("other", gettext_noop("Other"), True),
    ],
    "loss": [
        ("price", gettext_noop("Price"), False), ("competitor", gettext_noop("Chose a competitor"), False), ("no_decision", gettext_noop("No decision"), False),
        ("timing", gettext_noop("Timing"), False), ("no_budget", gettext_noop("No budget"), False), ("other", gettext_noop("Other"), True),
    ],
    "disqualification": [
        ("no_need", gettext_noop("No need"), False), ("no_authority", gettext_noop("No authority"), False), ("no_budget", gettext_noop("No budget"), False),
        ("other", gettext_noop("Other"), True),
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
