from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from alignment.names import full_name
from alignment.reversing import reverse_pk
from leads.lifecycle import rules as life
from sla.criteria import Evaluation
from sla.models import Segment


class State(models.TextChoices):
    """The stored form of leads.lifecycle.rules.State (same values and labels; a test keeps them equal)."""

    NEW = "new", _("New")
    MQL = "mql", _("MQL")
    SAL = "sal", _("Accepted (SAL)")
    SQL = "sql", _("SQL")
    RECYCLED = "recycled", _("Recycled to marketing")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    DISQUALIFIED = "disqualified", _("Disqualified")


CLOSED_STATES = tuple(state for state in State if state in life.CLOSED)
# States in which scoring may (re)qualify a lead as an MQL (leads.lifecycle.rules.QUALIFIABLE).
QUALIFIABLE_STATES = tuple(state for state in State if state in life.QUALIFIABLE)


class Tier(models.TextChoices):
    HOT = "hot", _("Hot")
    WARM = "warm", _("Warm")
    NONE = "", "—"


# A lead late by more than this no longer crowds the rep's queue: it is the manager's to sort out (Overdue tab).
LONG_LATE = timedelta(days=1)
HANDED_OVER_STATES = tuple(state for state in State if state in life.WITH_SALES)


class LeadQuerySet(models.QuerySet["Lead"]):
    def open(self) -> LeadQuerySet:
        return self.exclude(state__in=CLOSED_STATES)

    def in_queue(self) -> LeadQuerySet:
        """Leads handed to sales and still open: the shared queue."""
        return self.filter(state__in=HANDED_OVER_STATES)

    def by_priority(self) -> LeadQuerySet:
        """What matters now: hot leads first, then the nearest SLA deadline, then the score."""
        # Queued leads are always hot or warm, and "hot" sorts before "warm": the queue index serves this order.
        return self.order_by("tier", models.F("sla_due_at").asc(nulls_last=True), "-score", "pk")

    def by_urgency(self, *, now: datetime) -> LeadQuerySet:
        """What a rep can still save first: clocks not yet run out (hot first, nearest deadline), then late ones."""
        late = models.Case(models.When(sla_due_at__lt=now, then=models.Value(1)), default=models.Value(0))
        return self.alias(late=late).order_by(
            "late", "tier", models.F("sla_due_at").asc(nulls_last=True), "-score", "pk"
        )

    def savable(self, *, now: datetime) -> LeadQuerySet:
        """Without the long-breached: late by more than LONG_LATE, they go to the Overdue tab and the manager."""
        return self.exclude(sla_due_at__lt=now - LONG_LATE)

    def overdue(self, *, now: datetime) -> LeadQuerySet:
        return self.filter(sla_due_at__lt=now)

    def due_for_rescore(self, *, now: datetime) -> LeadQuerySet:
        return self.filter(rescore_at__lte=now).exclude(state__in=CLOSED_STATES)

    def in_segments(self, segments: Iterable[Any]) -> LeadQuerySet:
        """Leads of these segments (sla.Segment; the default one also holds leads not yet placed)."""
        owned = Q(pk__in=[])
        for segment in segments:
            owned |= segment.owns()
        return self.filter(owned)

    def in_segment_of(self, version: Any) -> LeadQuerySet:
        """The leads an agreement version scores: its segment's (all leads when there are no segments)."""
        segment = version.segment
        if segment is None:
            segment = Segment.objects.default()
        return self.in_segments([segment]) if segment is not None else self

    def with_email(self, email: str) -> LeadQuerySet:
        return self.filter(email=normalise_email(email))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


