"""The diagnostic connection: autocommit, ``mop:diag``, and a short statement timeout.

Watching a server must never load it: every diagnostic statement runs under
``statement_timeout`` (100 ms unless told otherwise) and is cancelled past it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import kwargs_row

from .. import queries
from ..target import TargetConn, connect
from .errors import DiagnosticsTimeout

DIAG_APPLICATION = "mop:diag"
DEFAULT_STATEMENT_TIMEOUT_MS = 100

R = TypeVar("R")
_TIMEOUTS: weakref.WeakKeyDictionary[psycopg.Connection, int] = weakref.WeakKeyDictionary()


@contextmanager
def diag_connection(
    target: TargetConn, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
) -> Iterator[psycopg.Connection]:
    """Open a diagnostic connection to ``target`` with its statement timeout set.

    :param target: the database to look at.
    :param statement_timeout_ms: per statement; 0 would disable it, so it is refused.
    """
    if statement_timeout_ms <= 0:
        raise ValueError("statement_timeout_ms must be positive")
    with connect(target, application_name=DIAG_APPLICATION, autocommit=True) as conn:
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false)", (f"{int(statement_timeout_ms)}ms",)
        )
        _TIMEOUTS[conn] = int(statement_timeout_ms)
        yield conn


def fetch_all(
    conn: psycopg.Connection,
    name: str,
    row_type: type[R],
    params: Mapping[str, Any] | None = None,
    composed: Mapping[str, sql.Composable] | None = None,
) -> list[R]:
    """Run query file ``name`` into ``row_type`` rows, turning a timeout into ``DiagnosticsTimeout``.

    :param composed: placeholders of the file (``{signal}``) filled with ``psycopg.sql`` objects.
    """
    text = queries.get(name)
    query: sql.Composable = sql.SQL(text).format(**composed) if composed else sql.SQL(text)
    try:
        with conn.cursor(row_factory=kwargs_row(row_type)) as cur:
            cur.execute(query, params)
            return cur.fetchall()
    except psycopg.errors.QueryCanceled:
        raise DiagnosticsTimeout(name, current_timeout_ms(conn)) from None


def current_timeout_ms(conn: psycopg.Connection) -> int | None:
    """The statement timeout ``diag_connection`` set on ``conn``, if it opened it."""
    return _TIMEOUTS.get(conn)
