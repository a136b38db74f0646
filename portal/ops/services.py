"""The portal's business rules: who may do what, and how a run is asked for.

Views, the admin, the CLI and the tasks call these functions; none of them
holds a rule of its own. Input a DBA can fix raises ``ValidationError`` with
a message naming the fix; engine errors (``OpsError``) pass through unchanged,
so callers show ``str(exc)`` and ``exc.explanation``.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now

from migrations_ops.errors import BadDSN, OpsError
from migrations_ops.schema.listing_cache import cached_listing
from migrations_ops.schema.project import ResolvedProject, resolve_project
from migrations_ops.schema.retry import MAX_LOCK_RETRIES
from migrations_ops.target import TargetConn
from portal.assure import gates as assure_gates

from . import audit, dispatch, gates, secrets
from .models import AlembicProject, AuditEvent, Run, Target
from .permissions import actor_name as _actor
from .permissions import (
    check_confirmation,
    require,  # noqa: F401 - callers use services.require
)
from .secrets import redact as redact_text

log = logging.getLogger(__name__)


# lock_timeout and statement_timeout are int4 settings in PostgreSQL: a larger value fails the run's SET.
PG_MAX_TIMEOUT_MS = 2_147_483_647
RUN_OPERATIONS = Run.SCHEMA_OPERATIONS
# Target fields whose changes are named in the audit trail (never the password itself).
_AUDITED_TARGET_FIELDS = (
    "name", "environment", "project_id", "host", "port", "dbname", "user", "sslmode", "sslrootcert",
    "password_env", "allow_password_auth", "lock_timeout_ms", "statement_timeout_ms", "lock_retries", "is_active",
)


# What identifies the server a password is sent to, and how it is sent.
_SERVER_FIELDS = ("host", "port", "dbname", "user", "sslmode", "sslrootcert", "allow_password_auth")


def resolve(project: AlembicProject) -> ResolvedProject:
    """Pin the project's scripts (checking out git refs into MOP_PROJECT_CACHE)."""
    return project.resolved()


class ScriptsChanged(OpsError):
    """The project's scripts are not the ones the run was planned with."""

    code = "scripts_changed"
    explanation = (
        "The Alembic scripts changed between the preview the DBA confirmed and the run (a file was edited, "
        "or the git ref moved). Nothing was run; preview the plan again and schedule a new run."
    )

    def __init__(self, planned: str, found: str) -> None:
        super().__init__(f"Scripts changed since the plan was made: planned {planned}, found {found}",
                         planned=planned, found=found)


def resolve_for_run(run: Run) -> ResolvedProject:
    """The exact scripts the run was planned with: the same git commit, or the same content hash.

    Raises ``ScriptsChanged`` rather than run revisions nobody previewed.
    """
    source = run.target.project.source()
    planned = run.project_fingerprint
    if planned.startswith("git:") and source.kind == "git":
        source = dataclasses.replace(source, ref=planned.removeprefix("git:"))
    resolved = resolve_project(source, cache_dir=settings.MOP_PROJECT_CACHE)
    if planned and resolved.fingerprint != planned:
        raise ScriptsChanged(planned, resolved.fingerprint)
    return resolved


def project_listing(project: AlembicProject):
    """Every revision of the project, read statically (no revision file imported)."""
    return cached_listing(resolve(project), settings.MOP_LISTING_CACHE)


def _check_operation(operation: str, revision: str) -> None:
    if operation not in RUN_OPERATIONS:
        raise ValidationError(
            f"Operation {operation!r} is not one of {', '.join(RUN_OPERATIONS)}", code="bad_operation"
        )
    if not (revision or "").strip():
        raise ValidationError(
            "A revision is required: head, heads, a revision id, +N, -N, base or a branch label",
            code="no_revision",
        )


@dataclasses.dataclass(frozen=True, slots=True)
class PlanPreview:
    """A plan (``migrations_ops.schema.plan.Plan``) with its safety findings, most severe first.

    The plan's own fields (``steps``, ``sql``, ``sql_hash``, ``from_heads``, ...)
    read through, so callers that only want the plan use it as one.
    """

    plan: object
    findings: tuple = ()

    def __getattr__(self, name: str):
        if name.startswith("_") or name in ("plan", "findings"):
            raise AttributeError(name)  # not set yet (copy, pickle): never recurse
        return getattr(self.plan, name)

    def findings_json(self) -> list[dict]:
        return [f.to_json() for f in self.findings]


