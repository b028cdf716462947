from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sla.criteria import Evaluation


class Reason(models.Model):
    """A reason from the lists the managers keep: why a lead was rejected, why a deal was lost."""

    class Kind(models.TextChoices):
        REJECTION = "rejection", _("Rejection")
        LOSS = "loss", _("Loss")
        DISQUALIFICATION = "disqualification", _("Disqualification")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    needs_comment = models.BooleanField(default=False, help_text=_("Ask for a comment (e.g. “other”)"))
    is_active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["kind", "order", "label"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="feedback_reason_unique")]

    def __str__(self) -> str:
        return self.display_label

    @property
    def display_label(self) -> str:
        """The label in the reader's language: a default reason's English label is in the catalogue
        (feedback.reasons.DEFAULT_REASONS); a label a manager typed reads as typed."""
        return gettext(self.label) if self.label else self.label


class Facts:
    """The bits of `Cycle.facts`: what the review counts about a hand-over, kept by the database itself on every
    write (a stored generated column), so a month's figures are counts grouped by one small integer."""

    ACCEPTED = 1
    SQL = 2
    CLOSED = 4
    WON = 8
    REJECTED = 16
    LOST = 32
    DISQUALIFIED = 64
    CLAIM_DUE = 128  # the claim clock ran
    CLAIM_OK = 256  # claimed by the deadline
    CONTACT_DUE = 512
    CONTACT_OK = 1024
    DECISION_DUE = 2048
    DECISION_OK = 4096  # accepted or rejected by the deadline
    OUTCOME_DUE = 8192  # the outcome clock ran and sales did not reject the lead
    OUTCOME_OK = 16384  # closed by the deadline (not rejected)


def _bit(condition: Q, value: int) -> models.Case:
    return models.Case(models.When(condition, then=models.Value(value)), default=models.Value(0))


_NOT_REJECTED = ~Q(outcome="rejected")
CYCLE_FACTS = (
    _bit(Q(accepted_at__isnull=False), Facts.ACCEPTED)
    + _bit(Q(sql_at__isnull=False), Facts.SQL)
    + _bit(Q(closed_at__isnull=False), Facts.CLOSED)
    + models.Case(
        models.When(outcome="won", then=models.Value(Facts.WON)),
        models.When(outcome="rejected", then=models.Value(Facts.REJECTED)),
        models.When(outcome="lost", then=models.Value(Facts.LOST)),
        models.When(outcome="disqualified", then=models.Value(Facts.DISQUALIFIED)),
        default=models.Value(0),
    )
    + _bit(Q(claim_due_at__isnull=False), Facts.CLAIM_DUE)
    + _bit(Q(claimed_at__lte=models.F("claim_due_at")), Facts.CLAIM_OK)
    + _bit(Q(first_contact_due_at__isnull=False), Facts.CONTACT_DUE)
    + _bit(Q(first_contact_at__lte=models.F("first_contact_due_at")), Facts.CONTACT_OK)
    + _bit(Q(accept_due_at__isnull=False), Facts.DECISION_DUE)
    + _bit(
        Q(accepted_at__lte=models.F("accept_due_at")) | Q(rejected_at__lte=models.F("accept_due_at")),
        Facts.DECISION_OK,
    )
    + _bit(Q(outcome_due_at__isnull=False) & _NOT_REJECTED, Facts.OUTCOME_DUE)
    + _bit(Q(closed_at__lte=models.F("outcome_due_at")) & _NOT_REJECTED, Facts.OUTCOME_OK)
)


class CycleQuerySet(models.QuerySet["Cycle"]):
    def open(self) -> CycleQuerySet:
        return self.filter(closed_at__isnull=True)