class Lead(models.Model):
    """A person at a company, with the agreement's current judgement of them stored so reads never recompute."""

    # Identity and attributes (the facts fit rules and gates look at)
    email = models.EmailField(max_length=254, blank=True, db_index=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    seniority = models.CharField(max_length=50, blank=True)
    department = models.CharField(max_length=100, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    country = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=100, blank=True, help_text=_("Source or channel"))
    campaign = models.CharField(max_length=200, blank=True)  # indexed in Meta: equality only, no LIKE twin
    attributes = models.JSONField(default=dict, blank=True, help_text=_("Custom attributes"))
    attribute_seen_at = models.JSONField(
        default=dict,
        db_default=models.Value({}, output_field=models.JSONField()),  # rows written by COPY or bare SQL too
        blank=True,
        help_text=_("When each field and custom attribute first got a value (name → ISO time)"),
    )

    # The agreement's judgement, stored
    # indexed by (state, id) in Meta, which serves every lookup by state: every extra index on a lead is written
    # again by each rescore and ingest (the updates are never HOT: updated_at is indexed)
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW)
    tier = models.CharField(max_length=8, choices=Tier.choices, default=Tier.NONE, blank=True)
    score = models.IntegerField(default=0)
    fit_score = models.IntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    breakdown = models.JSONField(
        default=dict, blank=True, help_text=_("The evaluation: rules, evidence, gates, triggers")
    )
    scored_with = (
        models.ForeignKey(  # not indexed: nothing looks leads up by it, and an activation rewrites it
            "sla.AgreementVersion",
            null=True,
            blank=True,
            on_delete=models.PROTECT,
            related_name="+",
            db_index=False,
        )
    )
    scored_at = models.DateTimeField(null=True, blank=True)
    rescore_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When ageing next changes the score")
    )
    last_activity_at = models.DateTimeField(null=True, blank=True)
    mql_at = models.DateTimeField(null=True, blank=True, db_index=True)
    handoff_reason = models.CharField(max_length=500, blank=True, help_text=_("Why it became an MQL"))
    segment = models.ForeignKey(
        "sla.Segment", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text=_("The segment whose agreement scores it (empty: the default segment)"),
    )  # fmt: skip

    # Hand-over to sales and its SLA clocks (business time, from the active agreement's terms)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        db_index=False,  # leads_owner_sort_idx (owner, id) serves it
    )
    claim_due_at = models.DateTimeField(null=True, blank=True)
    first_contact_due_at = models.DateTimeField(null=True, blank=True)
    accept_due_at = models.DateTimeField(null=True, blank=True)
    outcome_due_at = models.DateTimeField(null=True, blank=True)
    # When each clock stopped: its event happened
    claimed_at = models.DateTimeField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True, help_text=_("Accepted or rejected"))
    outcome_at = models.DateTimeField(null=True, blank=True)
    # The recurring status-update clock (runs once accepted; every contact logged restarts it)
    status_update_due_at = models.DateTimeField(null=True, blank=True)
    # Waiting on the customer since (clocks stop; resuming shifts every deadline by the wait)
    paused_at = models.DateTimeField(null=True, blank=True)
    sla_clock = models.CharField(max_length=16, blank=True, help_text=_("The running clock due soonest"))
    sla_due_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Its deadline (the queue sorts on it)")
    )
    next_sla_check_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Earliest deadline of a running clock not yet flagged as breached")
    )

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = LeadQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email"], condition=~Q(email=""), name="leads_unique_email"),
        ]
        indexes = [
            models.Index(
                fields=["rescore_at"], condition=Q(rescore_at__isnull=False), name="leads_rescore_idx"
            ),
            models.Index(
                fields=["tier", "sla_due_at", "-score", "id"],
                condition=Q(state__in=["mql", "sal", "sql"]),
                name="leads_queue_order_idx",
            ),  # fmt: skip
            models.Index(
                fields=["next_sla_check_at"],
                condition=Q(next_sla_check_at__isnull=False),
                name="leads_sla_check_idx",
            ),
            # One index per sort a page offers (queue headers, the Overdue tab, all leads, /api/leads/), each ending
            # in the id so a keyset page (alignment.paging) starts where the last one stopped. Sorting by owner
            # (a name in another table) reads one owner at a time by (owner, id).
            models.Index(
                fields=["sla_due_at", "id"],
                condition=Q(state__in=["mql", "sal", "sql"]),
                name="leads_queue_due_idx",
            ),  # fmt: skip
            models.Index(fields=["last_name", "first_name", "email", "id"], name="leads_name_sort_idx"),
            models.Index(fields=["company", "id"], name="leads_company_sort_idx"),
            models.Index(fields=["state", "id"], name="leads_state_sort_idx"),
            models.Index(fields=["campaign"], name="leads_campaign_idx"),
            models.Index(fields=["tier", "id"], name="leads_tier_sort_idx"),
            models.Index(fields=["score", "id"], name="leads_score_sort_idx"),
            models.Index(fields=["source", "id"], name="leads_source_sort_idx"),
            models.Index(fields=["created_at", "id"], name="leads_created_sort_idx"),
            models.Index(fields=["updated_at", "id"], name="leads_updated_sort_idx"),
            models.Index(fields=["owner", "id"], name="leads_owner_sort_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Lead {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse_pk("leads:detail", self.pk)

    @property
    def name(self) -> str:
        """First and last name in the active locale's order (family name first in Japanese)."""
        return full_name(self.first_name, self.last_name)

    @property
    def evaluation(self) -> Evaluation:
        """The stored breakdown, typed (rules, evidence, gates, triggers); read this, not `breakdown[...]`."""
        return Evaluation.from_dict(self.breakdown)


class IdentityKind(models.TextChoices):
    USER_ID = "user_id", _("User id")
    ANONYMOUS_ID = "anonymous_id", _("Anonymous id")
    EXTERNAL = "external", _("External id")


class LeadIdentity(models.Model):
    """Ids other systems know a lead by: Segment userId/anonymousId, a CRM's record id (e.g. Prospect ID)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    value = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="leads_unique_identity")]
        verbose_name_plural = "lead identities"

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


class Activity(models.Model):
    """Something a lead did, when. On PostgreSQL the table is partitioned by month of `occurred_at`
    (leads/partitions.py), so its primary key there is (id, occurred_at): `id` stays unique (one sequence) and
    is what Django uses. `message_id` is kept for reading; what makes delivery idempotent (a retried event is
    stored once, whatever its month) is its ActivityReceipt (leads/activity_store.py)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    type = models.CharField(max_length=60)
    properties = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    source = models.CharField(max_length=60, blank=True, help_text=_("api, csv, demo, ..."))
    # None: no message id (as stored since the start); not unique here: see ActivityReceipt
    message_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001

    class Meta:
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="leads_activity_lead_idx")]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def detail(self) -> str:
        """The one property that says what this was: the page path, the asset, the event's name."""
        props = self.properties or {}
        for key in ("path", "url", "asset", "title", "name"):
            if props.get(key):
                return str(props[key])
        return ""


