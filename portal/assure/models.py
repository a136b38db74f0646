"""Records of rehearsals, backups and drift checks, and the settings that are truly per target.

What a run needs first (a passing rehearsal and how old, the backup scope,
whether open drift blocks it) is the environment's change-control ``Policy``
(``portal.change``); ``TargetAssurance`` keeps where the scratch databases
go, where backups go and how long they stay, the drift schedule, and the
target's drift state.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from portal.change.models import BackupScope  # the policy's choices, also a backup's scope
from portal.ops.models import Run, Target


class DriftState(models.TextChoices):
    UNKNOWN = "unknown", "Not checked"
    CLEAN = "clean", "Clean"
    DRIFT = "drift", "Drift"
    ERROR = "error", "Check failed"


class TargetAssurance(models.Model):
    """Per target: its rehearsal server, backup place and retention, drift schedule; and its drift state now."""

    target = models.OneToOneField(Target, on_delete=models.CASCADE, related_name="assurance",
                                  help_text="The target these settings belong to.")
    rehearsal_server = models.ForeignKey(
        Target, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where scratch databases are made (its role needs CREATEDB). Empty: the first active development "
                  "target of the same project. A production target is never used.")
    backup_dir = models.CharField(max_length=500, blank=True,
                                  help_text="Directory for backups on the workers; empty: <MOP_VAR_DIR>/backups/<target>.")
    backup_keep_count = models.PositiveIntegerField(default=10, help_text="Backups kept per target (newest).")
    backup_keep_days = models.PositiveIntegerField(default=30, help_text="Backups older than this are deleted.")
    drift_check_minutes = models.PositiveIntegerField(
        default=0, help_text="Check drift every N minutes (a periodic task in the admin); 0: on demand only.")
    drift_behind_days = models.PositiveIntegerField(
        default=14, help_text="Revision drift when a pending revision is older than this many days.")
    drift_state = models.CharField(max_length=10, choices=DriftState.choices, default=DriftState.UNKNOWN,
                                   help_text="The latest check's verdict.")
    drift_since = models.DateTimeField(null=True, blank=True, help_text="When the open drift appeared.")
    last_check = models.ForeignKey("DriftCheck", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   help_text="The latest drift check.")

    class Meta:
        verbose_name = "target assurance settings"
        verbose_name_plural = "target assurance settings"

    def __str__(self) -> str:
        return f"{self.target.name}: drift {self.drift_state}"


class ExpectedSchema(models.Model):
    """The schema a project's revisions build from empty, cached by scripts fingerprint and heads."""

    project_fingerprint = models.CharField(max_length=100, help_text="git:<commit> or sha256:<hash> of the scripts.")
    heads = models.CharField(max_length=500, help_text="Comma-separated sorted heads replayed to.")
    snapshot = models.JSONField(help_text="SchemaSnapshot.to_json().")
    created_at = models.DateTimeField(default=now, help_text="When it was replayed.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project_fingerprint", "heads"], name="expected_schema_key")]

    def __str__(self) -> str:
        return f"{self.project_fingerprint[:20]} @ {self.heads or 'base'}"


