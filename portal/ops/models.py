"""The portal's records: Alembic projects, targets, runs with their log, and the audit trail.

Business rules live in ``services.py`` and the engine (``migrations_ops``);
models hold state and small helpers to turn rows into engine arguments.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from migrations_ops.schema.project import ProjectSource, ResolvedProject, resolve_project
from migrations_ops.schema.retry import MAX_LOCK_RETRIES
from migrations_ops.target import SCRAM_ONLY, TargetConn, default_tls

from . import secrets


class AlembicProject(models.Model):
    """A script directory on the server, or a git repository at a ref."""

    class Kind(models.TextChoices):
        PATH = "path", "Directory on the server"
        GIT = "git", "Git repository"

    class EnvMode(models.TextChoices):
        PORTAL = "portal", "Portal-managed environment (recommended)"
        PROJECT = "project", "Project's own env.py (must accept a passed connection)"

    name = models.CharField(max_length=100, unique=True, help_text="Short name shown in lists.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PATH, help_text="Where the scripts live.")
    location = models.CharField(
        max_length=500,
        help_text="Directory (with alembic.ini or env.py/versions) or a git URL / local repository path.",
    )
    ref = models.CharField(max_length=200, blank=True, help_text="Git branch, tag or commit (git projects only).")
    subdir = models.CharField(max_length=300, blank=True, help_text="Folder of the Alembic project inside the repository.")
    version_table = models.CharField(max_length=63, default="alembic_version", help_text="Alembic's version table name.")
    version_table_schema = models.CharField(
        max_length=63, blank=True, help_text="Schema of the version table; empty means the search_path default."
    )
    env_mode = models.CharField(
        max_length=10,
        choices=EnvMode.choices,
        default=EnvMode.PORTAL,
        help_text="How revisions run: in the portal's environment bound to the chosen target, or via env.py.",
    )
    url_env_vars = models.CharField(
        "URL variables", max_length=300, blank=True,
        help_text="Project mode: environment variables its env.py reads the database URL from, comma-separated; "
                  "set to the chosen target's URL for each run (empty: DATABASE_URL, SQLALCHEMY_DATABASE_URI; "
                  "sqlalchemy.url in the ini is always set).",
    )
    url_scheme = models.CharField(
        "URL form", max_length=30, blank=True,
        choices=[("postgresql+psycopg", "postgresql+psycopg://"), ("postgresql", "postgresql://"),
                 ("postgresql+psycopg2", "postgresql+psycopg2://"), ("postgres", "postgres://")],
        help_text="Project mode: the URL scheme its env.py expects (empty: postgresql+psycopg://).",
    )
    operation_modules = models.TextField(
        blank=True,
        help_text="Modules registering custom operations (Operations.register_operation), one per line: a .py "
                  "path inside the project or an installed module name; imported before revisions run.",
    )
    description = models.TextField(blank=True, help_text="What this project manages.")
    created_at = models.DateTimeField(default=now, help_text="When the project was registered.")

    class Meta:
        ordering = ["name"]
        verbose_name = "Alembic project"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from migrations_ops.errors import OpsError
        from migrations_ops.schema.project_env import url_vars_of

        try:
            url_vars_of(self.url_env_vars.split(","))
        except OpsError as exc:
            raise ValidationError({"url_env_vars": str(exc)}) from None

    def source(self) -> ProjectSource:
        """The engine's view of this project."""
        return ProjectSource(
            location=self.location,
            kind=self.kind,  # type: ignore[arg-type]
            ref=self.ref or None,
            subdir=self.subdir,
            version_table=self.version_table,
            version_table_schema=self.version_table_schema or None,
            env_mode=self.env_mode,  # type: ignore[arg-type]
            url_env_vars=tuple(v.strip() for v in self.url_env_vars.split(",") if v.strip()),
            url_scheme=self.url_scheme,
            operation_modules=tuple(m.strip() for m in self.operation_modules.splitlines() if m.strip()),
        )

    def resolved(self) -> ResolvedProject:
        """The project pinned to its scripts (git refs checked out into MOP_PROJECT_CACHE); reads files."""
        return resolve_project(self.source(), cache_dir=settings.MOP_PROJECT_CACHE)


