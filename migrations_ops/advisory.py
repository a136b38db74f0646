"""The target's advisory lock: one operation per target, enforced by the target itself.

Key: the two-int form ``(0x4D4F50 'MOP', hashtext(current_database()))``,
session level, so that it survives the per-migration commits and dies with the
backend (a SIGKILLed worker's session ends and PostgreSQL releases it). The
copy engine takes the same lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql

LOCK_KEY1 = 0x4D4F50  # 'MOP'

TRY_LOCK = sql.SQL("SELECT pg_try_advisory_lock(%(k1)s, hashtext(current_database()))")
UNLOCK = sql.SQL("SELECT pg_advisory_unlock(%(k1)s, hashtext(current_database()))")
# -- who holds the target's advisory lock: pid and application_name
HOLDER = sql.SQL(
    """
    SELECT l.pid, a.application_name, a.state, a.query
    FROM pg_locks l
    LEFT JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory'
      AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = %(k1)s::int4::oid
      AND l.objid = hashtext(current_database())::oid
      AND l.objsubid = 2
    ORDER BY l.pid
    LIMIT 1
    """
)


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The backend holding the target's lock."""

    pid: int | None
    application_name: str | None


def params() -> dict[str, Any]:
    return {"k1": LOCK_KEY1}


def try_lock(execute: Any) -> bool:
    """Try the lock through ``execute(query, params) -> first row``; never waits."""
    row = execute(TRY_LOCK, params())
    return bool(row and row[0])


def holder(execute: Any) -> LockHolder:
    """Who holds the lock now (pid and application), or ``LockHolder(None, None)`` if it is gone."""
    row = execute(HOLDER, params())
    if not row:
        return LockHolder(None, None)
    return LockHolder(row[0], row[1])


def unlock(execute: Any) -> bool:
    row = execute(UNLOCK, params())
    return bool(row and row[0])
