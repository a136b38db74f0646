"""Copy state kept in the target itself (schema ``mop``) and the target's advisory lock.

Keeping checkpoints in the target is what makes a range atomic: its rows,
its checkpoint row and its rejects commit in one transaction, so a killed
worker leaves nothing half-counted.
"""

from __future__ import annotations

import psycopg

from migrations_ops.errors import TargetBusy

LOCK_NAMESPACE = 0x4D4F50
"""key1 of the target lock ('MOP'); key2 is hashtext(current_database()). The migration runner uses it too."""

_DDL = (
    "CREATE SCHEMA IF NOT EXISTS mop",
    """CREATE TABLE IF NOT EXISTS mop.copy_run (
        copy_id text PRIMARY KEY, source text NOT NULL, plan jsonb NOT NULL, options jsonb NOT NULL,
        status text NOT NULL DEFAULT 'running', started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz, summary jsonb)""",
    """CREATE TABLE IF NOT EXISTS mop.copy_checkpoint (
        copy_id text NOT NULL, table_name text NOT NULL, range_lo bigint NOT NULL, range_hi bigint NOT NULL,
        rows_read bigint NOT NULL DEFAULT 0, rows_copied bigint NOT NULL DEFAULT 0,
        rows_rejected bigint NOT NULL DEFAULT 0, bytes bigint NOT NULL DEFAULT 0,
        seconds double precision NOT NULL DEFAULT 0, finished_at timestamptz,
        PRIMARY KEY (copy_id, table_name, range_lo))""",
    """CREATE TABLE IF NOT EXISTS mop.copy_reject (
        id bigserial PRIMARY KEY, copy_id text NOT NULL, table_name text NOT NULL, range_lo bigint, key text,
        column_name text, value_hex text, reason text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())""",
    "CREATE INDEX IF NOT EXISTS copy_reject_copy_idx ON mop.copy_reject (copy_id, table_name, id)",
    """CREATE TABLE IF NOT EXISTS mop.copy_saved_ddl (
        copy_id text NOT NULL, kind text NOT NULL, schema_name text NOT NULL, table_name text NOT NULL,
        name text NOT NULL, definition text NOT NULL, restored_at timestamptz,
        PRIMARY KEY (copy_id, kind, schema_name, table_name, name))""",
)

_HOLDER_Q = """
SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::int4::oid
  AND l.objid = hashtext(current_database())::oid AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.pid <> pg_backend_pid()
LIMIT 1
"""


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create the ``mop`` schema and its copy tables if missing (caller holds the exclusive lock)."""
    for stmt in _DDL:
        conn.execute(stmt)  # type: ignore[arg-type]


def take_target_lock(conn: psycopg.Connection, shared: bool = False, xact: bool = False) -> None:
    """Take the target's advisory lock without waiting, or raise ``TargetBusy`` naming the holder.

    :param shared: range workers of one copy share it; the copy's own steps and
        the migration runner take it exclusively.
    :param xact: release at transaction end instead of session end.
    """
    fn = {
        (False, False): "SELECT pg_try_advisory_lock(%s, hashtext(current_database()))",
        (True, False): "SELECT pg_try_advisory_lock_shared(%s, hashtext(current_database()))",
        (False, True): "SELECT pg_try_advisory_xact_lock(%s, hashtext(current_database()))",
        (True, True): "SELECT pg_try_advisory_xact_lock_shared(%s, hashtext(current_database()))",
    }[(shared, xact)]
    if conn.execute(fn, (LOCK_NAMESPACE,)).fetchone()[0]:  # type: ignore[arg-type,index]
        return
    holder = conn.execute(_HOLDER_Q, (LOCK_NAMESPACE,)).fetchone()
    if not conn.autocommit:
        conn.rollback()
    raise TargetBusy(holder[0] if holder else None, holder[1] if holder else None)


def release_target_lock(conn: psycopg.Connection) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s, hashtext(current_database()))", (LOCK_NAMESPACE,))