def plan_findings(resolved: ResolvedProject, plan) -> tuple:
    """Review a plan: its offline SQL, and the source of every revision file it steps through (reads files).

    Steps: 1 ``safety.check_plan_sql`` on the plan's SQL (squawk and the
    portal's rules), 2 ``safety.review_revision_source`` on the file of each
    upgrade/downgrade step, found in the static listing (never imported),
    3 most severe first, the plan's SQL findings before the files' at a level.
    """
    from migrations_ops.schema import custom_ops, revisions, safety  # noqa: PLC0415 - see _make_plan

    findings = list(safety.check_plan_sql(plan.sql or ""))
    listing = revisions.list_revisions(resolved)
    seen: set[str] = set()
    provided = custom_ops.provided_names(resolved)  # op.<name> calls nothing provides are flagged per step
    for step in plan.steps:
        if step.direction == "stamp" or step.revision in seen:
            continue
        seen.add(step.revision)
        try:
            info = listing.get(step.revision)
        except OpsError:
            continue  # plans come from the same scripts; a vanished file shows when the run imports it
        findings.extend(safety.review_revision_source(resolved.script_location / info.path, step.revision))
        findings.extend(custom_ops.review_operations(resolved, resolved.script_location / info.path, step.revision,
                                                     provided))
    order = {safety.DANGER: 0, safety.WARNING: 1, safety.INFO: 2}
    return tuple(sorted(findings, key=lambda f: order.get(f.level, 3)))


def preview_plan(target: Target, operation: str, revision: str) -> PlanPreview:
    """The plan, its offline SQL and its safety findings, from the target's live revision (connects to the target)."""
    _check_operation(operation, revision)
    resolved = resolve(target.project)
    plan = _make_plan(target, resolved, operation, revision)
    return PlanPreview(plan, plan_findings(resolved, plan))


def _make_plan(target: Target, resolved: ResolvedProject, operation: str, revision: str):
    """The engine's plan from the live revision, its offline SQL redacted (connects to the target).

    Rendering runs revision code, whose errors land in the SQL's last comment
    and in ``sql_error``: both are shown and stored, so both are redacted of
    the target's password and the portal's secrets. ``sql_hash`` stays the
    engine's (over the unredacted text) so that preview and schedule compare.
    """
    conn = target.conn()
    # Alembic loads here, for the processes that plan (the web, the CLI, a child running a schema run),
    # not in a worker that only copies and verifies (~40 MB less in each).
    from migrations_ops.schema.plan import make_plan  # noqa: PLC0415

    plan = make_plan(conn, resolved, operation, revision.strip(), with_sql=True)
    return dataclasses.replace(
        plan, sql=redact_text(plan.sql or "", conn.password),
        sql_error=redact_text(plan.sql_error, conn.password) if plan.sql_error else plan.sql_error,
    )


def nothing_to_do(target: Target, operation: str, revision: str, heads) -> str:
    """What a plan without a step says: the target is already there, so no run is made.

    >>> class T: name = "billing"
    >>> nothing_to_do(T, "upgrade", "head", ["abc"])
    'billing is already at head (abc), nothing to do: no run was scheduled'
    """
    where = "head" if operation == Run.Operation.UPGRADE and revision.strip() in ("head", "heads") else revision.strip()
    return (f"{target.name} is already at {where} ({', '.join(heads) or 'base'}), nothing to do: "
            "no run was scheduled")


def _retries(value, default: int) -> int:
    if value is None or value == "":
        return int(default)
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"lock_retries must be a whole number, not {value!r}") from None
    if value < 0:
        raise ValidationError(f"lock_retries must be 0 (no retry) or more, not {value}")
    if value > MAX_LOCK_RETRIES:
        raise ValidationError(f"lock_retries must be at most {MAX_LOCK_RETRIES}, not {value}: each retry "
                              "waits up to 30 s while the run holds a worker")
    return value


def _timeout(value, default: int, name: str) -> int:
    if value is None or value == "":
        return int(default)
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a whole number of milliseconds, not {value!r}") from None
    if value <= 0:
        raise ValidationError(f"{name} must be positive, not {value}")
    if value > PG_MAX_TIMEOUT_MS:
        raise ValidationError(f"{name} must be at most {PG_MAX_TIMEOUT_MS} ms (PostgreSQL's limit), not {value}")
    return value


