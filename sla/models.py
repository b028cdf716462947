from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


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


class AgreementQuerySet(models.QuerySet["AgreementVersion"]):
    def active(self) -> AgreementVersion | None:
        return self.filter(status=Status.ACTIVE).first()

    def open_drafts(self) -> AgreementQuerySet:
        return self.filter(status__in=[Status.DRAFT, Status.PROPOSED])

    def with_people(self) -> AgreementQuerySet:
        return self.select_related("created_by", "based_on")


class AgreementVersion(models.Model):
    """One version of the agreement. Its `content` (see docs/agreement-content.md) is what both managers sign."""

    number = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text=_("What this version changes, and why."))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    content = models.JSONField()
    content_hash = models.CharField(max_length=64, help_text=_("SHA-256 of the canonical content."))
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
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
                fields=["status"], condition=Q(status="active"), name="sla_one_active_version"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.number} · {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("sla:version", args=[self.pk])

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


class Comment(models.Model):
    version = models.ForeignKey(AgreementVersion, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on v{self.version.number}"