class SchemaBaseline(models.Model):
    """A live schema a DBA accepted as what the target should have at these heads."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="schema_baselines",
                               help_text="The target whose schema was accepted.")
    heads = models.CharField(max_length=500, help_text="Comma-separated sorted heads it was accepted at.")
    snapshot = models.JSONField(help_text="SchemaSnapshot.to_json() of the live schema accepted.")
    accepted_by = models.CharField(max_length=150, help_text="Who accepted it.")
    accepted_at = models.DateTimeField(default=now, help_text="When.")
    comment = models.TextField(help_text="Why the drift is acceptable (required).")
    drift_check = models.ForeignKey("DriftCheck", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              help_text="The check whose drift was accepted.")

    class Meta:
        ordering = ["-accepted_at"]
        permissions = [("accept_baseline", "Can accept a target's schema as its baseline")]

    def __str__(self) -> str:
        return f"Baseline of {self.target.name} at {self.heads or 'base'} by {self.accepted_by}"


class DriftCheck(models.Model):
    """One drift check: revision findings, schema differences, where the expected schema came from."""

    class Source(models.TextChoices):
        REPLAY = "replay", "Replayed revisions"
        CACHE = "cache", "Replayed revisions (cached)"
        BASELINE = "baseline", "Accepted baseline"
        NONE = "none", "No expected schema"

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="drift_checks",
                               help_text="The target checked.")
    checked_at = models.DateTimeField(default=now, help_text="When it ran.")
    actor = models.CharField(max_length=150, help_text="Who asked: a username or schedule:<name>.")
    heads = models.JSONField(default=list, help_text="The target's version table.")
    state = models.CharField(max_length=10, choices=DriftState.choices, help_text="Clean, drift or check failed.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.NONE,
                              help_text="Where the expected schema came from.")
    revision_findings = models.JSONField(default=list, blank=True, help_text="Revision drift findings.")
    schema_changes = models.JSONField(default=list, blank=True, help_text="Objects that differ (SchemaDiff).")
    live_snapshot = models.JSONField(default=dict, blank=True, help_text="The live schema (kept to accept it).")
    error = models.TextField(blank=True, help_text="Why the check could not finish.")
    seconds = models.FloatField(default=0, help_text="How long the check took.")

    class Meta:
        ordering = ["-checked_at"]
        permissions = [("run_drift_check", "Can run a drift check on demand")]
        indexes = [
            # Used by the target's drift history: its checks, newest first.
            models.Index(fields=["target", "-checked_at"], name="driftcheck_target_idx"),
        ]

    def __str__(self) -> str:
        return f"Drift check of {self.target.name} at {self.checked_at:%Y-%m-%d %H:%M} ({self.state})"


class DriftEvent(models.Model):
    """When drift appeared, disappeared or was accepted: the history a DBA reads."""

    class Kind(models.TextChoices):
        APPEARED = "appeared", "Drift appeared"
        CHANGED = "changed", "Drift changed"
        DISAPPEARED = "disappeared", "Drift disappeared"
        ACCEPTED = "accepted", "Accepted as baseline"

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="drift_events",
                               help_text="The target.")
    at = models.DateTimeField(default=now, help_text="When.")
    kind = models.CharField(max_length=12, choices=Kind.choices, help_text="What happened.")
    drift_check = models.ForeignKey(DriftCheck, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              help_text="The check that saw it.")
    summary = models.TextField(blank=True, help_text="The objects concerned, one per line.")
    actor = models.CharField(max_length=150, blank=True, help_text="Who (for an acceptance).")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.target.name}: {self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class Rehearsal(models.Model):
    """A plan rehearsed on a scratch clone, bound to the plan's SQL hash and scripts fingerprint."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Could not run"

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="rehearsals",
                               help_text="The target whose schema is cloned (read only).")
    server_name = models.CharField(max_length=100, blank=True, help_text="The rehearsal server (a target's name).")
    operation = models.CharField(max_length=20, help_text="upgrade or downgrade.")
    revision = models.CharField(max_length=200, help_text="The requested revision.")
    from_heads = models.JSONField(default=list, help_text="Where the plan starts.")
    to_heads = models.JSONField(default=list, help_text="Where it ends.")
    plan_steps = models.JSONField(default=list, help_text="The plan's steps.")
    sql_hash = models.CharField(max_length=64, help_text="sha256 of the plan's offline SQL.")
    project_fingerprint = models.CharField(max_length=100, help_text="The scripts it rehearsed.")
    with_data = models.PositiveIntegerField(default=0, help_text="Sample rows per table (0: schema only).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED,
                              help_text="Where it stands.")
    actor = models.CharField(max_length=150, help_text="Who asked.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", help_text="The person who asked.")
    report = models.JSONField(default=dict, blank=True, help_text="RehearsalReport.to_json().")
    progress = models.CharField(max_length=300, blank=True, help_text="What runs right now.")
    steps_done = models.PositiveIntegerField(default=0, help_text="Steps done over the three phases.")
    error = models.TextField(blank=True, help_text="Why it could not run.")
    created_at = models.DateTimeField(default=now, help_text="When it was asked for.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took it.")
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When it ended.")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("request_rehearsal", "Can rehearse a plan on a scratch clone")]
        indexes = [
            # Used by the production gate: a target's passing rehearsals of one plan, newest first.
            models.Index(fields=["target", "sql_hash", "-finished_at"], name="rehearsal_gate_idx"),
        ]

    def __str__(self) -> str:
        return f"Rehearsal #{self.pk} {self.operation} {self.revision} on {self.target.name} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def steps_total(self) -> int:
        return 3 * len(self.plan_steps)

    @property
    def percent(self) -> int:
        if not self.is_active:
            return 100
        return min(100, round(100 * self.steps_done / max(1, self.steps_total)))


class Backup(models.Model):
    """A pg_dump taken before a run (or on demand), with what a restore needs to trust it."""

    class Status(models.TextChoices):
        OK = "ok", "Taken"
        FAILED = "failed", "Failed"
        DELETED = "deleted", "Deleted (retention)"

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="backups", help_text="The target dumped.")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="backups",
                            help_text="The run it was taken before.")
    scope = models.CharField(max_length=10, choices=BackupScope.choices, help_text="What was dumped.")
    tables = models.JSONField(default=list, blank=True, help_text="Tables dumped (touched scope).")
    path = models.CharField(max_length=1000, blank=True, help_text="The dump file on the workers.")
    size = models.BigIntegerField(default=0, help_text="Bytes.")
    seconds = models.FloatField(default=0, help_text="How long pg_dump took.")
    sha256 = models.CharField(max_length=64, blank=True, help_text="sha256 of the file.")
    row_counts = models.JSONField(default=dict, blank=True, help_text="Rows per table in the dump's snapshot.")
    restore_command = models.TextField(blank=True, help_text="How to put it back (password from your .pgpass).")
    status = models.CharField(max_length=10, choices=Status.choices, help_text="Taken, failed or deleted.")
    error = models.TextField(blank=True, help_text="Why it failed.")
    created_at = models.DateTimeField(default=now, help_text="When it was taken.")
    restore_tested_at = models.DateTimeField(null=True, blank=True, help_text="Last restore test.")
    restore_test = models.JSONField(default=dict, blank=True, help_text="RestoreCheck.to_json() of the last test.")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("restore_test_backup", "Can run a restore test of a backup")]

    def __str__(self) -> str:
        return f"Backup #{self.pk} of {self.target.name} ({self.scope}, {self.status})"