class ActivityReceipt(models.Model):
    """An event's messageId, stored once: written in the same transaction as its activity, so a retried or
    concurrent delivery finds it (or waits on it) and stores nothing. Its own table because the partitioned
    activity table cannot hold a unique constraint without the month in it."""

    message_id = models.CharField(max_length=200, primary_key=True)
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.message_id


class ActivityMonthDropped(models.Model):
    """A month of activity aged out by the retention setting (ACTIVITY_RETENTION_MONTHS): what went, when."""

    month = models.DateField(help_text=_("First day of the month (UTC) whose activities were dropped"))
    rows = models.BigIntegerField()
    dropped_at = models.DateTimeField()

    class Meta:
        ordering = ["-dropped_at", "-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.rows} dropped {self.dropped_at:%Y-%m-%d}"


class LeadEvent(models.Model):
    """Every change of a lead's state, tier or owner: who or what, when, from, to, why. The review reads these."""

    class Kind(models.TextChoices):
        STATE = "state", _("State")
        TIER = "tier", _("Tier")
        OWNER = "owner", _("Owner")
        MERGE = "merge", _("Merged")
        SEGMENT = "segment", _("Segment")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_value = models.CharField(max_length=100, blank=True)
    to_value = models.CharField(max_length=100, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["lead", "at"], name="leads_event_lead_idx"),
            models.Index(fields=["kind", "to_value", "at"], name="leads_event_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.from_value or '—'} → {self.to_value} ({self.at:%Y-%m-%d %H:%M})"


class HandOverQuerySet(models.QuerySet["HandOver"]):
    def open(self) -> HandOverQuerySet:
        return self.filter(ended_at__isnull=True)


class HandOver(models.Model):
    """One hand-over of a lead to sales (it became an MQL) and what sales received: the agreement version, score,
    tier, breakdown, reason and deadlines at that moment. Written by scoring in its own transaction; ended when
    the lead leaves sales (rejected, won, lost, disqualified) or a merge supersedes it. A lead has one open
    hand-over at most, open exactly while it is with sales. `feedback.Cycle` keys its record of what sales did
    to it (one cycle per hand-over)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="hand_overs")
    number = models.PositiveSmallIntegerField(help_text=_("1 for the lead's first hand-over, then 2, ..."))
    at = models.DateTimeField(db_index=True)
    agreement = models.ForeignKey(
        "sla.AgreementVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tier = models.CharField(max_length=8, blank=True)
    score = models.IntegerField(default=0)
    fit_score = models.IntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    breakdown = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    claim_due_at = models.DateTimeField(null=True, blank=True)
    first_contact_due_at = models.DateTimeField(null=True, blank=True)
    accept_due_at = models.DateTimeField(null=True, blank=True)
    outcome_due_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, help_text=_("When the lead left sales"))

    objects = HandOverQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "number"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "number"], name="leads_handover_number"),
            models.UniqueConstraint(
                fields=["lead"], condition=Q(ended_at__isnull=True), name="leads_one_open_handover"
            ),
        ]

    def __str__(self) -> str:
        return f"Hand-over {self.number} of lead {self.lead_id}"

    @property
    def evaluation(self) -> Evaluation:
        """The breakdown as sales received it, typed (the same shape as `Lead.evaluation`)."""
        return Evaluation.from_dict(self.breakdown)


class WriteKey(models.Model):
    """A key event sources send with each call (Segment's write key). Only its hash is stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text=_("First characters, to recognise the key"))
    key_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text="Web sites whose pages may send events with this key from the browser (CORS), e.g. "
        '["https://www.acme.example"]. Empty: server-side sources only.',
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def allows_origin(self, origin: str) -> bool:
        return origin.rstrip("/").lower() in {o.rstrip("/").lower() for o in self.allowed_origins or []}


class ApiToken(models.Model):
    """A personal token for the read API (`Authorization: Bearer <token>`). Only its hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) for {self.user}"


class RescoreJob(models.Model):
    """A background rescoring run (after an agreement activates), with its progress for the UI."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    agreement = models.ForeignKey(
        "sla.AgreementVersion",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="The version an activation rescores; blank for a segment change (leads.segments.job)",
    )
    segment = models.ForeignKey(
        "sla.Segment",
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        help_text="The segment whose change (conditions, precedence) started a segment-change run",
    )
    pending = models.JSONField(
        default=list, blank=True, help_text="A segment change: the lead ids still to move, in id order"
    )
    moved = models.PositiveIntegerField(default=0, help_text=_("Leads that changed segment"))
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0, help_text=_("Leads whose state or tier changed"))
    error = models.TextField(blank=True)
    cursor = models.PositiveBigIntegerField(
        default=0, help_text="The last lead id rescored (leads.jobs resumes after it)"
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker holding it (leads.jobs)"
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs started, resumed ones included")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(  # one segment change moves leads at a time: a second Apply joins it
                fields=["reason"],
                condition=models.Q(agreement__isnull=True, status__in=["queued", "running"]),
                name="one_running_segment_change",
            )
        ]

    def __str__(self) -> str:
        if self.is_segment_change:
            return f"Segment change: {self.done}/{self.total} ({self.status})"
        return f"Rescore for v{self.agreement_id}: {self.done}/{self.total} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, int(100 * self.done / self.total))

    @property
    def is_segment_change(self) -> bool:
        return self.agreement_id is None


