"""The reason lists a fresh site starts with; managers add, rename and retire reasons afterwards."""

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
