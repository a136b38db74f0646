"""The reject store: rows that could not be converted, and replacement warnings.

A reject row names the table, the row's key (its primary key values, or
``rowid=N``), the column, the value as hex and the reason (``code: detail``).
Replacements under the ``replace`` text policy are stored too, with a reason
starting ``replaced:``; they are warnings, not rejected rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from migrations_ops.target import TargetConn, connect

RejectRecord = tuple[str, "str | None", str, str]


@dataclass(frozen=True, slots=True)
class RejectRow:
    table: str
    key: str
    column: str | None
    value_hex: str
    reason: str
    created_at: str

    @property
    def code(self) -> str:
        return self.reason.split(":", 1)[0]


def store(conn: psycopg.Connection, copy_id: str, table: str, range_lo: int, records: Sequence[RejectRecord]) -> None:
    """Insert reject records in the caller's transaction (they commit with the range)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO mop.copy_reject (copy_id, table_name, range_lo, key, column_name, value_hex, reason) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(copy_id, table, range_lo, k, c, h, r) for k, c, h, r in records],
        )


def forget_range(conn: psycopg.Connection, copy_id: str, table: str, range_lo: int) -> None:
    """Drop rejects a stopped attempt of this range kept, before the range is redone."""
    conn.execute(
        "DELETE FROM mop.copy_reject WHERE copy_id = %s AND table_name = %s AND range_lo = %s",
        (copy_id, table, range_lo),
    )


def count_rejected_rows(conn: psycopg.Connection, copy_id: str) -> int:
    """Rows rejected by the committed ranges of this copy."""
    row = conn.execute(
        "SELECT coalesce(sum(rows_rejected), 0) FROM mop.copy_checkpoint WHERE copy_id = %s AND finished_at IS NOT NULL",
        (copy_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def list_rejects(
    target: TargetConn, copy_id: str, table: str | None = None, limit: int | None = None, *,
    include_warnings: bool = True,
) -> list[RejectRow]:
    """Read back the rejects (and, by default, replacement warnings) of a copy, oldest first.

    :param table: only this source table.
    :param limit: at most this many rows.
    """
    with connect(target, f"mop:copy:{copy_id}:rejects") as conn:
        if conn.execute("SELECT to_regclass('mop.copy_reject')").fetchone()[0] is None:  # type: ignore[index]
            return []
        rows = conn.execute(
            "SELECT table_name, key, column_name, value_hex, reason, created_at::text FROM mop.copy_reject "
            "WHERE copy_id = %s AND (%s::text IS NULL OR table_name = %s) "
            "AND (%s OR reason NOT LIKE 'replaced:%%') ORDER BY id LIMIT %s",
            (copy_id, table, table, include_warnings, limit),
        ).fetchall()
    return [RejectRow(*r) for r in rows]