class Target(models.Model):
    """A PostgreSQL database the portal migrates. Its password is never stored in plain text."""

    class Environment(models.TextChoices):
        DEVELOPMENT = "development", "Development"
        STAGING = "staging", "Staging"
        PRODUCTION = "production", "Production"

    class SSLMode(models.TextChoices):
        DEFAULT = "default", "default (verify-full for remote hosts when MOP_TARGET_SSLROOTCERT is set)"
        DISABLE = "disable", "disable"
        ALLOW = "allow", "allow"
        PREFER = "prefer", "prefer"
        REQUIRE = "require", "require"
        VERIFY_CA = "verify-ca", "verify-ca"
        VERIFY_FULL = "verify-full", "verify-full"

    name = models.SlugField(max_length=100, unique=True, help_text="Unique name; typed back to confirm dangerous runs.")
    environment = models.CharField(
        max_length=20, choices=Environment.choices, default=Environment.DEVELOPMENT,
        help_text="Production targets need the name typed back for every run.",
    )
    project = models.ForeignKey(
        AlembicProject, on_delete=models.PROTECT, related_name="targets", help_text="The Alembic project that manages it."
    )
    host = models.CharField(max_length=255, help_text="Host name, IP address or socket directory.")
    port = models.PositiveIntegerField(default=5432, help_text="TCP port.")
    dbname = models.CharField("database", max_length=63, help_text="Database name.")
    user = models.CharField(max_length=63, help_text="Role the migrations run as.")
    sslmode = models.CharField(
        "TLS mode", max_length=12, choices=SSLMode.choices, default=SSLMode.DEFAULT,
        help_text="libpq sslmode. 'default': prefer for local hosts; for remote ones verify-full with "
                  "MOP_TARGET_SSLROOTCERT when it is set, else require.",
    )
    sslrootcert = models.CharField(
        max_length=500, blank=True, help_text="Path of the CA certificate on the workers (verify-ca / verify-full)."
    )
    password_encrypted = models.TextField(
        blank=True, editable=False, help_text="Fernet token of the password (key from MOP_FERNET_KEYS)."
    )
    password_env = models.CharField(
        max_length=100, blank=True,
        help_text="Alternatively, the name of an environment variable holding the password on web and workers; "
                  "it must start with MOP_TARGET_PASSWORD_ENV_PREFIX (default MOP_TARGET_PASSWORD_).",
    )
    allow_password_auth = models.BooleanField(
        "allow password auth (legacy)", default=False,
        help_text="Off (default): only SCRAM-SHA-256 (libpq require_auth), so a server asking for a cleartext "
                  "or md5 password gets nothing. Tick only for a trusted legacy server that cannot do SCRAM.",
    )
    lock_timeout_ms = models.PositiveIntegerField(
        default=1000, help_text="lock_timeout for migration sessions (ms); fail fast instead of queueing."
    )
    statement_timeout_ms = models.PositiveIntegerField(
        default=15 * 60 * 1000, help_text="statement_timeout for migration sessions (ms)."
    )
    lock_retries = models.PositiveIntegerField(
        default=3, validators=[MaxValueValidator(MAX_LOCK_RETRIES)],
        help_text="How many times a run that fails on lock_timeout is retried (backoff with jitter, "
                  "resuming at the failed step); 0 = fail at the first lock timeout.",
    )
    is_active = models.BooleanField(default=True, help_text="Inactive targets are kept for the record but not run.")
    created_at = models.DateTimeField(default=now, help_text="When the target was registered.")
    updated_at = models.DateTimeField(default=now, help_text="Last change of its settings.")

    class Meta:
        ordering = ["name"]
        permissions = [
            ("cancel_backend", "Can cancel a backend's query on a target"),
            ("terminate_backend", "Can terminate a backend on a target"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_environment_display()})"

    @property
    def is_production(self) -> bool:
        return self.environment == self.Environment.PRODUCTION

    def clean(self) -> None:
        """Refuse a ``password_env`` a target may not read (the portal's own secrets), with the reason."""
        super().clean()
        if self.password_env:
            try:
                secrets.check_password_env(self.password_env)
            except secrets.PasswordEnvRefused as exc:
                raise ValidationError({"password_env": str(exc)}) from None

    def set_password(self, raw: str) -> None:
        """Encrypt and keep the password; clears any environment reference."""
        self.password_encrypted = secrets.encrypt(raw) if raw else ""
        if raw:
            self.password_env = ""

    def password(self) -> str:
        if self.password_env:
            return secrets.from_env(self.password_env)
        if self.password_encrypted:
            return secrets.decrypt(self.password_encrypted)
        return ""

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted or self.password_env)

    def tls(self) -> tuple[str, str | None]:
        """The sslmode and CA file used: the stored ones, or the defaults for this host."""
        if self.sslmode == self.SSLMode.DEFAULT:
            mode, ca = default_tls(self.host, settings.MOP_TARGET_SSLROOTCERT or None)
            return mode, self.sslrootcert or ca
        return self.sslmode, self.sslrootcert or None

    def conn(self) -> TargetConn:
        """The engine's connection settings, password decrypted in memory only.

        Every connection to a target is built here (status, diagnostics, the
        snapshot task, runs, copies, verifications): ``password()`` refuses a
        forbidden ``password_env`` and ``require_auth`` refuses cleartext.
        """
        sslmode, sslrootcert = self.tls()
        return TargetConn(
            host=self.host, port=self.port, dbname=self.dbname, user=self.user,
            password=self.password(), sslmode=sslmode, sslrootcert=sslrootcert,
            require_auth="" if self.allow_password_auth else SCRAM_ONLY,
        )

    def where(self) -> str:
        return f"{self.host}:{self.port}/{self.dbname}"


