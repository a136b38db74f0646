"""Errors of backups and restore tests."""

from __future__ import annotations

from ..errors import OpsError


class BackupFailed(OpsError):
    code = "backup_failed"
    explanation = (
        "The backup the target's settings ask for could not be taken, so no step of the run was started. "
        "Fix the cause (directory, space, permissions, pg_dump) and schedule the run again."
    )

    def __init__(self, reason: str) -> None:
        super().__init__(f"Backup before the run failed: {reason}", reason=reason)
