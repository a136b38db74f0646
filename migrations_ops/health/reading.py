"""Take a health reading of a target: activity, database counters, sizes, indexes, statements.

One diagnostic connection (``mop:diag``, short ``statement_timeout``), one
transaction, so every statistics view is read from the same copy. The
largest tables are chosen by ``pg_class.relpages`` before their files are
sized, which keeps a database of thousands of relations cheap to watch.
"""

from __future__ import annotations

import datetime as dt
import time

import psycopg

from ..locks.activity import activity_summary_on
from ..locks.connection import diag_connection, fetch_all
from ..target import TargetConn
from .models import (
    DatabaseStats,
    DuplicateIndexes,
    HealthReading,
    IndexUse,
    Statement,
    TableMaintenance,
    TableSize,
)

# Health readings do more than the lock view's one query: a wider budget per statement, still bounded.
HEALTH_STATEMENT_TIMEOUT_MS = 2000
HOW_TO_ENABLE_STATEMENTS = (
    "add pg_stat_statements to shared_preload_libraries in postgresql.conf, restart the server, then run "
    "CREATE EXTENSION pg_stat_statements; in this database (as a superuser or the database owner)"
)


def take_reading(
    target: TargetConn,
    *,
    top: int = 20,
    min_dead_share: float = 0.2,
    min_dead_rows: int = 1000,
    statement_timeout_ms: int = HEALTH_STATEMENT_TIMEOUT_MS,
) -> HealthReading:
    """Read ``target``'s health figures now.

    :param target: the database to look at.
    :param top: at most this many tables, indexes and statements per list.
    :param min_dead_share: from this share of dead rows a table is listed (with ``min_dead_rows``).
    :param statement_timeout_ms: limit of each diagnostic query.
    """
    if top <= 0 or not 0 < min_dead_share <= 1:
        raise ValueError("top must be positive and min_dead_share in (0, 1]")
    with diag_connection(target, statement_timeout_ms) as conn:
        return read_health(conn, target.where(), top=top, min_dead_share=min_dead_share, min_dead_rows=min_dead_rows)


def read_health(
    conn: psycopg.Connection, label: str, *, top: int = 20, min_dead_share: float = 0.2, min_dead_rows: int = 1000
) -> HealthReading:
    """Read a health reading on an open diagnostic connection (the benchmark reuses one)."""
    started = time.perf_counter()
    limit = {"limit": top}
    with conn.transaction():
        taken_at = dt.datetime.now(dt.UTC)
        summary = activity_summary_on(conn)
        database = fetch_all(conn, "health_database", DatabaseStats)[0]
        tables = fetch_all(conn, "health_largest_tables", TableSize, limit)
        maintenance = fetch_all(conn, "health_table_maintenance", TableMaintenance,
                                {"min_dead_share": min_dead_share, "min_dead_rows": min_dead_rows, "limit": top})
        indexes = fetch_all(conn, "health_index_usage", IndexUse, limit)
        duplicates = fetch_all(conn, "health_duplicate_indexes", DuplicateIndexes, limit)
        statements, note = _statements(conn, top)
    return HealthReading(
        taken_at=taken_at, target=label, server_version=conn.info.server_version, summary=summary,
        database=database, largest_tables=tuple(tables), maintenance=tuple(maintenance), indexes=tuple(indexes),
        duplicate_indexes=tuple(duplicates), statements=tuple(statements), statements_note=note,
        seconds=round(time.perf_counter() - started, 6),
    )


def statements_note(installed: str | None, available: bool, preloaded: bool) -> str:
    """Why pg_stat_statements cannot be read, and how to enable it; empty when it can.

    >>> statements_note("1.10", True, True)
    ''
    >>> statements_note(None, True, False).split(":")[0]
    'pg_stat_statements is not loaded by the server and not installed in this database'
    >>> statements_note(None, False, False).startswith("pg_stat_statements is not shipped")
    True
    """
    if installed and preloaded:
        return ""
    if not available:
        return ("pg_stat_statements is not shipped with this server (install the PostgreSQL contrib package), "
                "so no statement times are kept; then " + HOW_TO_ENABLE_STATEMENTS)
    missing = " and ".join(w for w, gone in (("not loaded by the server", not preloaded),
                                               ("not installed in this database", not installed)) if gone)
    return f"pg_stat_statements is {missing}: no statement times are kept; to enable it, {HOW_TO_ENABLE_STATEMENTS}"


def _statements(conn: psycopg.Connection, top: int) -> tuple[list[Statement], str]:
    from .. import queries

    installed, available, preloaded = conn.execute(queries.get("health_statements_state")).fetchone()  # type: ignore[misc]
    if preloaded is None and installed:  # the role may not see the setting: try the view itself
        try:
            with conn.transaction():
                return fetch_all(conn, "health_top_statements", Statement, {"limit": top}), ""
        except psycopg.Error as exc:
            return [], (f"pg_stat_statements cannot be read by this role ({exc.diag.message_primary or exc}); "
                        f"grant it pg_read_all_stats (or pg_monitor), or {HOW_TO_ENABLE_STATEMENTS}")
    note = statements_note(installed, bool(available), bool(preloaded))
    if note:
        return [], note
    return fetch_all(conn, "health_top_statements", Statement, {"limit": top}), ""