class Run(models.Model):
    """One operation on one target, from request to outcome."""

    class Operation(models.TextChoices):
        UPGRADE = "upgrade", "Upgrade"
        DOWNGRADE = "downgrade", "Downgrade"
        STAMP = "stamp", "Stamp"
        COPY = "copy", "SQLite copy"
        VERIFY = "verify", "Verification"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        # A copy that ended with every table loaded but some rows rejected: done, not whole (amber).
        SUCCEEDED_REJECTS = "succeeded_rejects", "Succeeded with rejects"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        INTERRUPTED = "interrupted", "Interrupted"
        # Change control (portal/change): held before the queue, or never started.
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        SCHEDULED = "scheduled", "Scheduled"
        REJECTED = "rejected", "Rejected"
        MISSED = "missed", "Missed its window"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    # Alembic runs (a plan of revisions), as against copies and verifications.
    SCHEMA_OPERATIONS = (Operation.UPGRADE, Operation.DOWNGRADE, Operation.STAMP)
    # Recorded and planned, not yet queued: waiting for approvals or for its start time / window.
    WAITING = (Status.AWAITING_APPROVAL, Status.SCHEDULED)
    # Ended with the work done (a copy's rows all loaded or rejected and named): nothing to resume.
    COMPLETED = (Status.SUCCEEDED, Status.SUCCEEDED_REJECTS)

    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="runs", help_text="Where it runs.")
    operation = models.CharField(max_length=20, choices=Operation.choices, help_text="What it does.")
    revision = models.CharField(
        max_length=200, blank=True, help_text="Requested revision: head, an id, +N, -N, base, label@head."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, help_text="Where it stands.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="The person who asked for it (empty for a schedule).",
    )
    actor = models.CharField(max_length=150, help_text="Who asked: a username, or schedule:<name>.")
    params = models.JSONField(default=dict, blank=True, help_text="Parameters as requested (timeouts, options).")
    from_heads = models.JSONField(default=list, blank=True, help_text="Target revision(s) when the plan was made.")
    to_heads = models.JSONField(default=list, blank=True, help_text="Revision(s) the plan ends at.")
    result_heads = models.JSONField(
        null=True, blank=True, help_text="Revision(s) read from the target's version table at the end."
    )
    plan_steps = models.JSONField(default=list, blank=True, help_text="Ordered steps: revision, direction, message.")
    sql = models.TextField(blank=True, help_text="The SQL previewed for this plan (offline, from the live revision).")
    sql_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the previewed SQL.")
    safety_findings = models.JSONField(
        default=list, blank=True,
        help_text="Safety findings of the previewed plan (squawk and the portal's review rules), most severe first.",
    )
    project_fingerprint = models.CharField(
        max_length=100, blank=True, help_text="git:<commit> or sha256:<hash> of the scripts that ran."
    )
    steps_done = models.PositiveIntegerField(default=0, help_text="Steps completed (progress bar).")
    steps_total = models.PositiveIntegerField(default=0, help_text="Steps planned (progress bar).")
    current_step = models.CharField(max_length=200, blank=True, help_text="What runs right now.")
    step_timings = models.JSONField(default=list, blank=True, help_text="Per step: revision, direction, seconds.")
    progress_data = models.JSONField(default=dict, blank=True, help_text="Operation-specific live figures.")
    created_at = models.DateTimeField(default=now, help_text="When it was requested.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker claimed it.")
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When it ended, whatever the outcome.")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life from its worker.")
    cancel_requested_at = models.DateTimeField(null=True, blank=True, help_text="When someone asked to cancel it.")
    cancel_requested_by = models.CharField(max_length=150, blank=True, help_text="Who asked to cancel it.")
    worker = models.CharField(max_length=200, blank=True, help_text="Celery worker host name that ran it.")
    celery_task_id = models.CharField(max_length=64, blank=True, help_text="Celery task id.")
    error = models.TextField(blank=True, help_text="The error, as the engine worded it.")
    error_code = models.CharField(max_length=50, blank=True, help_text="Machine-readable error kind.")
    error_explanation = models.TextField(blank=True, help_text="What the error means and what to do.")
    error_data = models.JSONField(default=dict, blank=True, help_text="The error's fields (blocker pid, heads, ...).")

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("schedule_run", "Can schedule runs (upgrade, downgrade, stamp, copy, verify)"),
            ("cancel_run", "Can cancel runs"),
        ]
        indexes = [
            # Used by the claim query and the reaper: only active runs are scanned.
            models.Index(fields=["status"], name="run_active_status_idx", condition=Q(status__in=["queued", "running"])),
            # Used by the target page: a target's latest runs.
            models.Index(fields=["target", "-created_at"], name="run_target_created_idx"),
            # Used by the targets list: the revision the last finished run read, per target.
            models.Index(fields=["target", "-finished_at"], name="run_target_finished_idx",
                         condition=Q(result_heads__isnull=False)),
            # Used by the runs list: newest first.
            models.Index(fields=["-created_at"], name="run_created_idx"),
            # Used by the dashboard: runs failed in the last 24 h, failed runs waiting to be looked at.
            models.Index(fields=["-finished_at"], name="run_failed_finished_idx",
                         condition=Q(status__in=["failed", "interrupted"])),
        ]

    def __str__(self) -> str:
        rev = f" {self.revision}" if self.revision else ""
        return f"#{self.pk} {self.operation}{rev} on {self.target.name} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> int:
        if not self.steps_total:
            return 100 if self.status in self.COMPLETED else 0
        return min(100, round(100 * self.steps_done / self.steps_total))


