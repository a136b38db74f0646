"""The target's advisory lock: one operation per target, enforced by the target itself.

Key: the two-int form ``(0x4D4F50 'MOP', hashtext(current_database()))``,
session level, so that it survives the per-migration commits and dies with the
backend (a SIGKILLed worker's session ends and PostgreSQL releases it). The
copy engine takes the same lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import queries

LOCK_KEY1 = 0x4D4F50  # 'MOP'

@dataclass(frozen=True, slots=True)
class LockHolder:
    """The backend holding the target's lock."""

    pid: int | None
    application_name: str | None


def params() -> dict[str, Any]:
    return {"k1": LOCK_KEY1}


def try_lock(execute: Any) -> bool:
    """Try the lock through ``execute(query, params) -> first row``; never waits."""
    row = execute(queries.get("advisory_try_lock"), params())
    return bool(row and row[0])


def holder(execute: Any) -> LockHolder:
    """Who holds the lock now (pid and application), or ``LockHolder(None, None)`` if it is gone."""
    row = execute(queries.get("advisory_holder"), params())
    if not row:
        return LockHolder(None, None)
    return LockHolder(row[0], row[1])


def unlock(execute: Any) -> bool:
    row = execute(queries.get("advisory_unlock"), params())
    return bool(row and row[0])
