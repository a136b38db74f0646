"""A snapshot of a target's activity: summary, blocking tree and lists, read at one moment.

Everything is read in one transaction: PostgreSQL then serves every read of
``pg_stat_activity`` from the same copy of the backends' status, so the
summary, the tree and the lists agree with each other.
"""

from __future__ import annotations

import datetime as dt
import time

import psycopg

from ..target import TargetConn
from .activity import (
    activity_summary_on,
    idle_in_transaction_on,
    long_transactions_on,
    sessions_on,
    xmin_holders_on,
)
from .blocking import build_tree, read_blocking_rows
from .connection import DEFAULT_STATEMENT_TIMEOUT_MS, diag_connection
from .models import Snapshot


def take_snapshot(
    target: TargetConn,
    *,
    long_transaction_seconds: float = 60.0,
    limit: int = 100,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
) -> Snapshot:
    """Take a snapshot of ``target``'s activity, to store (``to_json()``) and render later.

    :param target: the database to look at.
    :param long_transaction_seconds: from this age a transaction is listed as long.
    :param limit: at most this many sessions per list.
    :param statement_timeout_ms: limit of each diagnostic query.
    """
    with diag_connection(target, statement_timeout_ms) as conn:
        return read_snapshot(conn, target.where(), long_transaction_seconds=long_transaction_seconds, limit=limit)


def read_snapshot(
    conn: psycopg.Connection, target_label: str, *, long_transaction_seconds: float = 60.0, limit: int = 100
) -> Snapshot:
    """Read a snapshot on an open diagnostic connection (the benchmark reuses one)."""
    started = time.perf_counter()
    with conn.transaction():
        taken_at = dt.datetime.now(dt.UTC)
        summary = activity_summary_on(conn)
        tree = build_tree(read_blocking_rows(conn))
        sessions = sessions_on(conn)
        long = long_transactions_on(conn, long_transaction_seconds, limit=limit, sessions=sessions)
        idle = idle_in_transaction_on(conn, 0.0, limit=limit, sessions=sessions)
        xmin = xmin_holders_on(conn, limit=limit, sessions=sessions)
    return Snapshot(
        taken_at=taken_at,
        target=target_label,
        server_version=conn.info.server_version,
        summary=summary,
        tree=tree,
        long_transactions=long,
        idle_in_transaction=idle,
        xmin_holders=xmin,
        seconds=round(time.perf_counter() - started, 6),
    )
