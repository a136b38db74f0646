"""Matching SQLite sources and PostgreSQL targets for the verification tests and benchmark.

Rows are generated inside each database (generate_series in PostgreSQL, a
recursive CTE in SQLite) so a million rows take seconds, and both sides hold
the same values in their own native forms: REAL vs numeric, ISO text vs
timestamptz, 0/1 vs boolean, JSON text with other key order vs jsonb.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from migrations_ops.target import TargetConn

EVENTS_PG = """
CREATE TABLE events (
    id bigint PRIMARY KEY,
    account_id integer NOT NULL,
    amount numeric(12, 2),
    score double precision,
    note text,
    paid boolean NOT NULL,
    created_at timestamptz,
    payload jsonb
)
"""
EVENTS_PG_FILL = """
INSERT INTO events
SELECT i, i %% 1000 + 1, round((i %% 100000) / 100.0, 2), i * 0.1::float8, 'note ' || i, i %% 2 = 1,
       to_timestamp(1700000000 + i), jsonb_build_object('k', i, 'a', 'x')
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i
"""
EVENTS_SQLITE = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, amount NUMERIC, score REAL, note TEXT,
    paid INTEGER NOT NULL, created_at TEXT, payload TEXT
)
"""
EVENTS_SQLITE_FILL = """
WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?)
INSERT INTO events
SELECT i, i % 1000 + 1, round((i % 100000) / 100.0, 2), i * 0.1, 'note ' || i, i % 2,
       strftime('%Y-%m-%dT%H:%M:%SZ', 1700000000 + i, 'unixepoch'), json_object('a', 'x', 'k', i)
FROM s
"""


def pg_connect(target: TargetConn) -> psycopg.Connection:
    return psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True)


def build_events(target: TargetConn, sqlite_path: Path, rows: int, *, analyze: bool = True) -> None:
    """An ``events`` table of ``rows`` rows, identical on both sides."""
    with pg_connect(target) as pg:
        pg.execute(EVENTS_PG)
        pg.execute(EVENTS_PG_FILL, {"lo": 1, "hi": rows})
        if analyze:
            pg.execute("ANALYZE events")
    lite = sqlite3.connect(sqlite_path)
    with lite:
        lite.execute(EVENTS_SQLITE)
        lite.execute(EVENTS_SQLITE_FILL, (1, rows))
    lite.close()
