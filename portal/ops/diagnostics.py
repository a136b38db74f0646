"""Lock and activity diagnostics of targets: look, keep snapshots, and act on backends.

The rules live here, the engine (``migrations_ops.locks``) does the work:

- who may look (``ops.view_target``), take a snapshot (``ops.schedule_run``),
  cancel (``ops.cancel_backend``) or terminate (``ops.terminate_backend``);
- which snapshots are kept (reason, retention) and when one is taken on its
  own (a run that failed on ``lock_timeout``, the periodic task);
- what the audit trail records of a cancel or terminate: the actor, the
  reason, the victim's whole ``pg_stat_activity`` row and whether the
  blocking cleared at the next look.

Views, the CLI and the tasks call these functions and hold no rule of their own.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils.timezone import now

from migrations_ops import locks
from migrations_ops.errors import OpsError

from . import audit
from .models import AuditEvent, LockSnapshot, Run, RunLog, Target
from .permissions import actor_name as _actor
from .permissions import require

log = logging.getLogger(__name__)

ACTIONS = {
    "cancel": ("ops.cancel_backend", locks.cancel_backend, "backend.cancelled"),
    "terminate": ("ops.terminate_backend", locks.terminate_backend, "backend.terminated"),
}
# A reason is typed by a person for the audit trail; long enough to say why, short enough to read.
REASON_MAX = 500


def _kind(user, actor: str | None) -> str:
    if user is not None:
        return AuditEvent.ActorKind.USER
    if actor and actor.startswith("schedule:"):
        return AuditEvent.ActorKind.SCHEDULE
    return AuditEvent.ActorKind.USER if actor else AuditEvent.ActorKind.SYSTEM


# --- looking ------------------------------------------------------------------------


def look(target: Target, *, user=None) -> locks.Snapshot:
    """Read the target's summary, blocking tree and lists now, without storing them (connects to the target)."""
    if user is not None:
        require(user, "ops.view_target")
    return locks.take_snapshot(target.conn())


def run_blockers(run: Run, *, user=None) -> locks.BlockingTree:
    """What blocks a running run's backend right now (empty unless it waits on a lock; connects to the target)."""
    if user is not None:
        require(user, "ops.view_run")
    from migrations_ops.schema.runner import application_name

    if run.status != Run.Status.RUNNING:
        return locks.BlockingTree()
    return locks.blockers_of_application(run.target.conn(), application_name(run.pk))


@dataclass(frozen=True, slots=True)
class BackendView:
    """A backend as the confirm page shows it: its whole pg_stat_activity row, read now."""

    pid: int
    backend_start: dt.datetime | None
    row: dict[str, Any]


def backend(target: Target, pid: int, *, user=None) -> BackendView | None:
    """The backend's whole pg_stat_activity row now, or None if no backend has this pid (connects)."""
    if user is not None:
        require(user, "ops.view_target")
    found = locks.backend_row(target.conn(), pid)
    if found is None:
        return None
    return BackendView(pid=pid, backend_start=found.backend_start, row=found.row)


# --- snapshots ----------------------------------------------------------------------


def store_snapshot(
    target: Target, reason: str, *, user=None, actor: str | None = None, run: Run | None = None,
    taken: locks.Snapshot | None = None,
) -> LockSnapshot:
    """Take a snapshot of the target and keep it (connects to the target, writes the DB).

    A snapshot asked for by a person needs ``ops.schedule_run`` and is audited;
    periodic and automatic ones are not (they would drown the trail).
    """
    if reason not in LockSnapshot.Reason.values:
        raise ValidationError(f"Unknown snapshot reason {reason!r}")
    if user is not None:
        require(user, "ops.schedule_run")
    snap = taken if taken is not None else locks.take_snapshot(target.conn())
    who = _actor(user, actor)
    with transaction.atomic():
        row = LockSnapshot.objects.create(
            target=target, taken_at=snap.taken_at, reason=reason, actor=who, run=run,
            summary=snap.summary.to_json(), snapshot=snap.to_json(),
            root_blockers=sum(1 for r in snap.tree.roots if r.blocks_transitively),
            blocked=snap.tree.blocked_count,
        )
        if reason == LockSnapshot.Reason.MANUAL:
            audit.record(
                actor=who, actor_kind=_kind(user, actor), action="locks.snapshot_taken", target=target,
                params={"snapshot_id": row.pk, "root_blockers": row.root_blockers, "blocked": row.blocked},
                outcome="succeeded",
            )
    return row


def snapshot_of(row: LockSnapshot) -> locks.Snapshot:
    """The stored snapshot as the engine's object, to render as it was."""
    return locks.Snapshot.from_json(row.snapshot)