def schedule_run(
    *,
    target: Target,
    operation: str,
    revision: str,
    user=None,
    actor: str | None = None,
    actor_kind: str = "user",
    expected_from: list[str] | None = None,
    confirm_name: str | None = None,
    lock_timeout_ms=None,
    statement_timeout_ms=None,
    lock_retries=None,
    acknowledge_preview_failure: bool = False,
    start: dict | None = None,
) -> Run:
    """Plan ``operation`` to ``revision`` from the target's live revision, record it, and queue it.

    A registered gate (change control) may hold the run instead of queueing
    it (awaiting approval, scheduled); ``start`` carries the requested start.

    Steps: 1 check permission, operation, confirmation and timeouts, 2 make the
    plan (with SQL) from the live revision, 3 refuse if it no longer starts
    where the DBA previewed it (``expected_from``), 4 create the Run and its
    audit event, 5 enqueue the task once the transaction commits.
    """
    if user is not None:
        require(user, "ops.schedule_run")
    _check_operation(operation, revision)
    if not target.is_active:
        raise ValidationError(f"Target {target.name} is inactive; activate it before running anything on it")
    check_confirmation(target, operation, confirm_name)
    lock_ms = _timeout(lock_timeout_ms, target.lock_timeout_ms, "lock_timeout_ms")
    stmt_ms = _timeout(statement_timeout_ms, target.statement_timeout_ms, "statement_timeout_ms")
    retries = _retries(lock_retries, target.lock_retries)
    resolved = resolve(target.project)
    plan = _make_plan(target, resolved, operation, revision)
    if not plan.steps:
        raise ValidationError(nothing_to_do(target, operation, revision, plan.from_heads), code="nothing_to_do")
    findings = plan_findings(resolved, plan)
    from .preview_policy import check_preview_failure  # noqa: PLC0415 - one rule, in its own module

    check_preview_failure(target, plan, acknowledge_preview_failure)
    assure_gates.check_schedule(target, operation, plan, resolved.fingerprint)  # open drift, rehearsal required
    if expected_from is not None and sorted(expected_from) != sorted(plan.from_heads):
        raise ValidationError(
            f"Target {target.name} moved since the plan was previewed: it was at "
            f"{', '.join(expected_from) or 'base'}, it is now at {', '.join(plan.from_heads) or 'base'}. "
            "Preview the plan again; nothing was scheduled.",
            code="target_moved",
        )
    who = _actor(user, actor)
    params = {
        "lock_timeout_ms": lock_ms,
        "statement_timeout_ms": stmt_ms,
        "lock_retries": retries,
        "confirmed": bool(confirm_name),
        **({"preview_failure_acknowledged": plan.sql_error} if plan.sql_error else {}),
    }
    with transaction.atomic():
        run = Run.objects.create(
            target=target,
            operation=operation,
            revision=revision.strip(),
            requested_by=user if user is not None and user.pk else None,
            actor=who,
            params=params,
            from_heads=list(plan.from_heads),
            to_heads=list(plan.to_heads),
            plan_steps=[s.to_json() for s in plan.steps],
            steps_total=len(plan.steps),
            sql=plan.sql or "",
            sql_hash=plan.sql_hash or "",
            safety_findings=[f.to_json() for f in findings],
            project_fingerprint=resolved.fingerprint,
            celery_task_id=str(uuid.uuid4()),
        )
        audit.record(
            actor=who, actor_kind=actor_kind, action="run.scheduled", target=target, run=run,
            operation=operation, from_revision=run.from_heads, to_revision=run.to_heads,
            params={**params, "requested": run.revision, "steps": run.steps_total,
                    "project_fingerprint": run.project_fingerprint,
                    "findings": _findings_count(findings)},
            sql_hash=run.sql_hash,
        )
        if not gates.on_scheduled(run, plan, start):
            dispatch.enqueue_on_commit(run)
    dispatch.raise_if_undispatched(run)  # the run is failed already; the caller shows why
    return run


def _findings_count(findings) -> dict[str, int]:
    """Findings per level, e.g. ``{"danger": 1, "warning": 2}`` (what the audit keeps of them)."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.level] = counts.get(f.level, 0) + 1
    return counts


def enqueue_on_commit(run: Run) -> None:
    """Queue a recorded run's task once the transaction commits (a gate releasing a held run)."""
    dispatch.enqueue_on_commit(run)