class Cycle(models.Model):
    """What came of one hand-over of a lead to sales (`leads.HandOver`, which leads owns and writes): one cycle per
    hand-over, with the same number. The score, breakdown and agreement version at hand-off are copied here from
    it, so the review compares what sales received with the result it gave."""

    class Outcome(models.TextChoices):
        OPEN = "", _("Open")
        REJECTED = "rejected", _("Rejected")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")
        DISQUALIFIED = "disqualified", _("Disqualified")

    hand_over = models.OneToOneField("leads.HandOver", on_delete=models.CASCADE, related_name="cycle")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="cycles")
    number = models.PositiveSmallIntegerField()
    # frozen at hand-off
    handed_over_at = models.DateTimeField(db_index=True)
    agreement = models.ForeignKey(
        "sla.AgreementVersion", null=True, on_delete=models.PROTECT, related_name="+"
    )
    tier = models.CharField(max_length=8)
    score = models.IntegerField()
    fit_score = models.IntegerField()
    engagement_score = models.IntegerField()
    breakdown = models.JSONField(default=dict)
    reason = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    claim_due_at = models.DateTimeField(null=True, blank=True)
    first_contact_due_at = models.DateTimeField(null=True, blank=True)
    accept_due_at = models.DateTimeField(null=True, blank=True)
    outcome_due_at = models.DateTimeField(null=True, blank=True)
    # what sales did
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    first_contact_minutes = models.FloatField(
        null=True, blank=True, help_text=_("Business minutes from hand-off to first contact")
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.ForeignKey(
        Reason, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejection_comment = models.TextField(blank=True)
    qualification = models.JSONField(default=dict, blank=True, help_text=_("{item key: {met, note}}"))
    sql_at = models.DateTimeField(null=True, blank=True)
    opportunity_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    expected_close = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.OPEN, blank=True)
    outcome_reason = models.ForeignKey(
        Reason, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_comment = models.TextField(blank=True)
    won_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # precomputed for the monthly review (see `Facts`): written by the database whenever the row changes
    facts = models.GeneratedField(expression=CYCLE_FACTS, output_field=models.IntegerField(), db_persist=True)

    objects = CycleQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "number"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "number"], name="feedback_cycle_number"),
            models.UniqueConstraint(
                fields=["lead"], condition=Q(closed_at__isnull=True), name="feedback_one_open_cycle"
            ),
        ]
        indexes = [
            models.Index(fields=["outcome", "closed_at"], name="feedback_cycle_outcome_idx"),
            # a month of the review read from the index alone (PostgreSQL; elsewhere a plain index)
            models.Index(
                fields=["handed_over_at"],
                include=["score", "facts", "source", "campaign", "owner", "agreement"],
                name="feedback_cycle_month_facts",
            ),
        ]

    def __str__(self) -> str:
        return f"Cycle {self.number} of lead {self.lead_id}"

    @property
    def evaluation(self) -> Evaluation:
        """The breakdown frozen at hand-off, typed (the same shape as `Lead.evaluation`)."""
        return Evaluation.from_dict(self.breakdown)


class ContactAttempt(models.Model):
    class Channel(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("E-mail")
        MEETING = "meeting", _("Meeting")
        SOCIAL = "social", _("Social")

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="contacts")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="contacts")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    connected = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} by {self.rep} at {self.at:%Y-%m-%d %H:%M}"


class CycleRule(models.Model):
    """A rule or trigger that had fired when the lead was handed over: the review's lifts group by these."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="rules")
    rule_id = models.CharField(max_length=40)
    kind = models.CharField(max_length=12, help_text=_("fit, engagement, inactivity or trigger"))
    name = models.CharField(max_length=120)
    points = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "rule_id"], name="feedback_cycle_rule_once")]
        indexes = [models.Index(fields=["rule_id"], name="feedback_cyclerule_rule_idx")]

    def __str__(self) -> str:
        return f"{self.name} on cycle {self.cycle_id}"


class Decision(models.Model):
    """What the monthly review meeting decided: an action item with an owner, or an accepted suggestion whose
    change goes into the next draft agreement."""

    month = models.DateField(help_text=_("First day of the reviewed month"))
    segment = models.ForeignKey(
        "sla.Segment", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text=_("The segment whose review decided it (empty: the review of all leads)"),
    )  # fmt: skip
    text = models.CharField(max_length=500)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due = models.DateField(null=True, blank=True)
    change = models.JSONField(
        null=True, blank=True, help_text=_("The agreement change an accepted suggestion makes")
    )
    evidence = models.TextField(blank=True)
    suggestion_key = models.CharField(max_length=200, blank=True, help_text=_("The suggestion it accepted"))
    done = models.BooleanField(default=False)
    applied_to = models.ForeignKey(
        "sla.AgreementVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["month", "created_at", "pk"]

    def __str__(self) -> str:
        return self.text


class Snapshot(models.Model):
    """A month's figures frozen as they were shown, so the record never drifts: one per (month, segment); a
    snapshot with no segment is the review of all leads (every snapshot frozen before segments is one)."""

    month = models.DateField()
    segment = models.ForeignKey(
        "sla.Segment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    data = models.JSONField()
    frozen_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    frozen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month"], condition=Q(segment__isnull=True), name="feedback_snapshot_month_all"
            ),
            models.UniqueConstraint(
                fields=["month", "segment"],
                condition=Q(segment__isnull=False),
                name="feedback_snapshot_month_segment",
            ),
        ]

    def __str__(self) -> str:
        return f"Review {self.month:%Y-%m} (frozen)"


class OpportunityImport(models.Model):
    """A CRM opportunity export read into the leads' known results: who imported what, and what it matched."""

    filename = models.CharField(max_length=255)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)
    leads = models.PositiveIntegerField(default=0, help_text=_("Leads given a result"))
    won = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    still_open = models.PositiveIntegerField(default=0, help_text=_("Rows of opportunities not closed yet"))
    unmatched = models.PositiveIntegerField(default=0, help_text=_("Rows naming no known lead"))
    problems = models.JSONField(
        default=list, blank=True, help_text=_("The first rows that could not be used")
    )

    class Meta:
        ordering = ["-imported_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.imported_at:%Y-%m-%d %H:%M})"