class ImportJob(models.Model):
    """One CSV file imported into leads: its mapping, progress, counts and every rejected row's reasons."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    filename = models.CharField(max_length=255)
    data = models.BinaryField(help_text=_("The uploaded file, kept so any worker can read it"))
    mapping = models.JSONField(
        default=dict, blank=True, help_text=_("CSV column → lead field or custom attribute")
    )
    preset = models.CharField(max_length=20, blank=True, help_text=_("hubspot, salesforce, auto, ..."))
    encoding = models.CharField(
        max_length=20,
        blank=True,
        help_text=_("The codec the file is read with; blank: detected on each read"),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text=_("[{row, column, value, message}]"))
    failure = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker holding it (leads.jobs)"
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs started, resumed ones included")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("leads:import_detail", args=[self.pk])

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else int(100 * self.processed_rows / self.total_rows)


class Clock(models.TextChoices):
    CLAIM = "claim", _("Claim")
    FIRST_CONTACT = "first_contact", _("First contact")
    ACCEPT = "accept", _("Accept or reject")
    OUTCOME = "outcome", _("Outcome")
    STATUS_UPDATE = "status_update", _("Status update")


class SlaBreach(models.Model):
    """A deadline missed: which clock, by how much, whose it was, and what was done. Recorded exactly once."""

    class Action(models.TextChoices):
        NONE = "none", _("Notified")
        RETURNED = "return_to_queue", _("Returned to the shared queue")
        REASSIGNED = "reassign", _("Reassigned")

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="breaches")
    clock = models.CharField(max_length=16, choices=Clock.choices)
    deadline = models.DateTimeField()
    detected_at = models.DateTimeField()
    late_seconds = models.PositiveIntegerField(help_text=_("How late the scan found it"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.NONE)
    new_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The escalation ladder (the agreement's terms.escalation): steps fired so far, when the next one is due
    steps_fired = models.PositiveSmallIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "clock", "deadline"], name="leads_breach_once"),
        ]
        indexes = [
            models.Index(fields=["detected_at"], name="leads_breach_detected_idx"),
            models.Index(
                fields=["next_step_at"], condition=Q(next_step_at__isnull=False), name="leads_breach_step_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_clock_display()} breach on lead {self.lead_id}"

    @property
    def late_minutes(self) -> int:
        return self.late_seconds // 60


class SlaWarning(models.Model):
    """A deadline about to be missed, announced once (the owner is warned `warn_before_minutes` ahead)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="sla_warnings")
    clock = models.CharField(max_length=16, choices=Clock.choices)
    deadline = models.DateTimeField()
    warned_at = models.DateTimeField()

    class Meta:
        ordering = ["-warned_at"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "clock", "deadline"], name="leads_warning_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_clock_display()} warning on lead {self.lead_id}"


