"""What the dashboard reads instead of connecting to 100 targets: stored revisions and project graphs.

Written when somebody or something reads a target anyway (a status page, a
revisions page, a periodic snapshot, the fleet check task); runs add their
own ``result_heads`` on top (the newest observation wins, see ``fleet``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class TargetState(models.Model):
    """The last revision read from a target's version table, and where that left it against the project's heads."""

    class Source(models.TextChoices):
        STATUS = "status", "Status page"
        SNAPSHOT = "snapshot", "Lock snapshot"
        FLEET_CHECK = "fleet_check", "Fleet check"

    target = models.OneToOneField(
        "ops.Target", on_delete=models.CASCADE, related_name="home_state", help_text="The target read."
    )
    current = models.JSONField(default=list, help_text="Revision(s) in the version table; empty means base.")
    has_version_table = models.BooleanField(default=True, help_text="False: the target was never migrated.")
    error = models.TextField(blank=True, help_text="Why the revision could not be read (redacted), if it could not.")
    source = models.CharField(max_length=20, choices=Source.choices, help_text="What read it.")
    observed_at = models.DateTimeField(default=now, help_text="When it was read from the target.")

    class Meta:
        verbose_name = "target revision (stored)"

    def __str__(self) -> str:
        return f"{self.target_id}: {', '.join(self.current) or 'base'} at {self.observed_at:%Y-%m-%d %H:%M:%S}"


class ProjectGraph(models.Model):
    """A project's heads and each revision's parents, read statically from its scripts."""

    project = models.OneToOneField(
        "ops.AlembicProject", on_delete=models.CASCADE, related_name="home_graph", help_text="The project read."
    )
    heads = models.JSONField(default=list, help_text="The project's head revision(s).")
    parents = models.JSONField(default=dict, help_text="Revision id -> its parent ids (down_revision and depends_on).")
    fingerprint = models.CharField(max_length=100, blank=True, help_text="Fingerprint of the scripts read.")
    error = models.TextField(blank=True, help_text="Why the scripts could not be read, if they could not.")
    read_at = models.DateTimeField(default=now, help_text="When the scripts were read.")

    def __str__(self) -> str:
        return f"{self.project_id}: heads {', '.join(self.heads)}"


class RunSeen(models.Model):
    """A person opened a failed run's page (by any route, see seen.py): it no longer waits for them."""

    run = models.ForeignKey("ops.Run", on_delete=models.CASCADE, related_name="+", help_text="The run looked at.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", help_text="Who looked at it."
    )
    seen_at = models.DateTimeField(default=now, help_text="When.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "user"], name="home_runseen_run_user_uniq")]

    def __str__(self) -> str:
        return f"run {self.run_id} seen by {self.user_id}"
