"""Change control records: policies per environment, change requests with their risk, approvals bound to
what was reviewed, maintenance windows, notification channels and deliveries.

The run itself stays an ``ops.Run`` (its status says awaiting approval,
scheduled, rejected or missed); a ``ChangeRequest`` sits beside it with what
was approved. Business rules live in ``services.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from portal.ops.models import Run, Target

ENVIRONMENTS = Target.Environment


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class BackupScope(models.TextChoices):
    NONE = "none", "None"
    SCHEMA = "schema", "Schema only"
    TOUCHED = "touched", "Tables the plan touches"
    FULL = "full", "Full database"


class Policy(models.Model):
    """What a run on a target of one environment needs before it may start."""

    class ApprovalFrom(models.TextChoices):
        NEVER = "never", "No run needs approval"
        LOW = "low", "Every run (low risk and above)"
        MODERATE = "moderate", "Moderate risk and above"
        HIGH = "high", "High and critical risk"
        CRITICAL = "critical", "Critical risk only"

    environment = models.CharField(
        max_length=20, choices=ENVIRONMENTS.choices, unique=True, help_text="The environment this policy governs."
    )
    approval_from = models.CharField(
        max_length=10, choices=ApprovalFrom.choices, default=ApprovalFrom.NEVER,
        help_text="From which risk level a run needs approval.",
    )
    approvals_required = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Approvals needed when approval is needed.",
    )
    approvals_required_high = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Approvals needed for high or critical risk (at least the number above).",
    )
    approver_group = models.CharField(
        max_length=150, default="approver", help_text="Only members of this group (or superusers) may approve."
    )
    requester_may_approve = models.BooleanField(
        default=False, help_text="Whether the person who asked for the run may approve it (four eyes: no)."
    )
    approval_valid_minutes = models.PositiveIntegerField(
        default=24 * 60, validators=[MinValueValidator(1)],
        help_text="How long an approval stays valid; an expired one no longer counts.",
    )
    allow_outside_window = models.BooleanField(
        default=True, help_text="Whether a run may start now or at a time outside any maintenance window."
    )
    rehearsal_required = models.BooleanField(
        default=False, help_text="An upgrade or downgrade needs a passing rehearsal of the same plan (SQL hash and "
                                 "scripts) on a scratch clone before it may be scheduled or start.",
    )
    rehearsal_max_age_hours = models.PositiveIntegerField(
        default=24, validators=[MinValueValidator(1)], help_text="How old a passing rehearsal may be to count.",
    )
    backup_scope = models.CharField(
        max_length=10, choices=BackupScope.choices, default=BackupScope.NONE,
        help_text="What pg_dump takes before the first step of an upgrade or downgrade; if it fails the run fails "
                  "before any step. Where it goes and how long it is kept is set per target.",
    )
    allow_open_drift = models.BooleanField(
        default=False, help_text="Let upgrades and downgrades start while a target's drift is open (not accepted).",
    )
    updated_at = models.DateTimeField(default=now, help_text="Last change.")

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["environment"]

    def __str__(self) -> str:
        return f"Policy for {self.get_environment_display()}"

    @classmethod
    def of(cls, environment: str) -> Policy:
        """The environment's policy, or an unsaved one needing nothing (reads the DB)."""
        return cls.objects.filter(environment=environment).first() or cls(
            environment=environment, allow_open_drift=environment != Target.Environment.PRODUCTION)


class MaintenanceWindow(models.Model):
    """When runs may start: recurring (cron-like start, duration, time zone) or one-off (start and end)."""

    class Kind(models.TextChoices):
        RECURRING = "recurring", "Recurring"
        ONE_OFF = "one_off", "One-off"

    name = models.CharField(max_length=100, help_text="e.g. 'Sunday night'.")
    target = models.ForeignKey(
        Target, null=True, blank=True, on_delete=models.CASCADE, related_name="windows",
        help_text="The target it applies to; empty with an environment for all its targets.",
    )
    environment = models.CharField(
        max_length=20, choices=ENVIRONMENTS.choices, blank=True,
        help_text="Every target of this environment (when no target is chosen).",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.RECURRING, help_text="Recurring or one-off.")
    cron = models.CharField(
        max_length=100, blank=True,
        help_text="Recurring: the start as cron 'minute hour day-of-month month day-of-week', e.g. '0 2 * * 0' "
                  "(Sunday 02:00).",
    )
    duration_minutes = models.PositiveIntegerField(
        default=120, validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)],
        help_text="Recurring: how long each window stays open.",
    )
    timezone = models.CharField(max_length=64, default="UTC", help_text="Recurring: time zone of the cron, e.g. Europe/Berlin.")
    starts_at = models.DateTimeField(null=True, blank=True, help_text="One-off: when it opens.")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="One-off: when it closes.")
    is_active = models.BooleanField(default=True, help_text="Inactive windows are ignored.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target__isnull=False) | ~Q(environment=""), name="window_target_or_environment"
            ),
        ]

    def __str__(self) -> str:
        where = self.target.name if self.target_id else self.get_environment_display()
        if self.kind == self.Kind.ONE_OFF:
            return f"{self.name} ({where}, one-off)"
        return f"{self.name} ({where}, '{self.cron}' for {self.duration_minutes} min {self.timezone})"