class RepProfile(models.Model):
    """What round-robin assignment needs to know of a rep: away or not, how many open leads at most."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep_profile"
    )
    is_away = models.BooleanField(default=False)
    capacity = models.PositiveIntegerField(default=50, help_text=_("Open leads a rep can hold at once"))
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    # Routing: a planned absence, working hours (in the site's time zone; blank: any time), round-robin weight
    away_from = models.DateTimeField(null=True, blank=True)
    away_until = models.DateTimeField(null=True, blank=True)
    works_from = models.TimeField(null=True, blank=True)
    works_until = models.TimeField(null=True, blank=True)
    weight = models.PositiveSmallIntegerField(
        default=1, help_text="Round-robin share: a rep of weight 2 gets twice the leads of weight 1"
    )
    assigned_count = models.PositiveIntegerField(default=0, help_text="Leads given by round-robin so far")

    def __str__(self) -> str:
        return f"{self.user} ({'away' if self.is_away else 'available'}, cap {self.capacity})"


class ImportedLead(models.Model):
    """A lead an import created or updated: the import's result links to its leads, and a lead to its imports."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="lead_links")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="import_links")
    created = models.BooleanField(
        help_text="True: the import created the lead; False: it updated a known one"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "lead"], name="leads_imported_lead_once")]

    def __str__(self) -> str:
        return f"{self.job_id} {'created' if self.created else 'updated'} {self.lead_id}"


