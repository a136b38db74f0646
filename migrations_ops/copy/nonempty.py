"""Target tables that already hold rows: count them, and refuse, empty or keep them (``if_not_empty``).

A second copy of the same file into a filled target used to import nothing
(every row a duplicate key) and still end green. Now the planning sees it
first: ``refuse`` (the default) stops before anything is written and names
the tables and their row counts; ``truncate`` empties them all in one
``TRUNCATE`` inside the planning transaction, so they are emptied together
with the plan being stored, or not at all, and a resume (which re-reads the
stored plan) never truncates again; ``append`` keeps the rows, and the
duplicates become rejects that the outcome then reports.
"""

from __future__ import annotations

import json

import psycopg
from psycopg import sql

from . import catalog
from .errors import TargetNotEmpty, TruncateBlocked
from .options import IF_NOT_EMPTY
from .sqlfiles import q, t


def count_rows(conn: psycopg.Connection, table: catalog.TargetTable) -> int:
    """Exact row count of a target table (the pre-flight shows it; a truncate audits it)."""
    return int(conn.execute(t("copy_t_count_rows", table=table.ident())).fetchone()[0])  # type: ignore[index]


def apply_mode(conn: psycopg.Connection, full: list[catalog.TargetTable], mode: str) -> dict[str, int]:
    """Deal with the non-empty target tables of a copy being planned; return what was truncated (name -> rows).

    Steps (in the caller's planning transaction): 1 nothing to do for no table
    or ``append``; 2 ``refuse``: count their rows and raise ``TargetNotEmpty``
    (the caller's transaction rolls back, nothing is written; no lock is
    taken for a refusal); 3 ``truncate``: lock them all exclusively, count
    them (so the counts are exactly what is removed), one ``TRUNCATE`` of
    all of them; the caller records the counts on the copy run.
    """
    if mode not in IF_NOT_EMPTY:
        raise ValueError(f"if_not_empty must be one of {', '.join(IF_NOT_EMPTY)}, not {mode!r}")
    if not full or mode == "append":
        return {}
    idents = sql.SQL(", ").join(tt.ident() for tt in full)
    if mode == "truncate":
        conn.execute(t("copy_t_lock_tables", tables=idents))
    counts = {f"{tt.schema}.{tt.name}": count_rows(conn, tt) for tt in full}
    if mode == "refuse":
        conn.rollback()
        raise TargetNotEmpty(sorted(counts.items()))
    try:
        with conn.transaction():
            conn.execute(t("copy_t_truncate", tables=idents))
    except psycopg.errors.FeatureNotSupported as exc:
        conn.rollback()
        raise TruncateBlocked(sorted(counts), str(exc).splitlines()[0]) from None
    return counts


def record_truncated(conn: psycopg.Connection, copy_id: str, counts: dict[str, int]) -> None:
    """Keep on ``mop.copy_run`` which tables the planning emptied and how many rows each held."""
    conn.execute(q("copy_run_truncated"), {"copy_id": copy_id, "truncated": json.dumps(counts)})
