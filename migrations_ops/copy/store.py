"""Copy state kept in the target itself (schema ``mop``) and the target's advisory lock.

Keeping checkpoints in the target is what makes a range atomic: its rows,
its checkpoint row and its rejects commit in one transaction, so a killed
worker leaves nothing half-counted. The lock is the one of
``migrations_ops/advisory.py`` (the migration runner's), in the variants a
copy needs: range workers of one copy share it, per transaction.
"""

from __future__ import annotations

from typing import Any

import psycopg

from migrations_ops import advisory
from migrations_ops.errors import TargetBusy

from . import bookkeeping
from .sqlfiles import q

_TRY_LOCK = {
    (True, False): "copy_advisory_try_lock_shared",
    (False, True): "copy_advisory_try_lock_xact",
    (True, True): "copy_advisory_try_lock_shared_xact",
}


def ensure_schema(conn: psycopg.Connection) -> str | None:
    """Create the ``mop`` schema and its copy tables if missing (caller holds the exclusive lock), and keep
    it out of the ``search_path`` of a role named ``mop`` (``bookkeeping``); returns a line for the log, if any."""
    conn.execute(q("copy_schema"))
    return bookkeeping.put_out_of_the_way(conn)


def _first_row(conn: psycopg.Connection) -> Any:
    return lambda query, params: conn.execute(query, params).fetchone()


def take_target_lock(conn: psycopg.Connection, shared: bool = False, xact: bool = False) -> None:
    """Take the target's advisory lock without waiting, or raise ``TargetBusy`` naming the holder.

    :param shared: range workers of one copy share it; the copy's own steps and
        the migration runner take it exclusively.
    :param xact: release at transaction end instead of session end.
    """
    if (shared, xact) == (False, False):
        locked = advisory.try_lock(_first_row(conn))
    else:
        row = conn.execute(q(_TRY_LOCK[(shared, xact)]), advisory.params()).fetchone()
        locked = bool(row and row[0])
    if locked:
        return
    holder = advisory.holder(_first_row(conn))
    if not conn.autocommit:
        conn.rollback()
    raise TargetBusy(holder.pid, holder.application_name)


def release_target_lock(conn: psycopg.Connection) -> None:
    advisory.unlock(_first_row(conn))