def history(target: Target, *, user=None, limit: int = 200):
    """The target's snapshots, newest first (reads the DB)."""
    if user is not None:
        require(user, "ops.view_target")
    return LockSnapshot.objects.filter(target=target).select_related("run").order_by("-taken_at")[:limit]


def snapshot_after_failure(run: Run, error: BaseException | None = None) -> LockSnapshot | None:
    """If ``run`` failed on ``lock_timeout``, keep what was blocking; never raises (connects, writes the DB).

    The engine takes the picture while the run waits (``LockTimeout.snapshot``),
    which shows the blocking tree as it was; only when it has none is a fresh
    one taken now, after the wait ended. Called by the worker after the run's
    outcome is recorded: a snapshot that fails is logged and forgotten, so it
    can never mask the run's own error.
    """
    try:
        run.refresh_from_db()
        if run.status != Run.Status.FAILED or run.error_code != "lock_timeout":
            return None
        taken = getattr(error, "snapshot", None)
        row = store_snapshot(run.target, LockSnapshot.Reason.RUN_FAILED, actor="system", run=run,
                             taken=taken if isinstance(taken, locks.Snapshot) else None)
        RunLog.objects.create(
            run=run, level="warning",
            message=f"Lock snapshot #{row.pk} kept: {row.root_blockers} root blocker(s), {row.blocked} "
                    "session(s) blocked when the run failed",
        )
        return row
    except Exception as exc:  # noqa: BLE001 - a diagnostic must never hide the run's own failure
        log.warning("lock snapshot after run %s failed: %s", run.pk, exc, extra={"run_id": run.pk})
        return None


def snapshot_all_targets(*, actor: str = "schedule:lock-snapshots") -> dict[str, int]:
    """Snapshot every active target, then purge old snapshots (connects to targets, writes the DB).

    One unreachable target is logged and skipped; the others are still taken.
    Running it twice only adds a second snapshot: safe to redeliver.
    """
    taken = failed = 0
    for target in Target.objects.filter(is_active=True).order_by("name"):
        try:
            store_snapshot(target, LockSnapshot.Reason.PERIODIC, actor=actor)
            taken += 1
        except (OpsError, DatabaseError, OSError) as exc:
            failed += 1
            log.warning("periodic lock snapshot of %s failed: %s", target.name, exc)
    return {"taken": taken, "failed": failed, "purged": purge_snapshots()}


def purge_snapshots(*, at: dt.datetime | None = None, days: int | None = None) -> int:
    """Delete snapshots older than MOP_SNAPSHOT_RETENTION_DAYS; returns how many (writes the DB)."""
    keep = settings.MOP_SNAPSHOT_RETENTION_DAYS if days is None else days
    if keep <= 0:
        return 0  # 0 means keep forever
    cutoff = (at or now()) - timedelta(days=keep)
    deleted, _ = LockSnapshot.objects.filter(taken_at__lt=cutoff).delete()
    return deleted


# --- acting on a backend ------------------------------------------------------------


def signal_backend(
    target: Target, action: str, *, pid: int, backend_start, reason: str, user=None, actor: str | None = None
) -> locks.ActionResult:
    """Cancel or terminate one backend of the target, if it is still that session, and audit it.

    Steps: 1 check the permission of the action and that a reason is given,
    2 call the engine with pid *and* backend_start (it refuses a reused pid,
    superusers, replication and the portal's own sessions), 3 audit the
    outcome: the victim's row and ``cleared``, or why nothing was done; the
    engine's refusal is raised again for the caller to show.
    """
    if action not in ACTIONS:
        raise ValidationError(f"Unknown action {action!r}: cancel or terminate")
    perm, engine_call, event = ACTIONS[action]
    if user is not None:
        require(user, perm)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(f"Say why you {action} this backend: a reason is required for the audit trail")
    if len(reason) > REASON_MAX:
        raise ValidationError(f"The reason is {len(reason)} characters long; keep it under {REASON_MAX}")
    who = _actor(user, actor)
    start = backend_start.isoformat() if isinstance(backend_start, dt.datetime) else str(backend_start)
    params: dict[str, Any] = {"pid": pid, "backend_start": start, "reason": reason}
    try:
        result = engine_call(target.conn(), pid, backend_start, f"{who}: {reason}")
    except OpsError as exc:
        audit.record(
            actor=who, actor_kind=_kind(user, actor), action=f"backend.{action}_refused", target=target,
            params={**params, "refusal": exc.data()}, outcome="refused", error=str(exc),
        )
        raise
    audit.record(
        actor=who, actor_kind=_kind(user, actor), action=event, target=target,
        params={
            **params, "victim": result.victim, "signalled": result.signalled, "cleared": result.cleared,
            "blocked_before": list(result.blocked_before), "still_blocked": list(result.still_blocked),
            "victim_gone": result.victim_gone,
        },
        outcome="succeeded" if result.signalled else "not_signalled",
    )
    return result
