"""Health snapshots of targets, thresholds per environment, the events they raise, and search parity checks."""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now

from portal.ops.models import Run, Target

ENVIRONMENTS = Target.Environment


class HealthSnapshot(models.Model):
    """One health reading of a target: the charted figures in columns, everything read in ``reading``.

    Counters (commits, rollbacks, ...) are cumulative as PostgreSQL keeps them;
    ``tps`` and ``rollback_rate`` are the rates since the target's previous
    snapshot, stored so the charts need no second pass.
    """

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="health_snapshots",
                               help_text="The target looked at.")
    taken_at = models.DateTimeField(default=now, help_text="When the reading was taken on the target.")
    connections = models.IntegerField(help_text="Client connections of the whole server.")
    active = models.IntegerField(help_text="Active sessions of the database.")
    blocked = models.IntegerField(help_text="Sessions blocked by another one.")
    longest_xact_seconds = models.FloatField(null=True, blank=True, help_text="Age of the oldest open transaction.")
    size_bytes = models.BigIntegerField(help_text="pg_database_size of the database.")
    xact_commit = models.BigIntegerField(help_text="Commits since the stats reset (cumulative).")
    xact_rollback = models.BigIntegerField(help_text="Rollbacks since the stats reset (cumulative).")
    tps = models.FloatField(null=True, blank=True, help_text="Transactions per second since the previous snapshot.")
    rollback_rate = models.FloatField(null=True, blank=True, help_text="Share of rollbacks since the previous one.")
    deadlocks = models.IntegerField(null=True, blank=True, help_text="Deadlocks since the previous snapshot.")
    temp_bytes = models.BigIntegerField(null=True, blank=True, help_text="Temp file bytes since the previous one.")
    seconds = models.FloatField(help_text="How long the reading took on the target.")
    reading = models.JSONField(default=dict, help_text="The whole reading (HealthReading.to_json()).")

    class Meta:
        get_latest_by = "taken_at"
        indexes = [
            # Used by the Health page and the CLI: a target's snapshots in a time window.
            models.Index(fields=["target", "taken_at"], name="health_snap_target_taken"),
            # Used by the retention purge: snapshots older than a cutoff.
            models.Index(fields=["taken_at"], name="health_snap_taken"),
        ]

    def __str__(self) -> str:
        return f"Health of {self.target.name} at {self.taken_at:%Y-%m-%d %H:%M:%S}"


class HealthThreshold(models.Model):
    """A rule of an environment: a figure above a value for some minutes raises a health event."""

    class Metric(models.TextChoices):
        BLOCKED = "blocked", "Blocked sessions"
        CONNECTIONS = "connections", "Connections"
        LONGEST_XACT = "longest_xact_seconds", "Longest transaction (s)"
        ROLLBACK_RATE = "rollback_rate", "Rollback rate (0..1)"
        SIZE_GROWTH = "size_growth_per_day", "Size growth per day (bytes)"
        TPS = "tps", "Transactions per second"
        STATEMENT_SLOWDOWN = "statement_slowdown", "A statement's mean time, after / before the chosen run"

    environment = models.CharField(max_length=20, choices=ENVIRONMENTS.choices,
                                   help_text="Targets of this environment are judged by it.")
    metric = models.CharField(max_length=30, choices=Metric.choices, help_text="The figure watched.")
    above = models.FloatField(help_text="The event opens when the figure is above this value...")
    for_minutes = models.PositiveIntegerField(default=5, help_text="...in every snapshot of this many minutes "
                                              "(0: the latest snapshot alone).")
    since_run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                  help_text="For the statement slowdown: the run whose 'before' is the baseline "
                                            "(e.g. above 2 = a statement's mean time doubled since it).")
    is_active = models.BooleanField(default=True, help_text="Inactive thresholds raise nothing.")

    class Meta:
        ordering = ["environment", "metric"]

    def __str__(self) -> str:
        return f"{self.get_environment_display()}: {self.get_metric_display()} > {self.above:g} for {self.for_minutes} min"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.metric == self.Metric.STATEMENT_SLOWDOWN and self.since_run_id is None:
            raise ValidationError({"since_run": "The statement slowdown compares with the time before a run: choose it."})
        if self.metric != self.Metric.STATEMENT_SLOWDOWN and self.since_run_id is not None:
            raise ValidationError({"since_run": "Only the statement slowdown uses a run."})


class HealthEvent(models.Model):
    """A threshold crossed by a target: open while it stays crossed, closed when a snapshot is back under."""

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="health_events",
                               help_text="The target.")
    threshold = models.ForeignKey(HealthThreshold, on_delete=models.CASCADE, related_name="events",
                                  help_text="The rule crossed.")
    opened_at = models.DateTimeField(default=now, help_text="When it was raised.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When a snapshot was back under the value.")
    value = models.FloatField(help_text="The figure when it was raised.")
    snapshot = models.ForeignKey(HealthSnapshot, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", help_text="The snapshot that raised it.")
    notified = models.IntegerField(default=0, help_text="Notification channels it was sent to.")

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # One open event per target and rule: a long breach is one event, not one per snapshot.
            models.UniqueConstraint(fields=["target", "threshold"], condition=models.Q(closed_at__isnull=True),
                                    name="health_event_one_open"),
        ]

    def __str__(self) -> str:
        return f"{self.threshold.get_metric_display()} > {self.threshold.above:g} on {self.target.name}"


class ParityCheck(models.Model):
    """A search parity check of a copied FTS table, stored like a verification report."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="parity_checks", help_text="Where.")
    sqlite_path = models.CharField(max_length=1000, help_text="The source SQLite file (inside MOP_IMPORT_DIR).")
    table = models.CharField(max_length=200, help_text="The FTS5 table, and its copy in the target.")
    schema = models.CharField(max_length=63, default="public", help_text="The copy's schema in the target.")
    regconfig = models.CharField(max_length=63, blank=True,
                                 help_text="Text search configuration to search with (empty: the column's).")
    queries = models.JSONField(default=list, blank=True, help_text="The DBA's queries (empty: drawn from the data).")
    count = models.PositiveIntegerField(default=20, help_text="Queries drawn when none are given.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, help_text="Where it is.")
    actor = models.CharField(max_length=150, blank=True, help_text="Who asked.")
    created_at = models.DateTimeField(default=now, help_text="When it was asked for.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took it.")
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When it ended.")
    matching = models.IntegerField(null=True, blank=True, help_text="Queries that found the same rows on both sides.")
    total = models.IntegerField(null=True, blank=True, help_text="Queries run.")
    error = models.TextField(blank=True, help_text="Why it failed.")
    report = models.JSONField(default=dict, blank=True, help_text="The engine's ParityReport.to_json().")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Search parity #{self.pk} of {self.table} on {self.target.name}"


__all__ = ["HealthEvent", "HealthSnapshot", "HealthThreshold", "ParityCheck", "Run"]
