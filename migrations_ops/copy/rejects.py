"""The reject store: rows that could not be converted, and replacement warnings.

A reject row names the table, the row's key (its primary key values, or
``rowid:N``, the SQLite rowid, for a table without a primary key), the column, the value as hex and the reason (``code: detail``).
Replacements under the ``replace`` text policy are stored too, with a reason
starting ``replaced:``; they are warnings, not rejected rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from migrations_ops.target import TargetConn, connect

from .sqlfiles import q

RejectRecord = tuple[str, "str | None", str, str]


def reject_key(rowid: object, pk: Sequence[object]) -> str:
    """A reject's key, one rule for the copy and the pre-flight: primary key values, else ``rowid:N``.

    SQLite lets a non-INTEGER primary key column hold NULL; a key with a NULL
    part names no row, so the rowid is used as for a keyless table.

    >>> reject_key(7, ("C1", 2)), reject_key(7, ("C1", None)), reject_key(7, ())
    ('C1, 2', 'rowid:7', 'rowid:7')
    """
    if pk and all(v is not None for v in pk):
        return ", ".join(str(v) for v in pk)
    return f"rowid:{rowid}"


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
        cur.executemany(q("copy_reject_insert"), [
            {"copy_id": copy_id, "table_name": table, "range_lo": range_lo, "key": k, "column_name": c,
             "value_hex": h, "reason": r} for k, c, h, r in records])


def forget_range(conn: psycopg.Connection, copy_id: str, table: str, range_lo: int) -> None:
    """Drop rejects a stopped attempt of this range kept, before the range is redone."""
    conn.execute(q("copy_reject_forget"), {"copy_id": copy_id, "table_name": table, "range_lo": range_lo})


def count_rejected_rows(conn: psycopg.Connection, copy_id: str) -> int:
    """Rows rejected by the committed ranges of this copy."""
    row = conn.execute(q("copy_rejected_rows"), {"copy_id": copy_id}).fetchone()
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
        if not conn.execute(q("copy_store_exists")).fetchone()[0]:  # type: ignore[index]
            return []
        rows = conn.execute(q("copy_reject_list"), {"copy_id": copy_id, "table_name": table,
                                                    "include_warnings": include_warnings, "row_limit": limit}).fetchall()
    return [RejectRow(*r) for r in rows]
