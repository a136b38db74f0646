"""Backups before a run (pg_dump -Fc of a scope), the tables a plan touches, and restore tests."""

from .errors import BackupFailed
from .restore import RestoreCheck, restore_test
from .take import SCOPES, BackupResult, sha256_of, take_backup
from .touched import touched_tables

__all__ = ["SCOPES", "BackupFailed", "BackupResult", "RestoreCheck", "restore_test", "sha256_of", "take_backup",
           "touched_tables"]