class RunLog(models.Model):
    """One line of a run's live log."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="log_lines", help_text="The run it belongs to.")
    created_at = models.DateTimeField(default=now, help_text="When it was written.")
    level = models.CharField(max_length=10, default="info", help_text="info, warning or error.")
    message = models.TextField(help_text="The line; passwords are redacted before it is written.")

    class Meta:
        ordering = ["id"]
        indexes = [
            # Used by the live log poll: lines of one run after a given id.
            models.Index(fields=["run", "id"], name="runlog_run_id_idx"),
        ]

    def __str__(self) -> str:
        return f"[{self.level}] {self.message[:80]}"


class AuditEvent(models.Model):
    """An append-only, hash-chained record of every action.

    The database refuses UPDATE and DELETE on this table (a trigger, see the
    migrations); each row's ``hash`` covers its fields and the previous row's
    hash, so an edited or missing row breaks the chain (``audit.verify_chain``).
    """

    class ActorKind(models.TextChoices):
        USER = "user", "Person"
        SCHEDULE = "schedule", "Schedule"
        SYSTEM = "system", "System"

    created_at = models.DateTimeField(default=now, help_text="When it happened.")
    actor = models.CharField(max_length=150, help_text="Username, schedule name or 'system'.")
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices, help_text="Person, schedule or system.")
    action = models.CharField(
        max_length=50, help_text="What happened: target.created, run.scheduled, run.started, run.finished, ..."
    )
    target = models.ForeignKey(
        Target, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+", help_text="Target concerned (kept as an id even if the target goes).",
    )
    target_name = models.CharField(max_length=100, blank=True, help_text="Target name at the time.")
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+", help_text="Run concerned.",
    )
    operation = models.CharField(max_length=20, blank=True, help_text="upgrade, downgrade, stamp, copy, verify, ...")
    from_revision = models.CharField(max_length=500, blank=True, help_text="Revision(s) before.")
    to_revision = models.CharField(max_length=500, blank=True, help_text="Revision(s) after, or requested.")
    params = models.JSONField(default=dict, blank=True, help_text="Parameters of the action.")
    sql_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the SQL that ran or was planned.")
    outcome = models.CharField(max_length=20, blank=True, help_text="succeeded, failed, cancelled, interrupted, ...")
    error = models.TextField(blank=True, help_text="Error message, if any.")
    prev_hash = models.CharField(max_length=64, help_text="hash of the previous event (chain).")
    hash = models.CharField(max_length=64, unique=True, help_text="sha256 over this event's fields and prev_hash.")

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("verify_audit_chain", "Can verify the audit hash chain"),
            ("export_audit", "Can export audit events"),
        ]
        indexes = [
            # Used by the audit filters: a target's history by time.
            models.Index(fields=["target", "-created_at"], name="audit_target_created_idx"),
            models.Index(fields=["created_at"], name="audit_created_idx"),
            # Used by the audit list's filters (newest first) and their distinct-value lookups (loose index scan).
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
            models.Index(fields=["action", "-id"], name="audit_action_idx"),
            models.Index(fields=["outcome", "-id"], name="audit_outcome_idx"),
            models.Index(fields=["target_name", "-id"], name="audit_target_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target_name}"


class LockSnapshot(models.Model):
    """What a target's locks and activity looked like at one moment.

    ``snapshot`` is the engine's ``Snapshot.to_json()``; ``Snapshot.from_json``
    rebuilds it to render the blocking tree as it was. ``summary``,
    ``root_blockers`` and ``blocked`` are copied out for the history list.
    """

    class Reason(models.TextChoices):
        MANUAL = "manual", "On demand"
        PERIODIC = "periodic", "Periodic"
        RUN_FAILED = "run_failed", "Run failed on lock_timeout"

    target = models.ForeignKey(
        Target, on_delete=models.CASCADE, related_name="lock_snapshots", help_text="The target looked at."
    )
    taken_at = models.DateTimeField(default=now, help_text="When the snapshot was read from the target.")
    reason = models.CharField(max_length=20, choices=Reason.choices, help_text="Why it was taken.")
    actor = models.CharField(max_length=150, blank=True, help_text="Who asked: a username, schedule:<name> or system.")
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="lock_snapshots",
        help_text="The run whose failure it records (reason run_failed).",
    )
    summary = models.JSONField(default=dict, help_text="The summary strip (ActivitySummary.to_json()).")
    snapshot = models.JSONField(default=dict, help_text="The whole snapshot (Snapshot.to_json()).")
    root_blockers = models.PositiveIntegerField(default=0, help_text="Sessions that block others and wait on nobody.")
    blocked = models.PositiveIntegerField(default=0, help_text="Sessions waiting behind another one.")

    class Meta:
        ordering = ["-taken_at"]
        indexes = [
            # Used by the history view: a target's snapshots, newest first.
            models.Index(fields=["target", "-taken_at"], name="locksnap_target_taken_idx"),
            # Used by the retention purge: snapshots older than a cutoff.
            models.Index(fields=["taken_at"], name="locksnap_taken_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.target.name} at {self.taken_at:%Y-%m-%d %H:%M:%S} ({self.reason}, {self.blocked} blocked)"


class VerificationReport(models.Model):
    """A stored verification report: the engine's ``Report.to_json()`` and what lists need.

    ``report`` rebuilds with ``migrations_ops.verify.Report.from_dict``; the
    status, mode and source fingerprint are copied out for the list and for
    comparing two reports of the same target.
    """

    class Status(models.TextChoices):
        PASS = "pass", "Pass"
        WARN = "warn", "Warn"
        FAIL = "fail", "Fail"

    run = models.OneToOneField(
        Run, on_delete=models.PROTECT, related_name="verification_report", help_text="The verification run."
    )
    target = models.ForeignKey(
        Target, on_delete=models.PROTECT, related_name="verification_reports", help_text="The target verified."
    )
    copy_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The copy run this verification followed automatically, if any.",
    )
    created_at = models.DateTimeField(default=now, help_text="When the report was stored.")
    status = models.CharField(max_length=10, choices=Status.choices, help_text="Worst verdict of all findings.")
    mode = models.CharField(max_length=20, help_text="source (against a SQLite file) or target-only.")
    report = models.JSONField(help_text="The whole report (Report.to_json()).")
    source_path = models.CharField(max_length=500, blank=True, help_text="SQLite source, relative to MOP_IMPORT_DIR.")
    source_sha256 = models.CharField(max_length=64, blank=True, help_text="sha256 of the SQLite source file.")
    source_size = models.BigIntegerField(null=True, blank=True, help_text="Size of the SQLite source in bytes.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Used by the report list and the compare picker: a target's reports, newest first.
            models.Index(fields=["target", "-created_at"], name="verifyreport_target_idx"),
        ]

    def __str__(self) -> str:
        return f"Report #{self.pk} of {self.target.name} ({self.status}, {self.created_at:%Y-%m-%d %H:%M})"
