from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from sla.exceptions import SignedVersionImmutable
from sla.segments import SegmentError, conditions_from


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PROPOSED = "proposed", _("Proposed")
    ACTIVE = "active", _("Active")
    SUPERSEDED = "superseded", _("Superseded")
    WITHDRAWN = "withdrawn", _("Withdrawn")


LOCKED_STATUSES = frozenset({Status.ACTIVE, Status.SUPERSEDED, Status.WITHDRAWN})


class Side(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    SALES = "sales", _("Sales")


TEAM_PREFIX = "Segment: "  # a segment's team is the Django group of this name + the segment's name


class SegmentQuerySet(models.QuerySet["Segment"]):
    def default(self) -> Segment | None:
        return self.filter(is_default=True).first()

    def ensure_default(self) -> Segment:
        """The default segment (migration sla 0003 creates it; a flushed test database may have lost it)."""
        return self.default() or self.create(
            name="All leads", description="Every lead no other segment takes.", position=1000, is_default=True
        )


class Segment(models.Model):
    """A part of the funnel (a region, a company size, a product line) with its own agreement, team and queue.

    A lead belongs to the first segment, in `position` order, whose conditions all hold on its attributes; the
    default segment (exactly one) takes every lead no other segment takes. `sla.segments.place` decides.
    A version or lead whose segment is empty belongs to the default segment.
    """

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=100, help_text=_("Precedence: lower is tried first"))
    is_default = models.BooleanField(default=False)
    conditions = models.JSONField(
        default=list,
        blank=True,
        help_text=_('All must hold, e.g. [{"field": "country", "op": "equals", "value": "Japan"}]'),
    )
    team = models.OneToOneField(
        Group,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="segment",
        help_text=_("Its reps and managers: the members of this group (made with the segment)"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SegmentQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="sla_one_default_segment"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Its team is the Django group "Segment: <name>" (users join it in the admin or with `members.add`)."""
        if self.team_id is None:
            self.team = Group.objects.get_or_create(name=f"{TEAM_PREFIX}{self.name}")[0]
        elif self.team.name != f"{TEAM_PREFIX}{self.name}":
            self.team.name = f"{TEAM_PREFIX}{self.name}"
            self.team.save(update_fields=["name"])
        super().save(*args, **kwargs)

    @property
    def members(self) -> Any:
        """The segment's reps and managers (its team group's users): `segment.members.add(user)`."""
        return self.team.user_set

    def clean(self) -> None:
        try:
            conditions_from(self.conditions)
        except SegmentError as error:
            raise ValidationError({"conditions": str(error)}) from error

    def owns(self, prefix: str = "segment") -> Q:
        """Q for rows (leads, versions) of this segment: the default one also owns rows with no segment."""
        own = Q(**{f"{prefix}_id": self.pk})
        return own | Q(**{f"{prefix}__isnull": True}) if self.is_default else own


class AgreementQuerySet(models.QuerySet["AgreementVersion"]):
    def active(self) -> AgreementVersion | None:
        """The default segment's active version (the one agreement of an install with a single segment)."""
        return (
            self.filter(status=Status.ACTIVE)
            .filter(Q(segment__isnull=True) | Q(segment__is_default=True))
            .first()
        )

    def active_for(self, segment: Segment | None) -> AgreementVersion | None:
        if segment is None:
            return self.active()
        return self.filter(segment.owns(), status=Status.ACTIVE).first()

    def of_segment(self, segment: Segment | None) -> AgreementQuerySet:
        return self.filter(segment.owns()) if segment is not None else self

    def open_drafts(self) -> AgreementQuerySet:
        return self.filter(status__in=[Status.DRAFT, Status.PROPOSED])

    def with_people(self) -> AgreementQuerySet:
        return self.select_related("created_by", "based_on", "segment")


class AgreementVersion(models.Model):
    """One version of the agreement. Its `content` (see docs/agreement-content.md) is what both managers sign."""

    number = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text=_("What this version changes, and why."))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    content = models.JSONField()
    content_hash = models.CharField(max_length=64, help_text=_("SHA-256 of the canonical content."))
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="versions",
        help_text=_("The leads this agreement scores (empty: the default segment)"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    proposed_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active", segment__isnull=True),
                name="sla_one_active_version",
            ),
            models.UniqueConstraint(
                fields=["segment"], condition=Q(status="active"), name="sla_one_active_version_per_segment"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.number} · {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Refuse to change a signed version (the database triggers refuse it too, also to update() and raw SQL)."""
        if self.pk is not None:
            check_version_save(self, kwargs.get("update_fields"))
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("sla:version", args=[self.pk])

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        stored = AgreementVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
        check_delete(stored, "A version")
        return super().delete(*args, **kwargs)

    @property
    def is_editable(self) -> bool:
        return self.status in (Status.DRAFT, Status.PROPOSED)

    @property
    def mql(self) -> dict[str, Any]:
        return self.content.get("mql", {})

    @property
    def terms(self) -> dict[str, Any]:
        return self.content.get("terms", {})


class SignatureQuerySet(models.QuerySet["Signature"]):
    def valid(self) -> SignatureQuerySet:
        return self.filter(voided_at__isnull=True)


class Signature(models.Model):
    """A manager's signature on the exact content (hash) of a version. Voided, never deleted, when it changes."""

    version = models.ForeignKey(AgreementVersion, on_delete=models.CASCADE, related_name="signatures")
    side = models.CharField(max_length=10, choices=Side.choices)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "side"],
                condition=Q(voided_at__isnull=True),
                name="sla_one_signature_per_side",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_side_display()} signature on v{self.version.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A signature on a signed version never changes (nor is one added): it is what proves the agreement."""
        check_signature_save(self)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        status = AgreementVersion.objects.filter(pk=self.version_id).values_list("status", flat=True).first()
        check_delete(status, "A signature")
        return super().delete(*args, **kwargs)


class Comment(models.Model):
    version = models.ForeignKey(AgreementVersion, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on v{self.version.number}"


SIGNED_STATUSES = (Status.ACTIVE, Status.SUPERSEDED)  # signed by both sides: content and signatures are fixed


class SignedEditBypass(models.Model):
    """While a row exists here (inside one transaction), that transaction may edit signed versions.

    Only `sla.immutability.signed_edits_allowed()` writes it, for test fixtures and data repairs that must say so;
    the database triggers of migration 0002 refuse every other change to a signed version or its signatures.
    """

    reason = models.CharField(max_length=200)

    class Meta:
        db_table = "sla_signed_edit_bypass"

    def __str__(self) -> str:
        return self.reason


# --- the model guard of signed versions (the database triggers are in sla/immutability.py, migration 0002) -------

FIXED_FIELDS = ("number", "title", "summary", "content", "content_hash", "based_on_id", "created_at",
                "proposed_at", "activated_at")  # fmt: skip


def _bypassed() -> bool:
    return connection.in_atomic_block and SignedEditBypass.objects.exists()


def check_version_save(version: AgreementVersion, update_fields: Iterable[str] | None) -> None:
    stored = (
        AgreementVersion.objects.filter(pk=version.pk)
        .values(*FIXED_FIELDS, "status", "superseded_at")
        .first()
    )
    if stored is None or stored["status"] not in SIGNED_STATUSES or _bypassed():
        return
    names = set(update_fields) if update_fields is not None else None
    changed = [
        name
        for name in FIXED_FIELDS
        if (names is None or name in names or name.removesuffix("_id") in names)
        and getattr(version, name) != stored[name]
    ]
    moved = version.status != stored["status"] and not (
        stored["status"] == Status.ACTIVE and version.status == Status.SUPERSEDED
    )
    if stored["superseded_at"] is not None and version.superseded_at != stored["superseded_at"]:
        changed.append("superseded_at")
    if changed or moved:
        what = ", ".join(changed + (["status"] if moved else []))
        raise SignedVersionImmutable(
            f"Version {stored['number']} is signed ({stored['status']}): its {what} cannot change. "
            "Start a new draft instead."
        )


def check_signature_save(signature: Signature) -> None:
    status = AgreementVersion.objects.filter(pk=signature.version_id).values_list("status", flat=True).first()
    if status in SIGNED_STATUSES and not _bypassed():
        raise SignedVersionImmutable("The signatures of a signed version cannot be added to or changed.")


def check_delete(status: str | None, what: str) -> None:
    if status in SIGNED_STATUSES and not _bypassed():
        raise SignedVersionImmutable(f"{what} of a signed agreement version cannot be deleted.")