class DataProblemQuerySet(models.QuerySet["DataProblem"]):
    def recent(self) -> DataProblemQuerySet:
        return self.select_related("lead").order_by("-created_at", "-pk")


class DataProblem(models.Model):
    """A value set aside on the way in (an e-mail "n/a", employees "unknown", a NUL byte, an epoch timestamp).

    The rest of its message or row was kept; this row tells the marketer what was dropped and where, so the
    sending form or integration can be fixed. `lead` is empty when the whole message could not be used.
    """

    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="data_problems"
    )
    source = models.CharField(max_length=60, help_text="api, csv, ...")
    message_id = models.CharField(max_length=200, blank=True)
    field = models.CharField(
        max_length=300, blank=True, help_text="Where the value was: batch[3].traits.email"
    )
    problem = models.CharField(max_length=500)
    value = models.CharField(max_length=200, blank=True, help_text="A printable excerpt of the value")
    created_at = models.DateTimeField(db_index=True)

    objects = DataProblemQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["lead", "-created_at"], name="leads_dataproblem_lead_idx")]

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class ScoringDemand(models.Model):
    """A lead whose facts changed and who waits for the agreement's judgement (leads/scoring/demands.py).

    Written in the transaction that stores the facts (an event batch, an import chunk), at most one row per
    lead; a scoring worker takes rows (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL), scores their leads and
    deletes the rows in one transaction, so a worker that dies leaves its rows for the next one. `hot`: an
    event of the batch may fire a trigger, so the lead is scored first."""

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="+", primary_key=True)
    hot = models.BooleanField(default=False)
    since = models.DateTimeField(help_text="when the lead first waited (the oldest unscored change)")
    reason = models.CharField(max_length=20, default="activity", help_text="activity, import, ...")

    class Meta:
        indexes = [models.Index(fields=["-hot", "since"], name="leads_demand_order_idx")]

    def __str__(self) -> str:
        return f"lead {self.lead_id}{' (hot)' if self.hot else ''} since {self.since:%H:%M:%S}"


class ScoringState(models.Model):
    """What incremental scoring keeps of a lead's activity (leads/scoring/state.py): the activities that decide
    every later evaluation (`sla.criteria.retain`) and how many older matching ones each rule left out, as of
    the lead's last scoring (`at`) with agreement version `version_id`. The next scoring reads only the
    activities stored since (`id` above `after_id`) instead of the whole history."""

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="+", primary_key=True)
    version_id = models.BigIntegerField(help_text="the agreement version the state was kept for")
    since = models.DateTimeField(null=True, help_text="activity counted from (a recycled lead's decision)")
    at = models.DateTimeField(help_text="the instant of the scoring that kept it")
    after_id = models.BigIntegerField(help_text="the last activity id read")
    latest_at = models.DateTimeField(null=True, help_text="the latest activity kept")
    facts = models.JSONField(default=list, help_text="kept activities: [id, type, epoch µs, properties]")
    left_out = models.JSONField(default=dict, help_text="rule id → matching activities left out")

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {len(self.facts)} activities kept at {self.at:%Y-%m-%d %H:%M}"
