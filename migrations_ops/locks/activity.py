"""Activity of a target: the summary strip and the lists of sessions worth a look.

Each public function opens its own short diagnostic connection; the ``*_on``
variants take an open one, so a snapshot reads everything in one go.
"""

from __future__ import annotations

import psycopg

from ..target import TargetConn
from .connection import DEFAULT_STATEMENT_TIMEOUT_MS, diag_connection, fetch_all
from .models import ActivitySummary, Session

DEFAULT_LIMIT = 100


def activity_summary(
    target: TargetConn, *, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
) -> ActivitySummary:
    """Summarise ``target``: connections against max_connections, sessions by state, oldest things.

    :param target: the database to look at; the counts are its sessions, ``connections`` the server's.
    :param statement_timeout_ms: limit of the diagnostic query.
    """
    with diag_connection(target, statement_timeout_ms) as conn:
        return activity_summary_on(conn)


def long_transactions(
    target: TargetConn,
    min_seconds: float = 60.0,
    *,
    limit: int = DEFAULT_LIMIT,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
) -> tuple[Session, ...]:
    """List sessions whose transaction has been open ``min_seconds`` or more, oldest first.

    :param min_seconds: the age from which a transaction counts as long.
    :param limit: at most this many sessions.
    """
    with diag_connection(target, statement_timeout_ms) as conn:
        return long_transactions_on(conn, min_seconds, limit=limit)


def idle_in_transaction(
    target: TargetConn,
    min_seconds: float = 0.0,
    *,
    limit: int = DEFAULT_LIMIT,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
) -> tuple[Session, ...]:
    """List sessions idle in a transaction for ``min_seconds`` or more: they hold locks doing nothing.

    :param min_seconds: how long a session must have been idle in its transaction.
    :param limit: at most this many sessions.
    """
    with diag_connection(target, statement_timeout_ms) as conn:
        return idle_in_transaction_on(conn, min_seconds, limit=limit)


def xmin_holders(
    target: TargetConn, *, limit: int = DEFAULT_LIMIT, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
) -> tuple[Session, ...]:
    """List sessions holding back the xmin horizon (what VACUUM may clean), oldest xmin first.

    :param limit: at most this many sessions.
    """
    with diag_connection(target, statement_timeout_ms) as conn:
        return xmin_holders_on(conn, limit=limit)


def activity_summary_on(conn: psycopg.Connection) -> ActivitySummary:
    return fetch_all(conn, "activity_summary", ActivitySummary)[0]


def sessions_on(conn: psycopg.Connection) -> tuple[Session, ...]:
    """Every session of the database but ours: one read that all three lists are cut from."""
    return tuple(fetch_all(conn, "sessions", Session))


def long_transactions_on(
    conn: psycopg.Connection, min_seconds: float = 60.0, *, limit: int = DEFAULT_LIMIT,
    sessions: tuple[Session, ...] | None = None,
) -> tuple[Session, ...]:
    _check(min_seconds, limit)
    rows = sessions if sessions is not None else sessions_on(conn)
    long = [s for s in rows if s.xact_seconds is not None and s.xact_seconds >= min_seconds]
    return tuple(sorted(long, key=lambda s: -(s.xact_seconds or 0.0))[:limit])


def idle_in_transaction_on(
    conn: psycopg.Connection, min_seconds: float = 0.0, *, limit: int = DEFAULT_LIMIT,
    sessions: tuple[Session, ...] | None = None,
) -> tuple[Session, ...]:
    _check(min_seconds, limit)
    rows = sessions if sessions is not None else sessions_on(conn)
    idle = [s for s in rows if (s.state or "").startswith("idle in transaction")
            and (s.state_seconds or 0.0) >= min_seconds]
    return tuple(sorted(idle, key=lambda s: -(s.state_seconds or 0.0))[:limit])


def xmin_holders_on(
    conn: psycopg.Connection, *, limit: int = DEFAULT_LIMIT, sessions: tuple[Session, ...] | None = None
) -> tuple[Session, ...]:
    _check(0.0, limit)
    rows = sessions if sessions is not None else sessions_on(conn)
    holders = [s for s in rows if s.xmin_age is not None]
    return tuple(sorted(holders, key=lambda s: -(s.xmin_age or 0))[:limit])


def _check(min_seconds: float, limit: int) -> None:
    if min_seconds < 0:
        raise ValueError("min_seconds must not be negative")
    if limit < 1:
        raise ValueError("limit must be at least 1")
