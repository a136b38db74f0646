"""Backups before a run, their retention (audited deletions) and restore tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.timezone import now

from migrations_ops.backup import BackupFailed, restore_test, take_backup, touched_tables
from migrations_ops.errors import OpsError
from portal.ops import audit
from portal.ops.models import AuditEvent, Run, Target
from portal.ops.secrets import redact

from . import requirements
from .models import Backup, BackupScope
from .perms import require
from .servers import rehearsal_server, settings_for


def backup_dir(target: Target) -> Path:
    conf = settings_for(target)
    return Path(conf.backup_dir) if conf.backup_dir else Path(settings.MOP_VAR_DIR) / "backups" / target.name


def backup_before_run(run: Run, log) -> Backup | None:
    """Take the backup the environment's policy asks for before the run's first step (writes the DB).

    The scope is the policy's; the directory and retention are the target's.

    :param log: ``log(message, level)`` of the run's live log.
    :raises BackupFailed: the run must then fail before any step.
    """
    policy = requirements.policy_of(run.target)
    scope = policy.backup_scope
    if scope == BackupScope.NONE or run.operation not in (Run.Operation.UPGRADE, Run.Operation.DOWNGRADE):
        return None
    conn = run.target.conn()
    tables = touched_tables(run.sql) if scope == BackupScope.TOUCHED else []
    name = f"{run.target.name}-run{run.pk}-{now():%Y%m%dT%H%M%S}"
    log(f"Backup ({policy.get_backup_scope_display().lower()}, {policy}) of {run.target.name} into {backup_dir(run.target)}")
    try:
        result = take_backup(conn, scope, backup_dir(run.target), name, tables)
    except BackupFailed as exc:
        reason = redact(str(exc), conn.password)
        Backup.objects.create(target=run.target, run=run, scope=scope, tables=tables,
                              status=Backup.Status.FAILED, error=reason)
        _audit(run.target, run, "backup.failed", "failed", {"scope": scope}, reason)
        raise
    backup = Backup.objects.create(
        target=run.target, run=run, scope=result.scope, tables=list(result.tables), path=result.path,
        size=result.size, seconds=result.seconds, sha256=result.sha256, row_counts=result.row_counts,
        restore_command=result.restore_command, status=Backup.Status.OK)
    _audit(run.target, run, "backup.taken", "succeeded",
           {"backup": backup.pk, "scope": result.scope, "tables": list(result.tables), "size": result.size,
            "sha256": result.sha256, "seconds": result.seconds})
    log(f"Backup #{backup.pk} taken: {result.size} bytes in {result.seconds:.2f} s, sha256 {result.sha256[:16]}…; "
        f"restore with: {result.restore_command}")
    prune(run.target)
    return backup


def _audit(target, run, action: str, outcome: str, params: dict, error: str = "", actor: str = "system",
           kind: str = AuditEvent.ActorKind.SYSTEM) -> None:
    audit.record(actor=actor, actor_kind=kind, action=action, target=target, run=run,
                 operation=run.operation if run else "", outcome=outcome, params=params, error=error)


def prune(target: Target, *, at=None) -> list[Backup]:
    """Delete backups beyond the target's count or age limits; each deletion is audited (writes disk and DB)."""
    conf = settings_for(target)
    cutoff = (at or now()) - timedelta(days=conf.backup_keep_days)
    kept = list(Backup.objects.filter(target=target, status=Backup.Status.OK).order_by("-created_at", "-id"))
    doomed = [b for i, b in enumerate(kept) if i >= conf.backup_keep_count or b.created_at < cutoff]
    for b in doomed:
        why = "count" if kept.index(b) >= conf.backup_keep_count else "age"
        with transaction.atomic():
            Path(b.path).unlink(missing_ok=True)
            Backup.objects.filter(pk=b.pk).update(status=Backup.Status.DELETED)
            _audit(target, b.run, "backup.deleted", "deleted",
                   {"backup": b.pk, "path": b.path, "sha256": b.sha256, "reason": f"retention by {why}",
                    "keep_count": conf.backup_keep_count, "keep_days": conf.backup_keep_days})
    return doomed


def run_restore_test(backup: Backup, *, user=None, actor: str | None = None) -> Backup:
    """Restore a backup into a scratch database and verify it; stores the result (audited)."""
    if user is not None:
        require(user, "assure.restore_test_backup")
    who = actor or (user.get_username() if user is not None else "system")
    if backup.status != Backup.Status.OK:
        raise OpsError(f"Backup #{backup.pk} is {backup.get_status_display().lower()}; nothing to restore")
    _server, conn = rehearsal_server(backup.target)
    try:
        check = restore_test(Path(backup.path), backup.sha256, conn, backup.row_counts,
                             partial=backup.scope == BackupScope.TOUCHED).to_json()
    except OpsError as exc:
        check = {"passed": False, "problems": [redact(str(exc), conn.password)], "tables": {}, "seconds": 0}
    Backup.objects.filter(pk=backup.pk).update(restore_tested_at=now(), restore_test=check)
    _audit(backup.target, backup.run, "backup.restore_tested", "passed" if check["passed"] else "failed",
           {"backup": backup.pk, "problems": check["problems"][:20], "tables": len(check["tables"])},
           actor=who, kind=AuditEvent.ActorKind.USER if user is not None else AuditEvent.ActorKind.SYSTEM)
    backup.refresh_from_db()
    return backup