class ChangeRequest(models.Model):
    """A run under change control: its risk, what it needs, when it may start, and what was approved."""

    class StartMode(models.TextChoices):
        NOW = "now", "Now (once approved)"
        AT = "at", "At a time"
        WINDOW = "window", "At the next maintenance window"

    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="change", help_text="The run.")
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices, help_text="The plan's risk on the live target.")
    risk = models.JSONField(default=dict, help_text="PlanRisk.to_json(): steps, reasons, live table figures.")
    finding_groups = models.JSONField(default=list, help_text="Safety findings grouped by rule.")
    policy = models.JSONField(default=dict, help_text="The policy as it was when the run was requested.")
    approvals_required = models.PositiveSmallIntegerField(default=0, help_text="0: no approval needed.")
    start_mode = models.CharField(max_length=10, choices=StartMode.choices, default=StartMode.NOW, help_text="When to start.")
    start_at = models.DateTimeField(null=True, blank=True, help_text="Earliest start (time asked, or the window's opening).")
    window = models.ForeignKey(
        MaintenanceWindow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The window the run is bound to.",
    )
    window_end = models.DateTimeField(null=True, blank=True, help_text="The run never starts, nor goes on, past this.")
    sql_hash = models.CharField(max_length=64, help_text="sha256 of the SQL that was assessed and is approved.")
    from_heads = models.JSONField(default=list, help_text="The target's live heads when planned.")
    project_fingerprint = models.CharField(max_length=100, help_text="The scripts' fingerprint when planned.")
    created_at = models.DateTimeField(default=now, help_text="When it was requested.")
    released_at = models.DateTimeField(null=True, blank=True, help_text="When it was handed to the queue.")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("approve_changerequest", "Can approve or reject runs awaiting approval")]
        indexes = [
            # Used by the beat task: held runs whose start time has come or whose window has passed.
            models.Index(fields=["start_at"], name="change_req_start_idx"),
        ]

    def __str__(self) -> str:
        return f"Change for run #{self.run_id} ({self.risk_level})"


class Approval(models.Model):
    """One person's decision on a change request, bound to the SQL, heads and scripts they reviewed."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="approvals", help_text="The change.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", help_text="Who decided.")
    decision = models.CharField(max_length=10, choices=Decision.choices, help_text="Approved or rejected.")
    comment = models.TextField(help_text="Why.")
    created_at = models.DateTimeField(default=now, help_text="When.")
    expires_at = models.DateTimeField(help_text="After this the approval no longer counts.")
    sql_hash = models.CharField(max_length=64, help_text="The SQL hash reviewed.")
    from_heads = models.JSONField(default=list, help_text="The live heads reviewed.")
    project_fingerprint = models.CharField(max_length=100, help_text="The scripts' fingerprint reviewed.")
    invalidated_at = models.DateTimeField(null=True, blank=True, help_text="When it stopped counting.")
    invalidated_reason = models.TextField(blank=True, help_text="What changed.")

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # One live decision per person and request: approving twice is refused by the database too.
            models.UniqueConstraint(fields=["request", "user"], condition=Q(invalidated_at__isnull=True),
                                    name="approval_once_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.decision} run #{self.request.run_id}"


class NotificationChannel(models.Model):
    """Where an environment's run events go: a signed webhook, a Slack-compatible webhook, or e-mail."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook (JSON, HMAC-SHA256 signed)"
        SLACK = "slack", "Slack-compatible webhook"
        EMAIL = "email", "E-mail"

    EVENTS = ("awaiting_approval", "approved", "rejected", "scheduled", "started", "lock_retry", "succeeded",
              "failed", "missed", "invalidated")

    name = models.CharField(max_length=100, help_text="e.g. 'DBA on-call'.")
    environment = models.CharField(max_length=20, choices=ENVIRONMENTS.choices, help_text="Runs of this environment.")
    kind = models.CharField(max_length=10, choices=Kind.choices, help_text="How it is sent.")
    url = models.URLField(max_length=500, blank=True, help_text="Webhook URL (webhook and Slack kinds).")
    secret_encrypted = models.TextField(blank=True, editable=False, help_text="Fernet token of the signing secret.")
    emails = models.CharField(max_length=500, blank=True, help_text="E-mail recipients, comma separated.")
    events = models.JSONField(default=list, blank=True, help_text="Events to send; empty means all.")
    is_active = models.BooleanField(default=True, help_text="Inactive channels send nothing.")

    class Meta:
        ordering = ["environment", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.get_environment_display()})"

    def wants(self, event: str) -> bool:
        return self.is_active and (not self.events or event in self.events)


class Notification(models.Model):
    """One delivery of one event to one channel; failures stay visible in the admin."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="deliveries", help_text="Where.")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+", help_text="The run it is about.")
    event = models.CharField(max_length=30, help_text="What happened.")
    payload = models.JSONField(default=dict, help_text="The JSON body sent.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, help_text="Where it stands.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Delivery attempts so far.")
    last_error = models.TextField(blank=True, help_text="The last delivery error.")
    created_at = models.DateTimeField(default=now, help_text="When the event happened.")
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When it was delivered.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event} of run #{self.run_id} to {self.channel.name} ({self.status})"