def cancel_run(run: Run, *, user=None, actor: str | None = None) -> Run:
    """Cancel a queued run at once, or ask a running one to stop (cancels its statement on the target)."""
    if user is not None:
        require(user, "ops.cancel_run")
    who = _actor(user, actor)
    kind = AuditEvent.ActorKind.USER if user is not None or actor else AuditEvent.ActorKind.SYSTEM
    at = now()
    with transaction.atomic():
        cancelled = Run.objects.filter(pk=run.pk, status__in=[Run.Status.QUEUED, *Run.WAITING]).update(
            status=Run.Status.CANCELLED, finished_at=at, cancel_requested_at=at, cancel_requested_by=who,
            error="Cancelled before it started", error_code="cancelled",
        )
        if not cancelled:
            asked = Run.objects.filter(
                pk=run.pk, status=Run.Status.RUNNING, cancel_requested_at__isnull=True
            ).update(cancel_requested_at=at, cancel_requested_by=who)
            run.refresh_from_db()
            if not asked and run.status != Run.Status.RUNNING:
                raise ValidationError(f"Run #{run.pk} has already ended ({run.get_status_display().lower()})")
        audit.record(
            actor=who, actor_kind=kind, action="run.cancel_requested", target=run.target, run=run,
            operation=run.operation, from_revision=run.from_heads, to_revision=run.to_heads,
            outcome="cancelled" if cancelled else "requested",
        )
    run.refresh_from_db()
    if run.status == Run.Status.RUNNING:
        # The worker's should_cancel() stops between steps; this cancels the statement in flight.
        from migrations_ops.schema import runner  # noqa: PLC0415 - see _make_plan

        try:
            runner.cancel_run_backend(run.target.conn(), run.pk)
        except OpsError as exc:
            log.warning("cancel of run %s backend failed: %s", run.pk, exc, extra={"run_id": run.pk})
    return run


def save_target(
    target: Target, *, user=None, actor: str | None = None, password: str | None = None, created: bool
) -> Target:
    """Validate and save a target, encrypting a new password; audit which fields changed.

    Steps: 1 check permission, connection parts and ``password_env``, 2 when the
    server or its TLS/auth settings changed and no password came with the
    change, clear the stored password (it was given for the old server),
    3 save and audit what changed, saying when the password was cleared.
    """
    if user is not None:
        require(user, "ops.add_target" if created else "ops.change_target")
    _validate_target(target)
    old = None if created or not target.pk else Target.objects.filter(pk=target.pk).first()
    cleared = _clear_password_if_server_changed(old, target, password)
    if password:
        target.set_password(password)
    if old is None:
        changed = [f for f in _AUDITED_TARGET_FIELDS if getattr(target, f) not in ("", None)]
    else:
        changed = [f for f in _AUDITED_TARGET_FIELDS if getattr(old, f) != getattr(target, f)]
    if password:
        changed.append("password")
    target.updated_at = now()
    who = _actor(user, actor)
    note = {"note": "password changed"} if password else {}
    if cleared:
        note = {"cleared": ["password"],
                "note": f"stored password cleared: {', '.join(cleared)} changed without a new password"}
    with transaction.atomic():
        target.save()
        audit.record(
            actor=who,
            actor_kind=AuditEvent.ActorKind.USER if (user is not None or actor) else AuditEvent.ActorKind.SYSTEM,
            action="target.created" if old is None else "target.changed",
            target=target,
            params={"changed": [c.removesuffix("_id") for c in changed], **note},
        )
    target.password_cleared = cleared  # for the admin's message; not a field
    return target


def _validate_target(target: Target) -> None:
    """Refuse malformed connection parts, a forbidden ``password_env`` and too many lock retries."""
    if target.password_env:
        try:
            secrets.check_password_env(target.password_env)
        except secrets.PasswordEnvRefused as exc:
            raise ValidationError(str(exc), code="password_env_refused") from None
    _retries(target.lock_retries, 0)
    try:
        TargetConn(host=target.host, port=target.port, dbname=target.dbname, user=target.user,
                   sslmode=target.tls()[0])
    except BadDSN as exc:
        raise ValidationError(str(exc), code="bad_dsn") from None


def _clear_password_if_server_changed(old: Target | None, target: Target, password: str | None) -> list[str]:
    """Forget the password when it would follow the target to another server; returns what changed.

    A password (or ``password_env``) was given for one server: sending it to a
    new host, port, database, user, or over weaker TLS/auth settings, is how a
    changed target becomes a way to collect it. A new password or a new
    ``password_env`` in the same change is the DBA saying it belongs there.
    """
    if old is None:
        return []
    changed = [f for f in _SERVER_FIELDS if getattr(old, f) != getattr(target, f)]
    if not changed or password:
        return []
    new_env = bool(target.password_env) and target.password_env != old.password_env
    if not (target.password_encrypted or (target.password_env and not new_env)):
        return []
    target.password_encrypted = ""
    if not new_env:
        target.password_env = ""
    return changed
