"""The copy's SQL, read from ``migrations_ops/queries/copy_*.sql`` (STYLE 8).

``q(name)`` is a query with ``%(param)s`` values; ``t(name, **parts)`` fills a
template's ``{slot}`` identifiers and fragments through ``psycopg.sql`` (files
named ``copy_t_*``), so no statement is ever built by string formatting.
"""

from __future__ import annotations

from psycopg import sql

from migrations_ops import queries


def q(name: str) -> sql.SQL:
    """The query ``name`` (values passed as parameters by the caller)."""
    return sql.SQL(queries.get(name))  # type: ignore[arg-type]


def t(query_name: str, /, **parts: sql.Composable) -> sql.Composed:
    """The template ``query_name`` with its slots filled by composed identifiers or fragments."""
    return sql.SQL(queries.get(query_name)).format(**parts)  # type: ignore[arg-type]
