"""Per-range row counts and checksums of one table, on the target and on the SQLite source.

A range's checksum is the sum of the first 60 bits of md5 over each row's
canonical text (see ``canonical``). A sum is order-independent, cannot hit
PostgreSQL's 1 GB limit the way ``string_agg`` of a table does, and sums of
sub-ranges add up, which is what bisection needs. PostgreSQL computes it in
the server; SQLite computes it through a Python aggregate registered on the
connection, so neither side ships rows to compare them.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from .canonical import (
    ColumnType,
    pg_field,
    pg_row_hash,
    pg_row_text,
    sqlite_field_sql,
    sqlite_functions,
    sqlite_sql,
)
from .schema import key_range, qualified, run


@dataclass(frozen=True, slots=True)
class Summary:
    """Count and hash sum of the rows of one key range."""

    rows: int
    hashsum: int


def _md5(data: bytes) -> Any:
    return hashlib.md5(data, usedforsecurity=False)


class _HashSum:
    """SQLite aggregate: sum of 60-bit md5 prefixes, returned as text (it exceeds 64 bits)."""

    def __init__(self) -> None:
        self.total = 0

    def step(self, data: bytes) -> None:
        # the row text arrives as a BLOB: its UTF-8 bytes, with no decode/encode round trip
        self.total += int.from_bytes(_md5(data).digest()[:8], "big") >> 4

    def finalize(self) -> str:
        return str(self.total)


def open_sqlite(path: str) -> sqlite3.Connection:
    """Open the source read-only, with the functions the checksum queries call."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
    for name, (nargs, fn) in sqlite_functions().items():
        conn.create_function(name, nargs, fn, deterministic=True)
    conn.create_aggregate("mop_hashsum", 1, _HashSum)
    return conn


_CONNS: dict[str, sqlite3.Connection] = {}
_STOP: Any = None


def init_worker(stop: Any) -> None:
    """Worker process start: remember the run's stop event (set on cancel)."""
    global _STOP
    _STOP = stop


def _stopped() -> int:
    return 1 if _STOP is not None and _STOP.is_set() else 0


def _process_conn(path: str) -> sqlite3.Connection:
    """One read-only connection per source file in each worker process; cancel interrupts its statement."""
    if path not in _CONNS:
        _CONNS[path] = open_sqlite(path)
        _CONNS[path].set_progress_handler(_stopped, 100_000)
    return _CONNS[path]


class PgSide:
    """Checksums of a target table, computed by the server in one statement per range."""

    def __init__(self, conn: psycopg.Connection, schema: str, table: str, columns: Sequence[tuple[str, ColumnType]],
                 key: str | None, timeout_ms: int, lock_timeout_ms: int, estimate: int = -1,
                 key_columns: Sequence[tuple[str, ColumnType]] = ()) -> None:
        self.conn, self.table, self.key, self.estimate = conn, table, key, estimate
        self.timeout_ms, self.lock_timeout_ms = timeout_ms, lock_timeout_ms
        self.rel = qualified(schema, table)
        self.fields = [pg_field(sql.Identifier(c), ct) for c, ct in columns]
        self.row_text = pg_row_text(self.fields)
        self.key_columns = list(key_columns) or ([(key, ColumnType("int"))] if key else [])
        self.key_fields = [pg_field(sql.Identifier(c), ct) for c, ct in self.key_columns]

    def _run(self, stmt: sql.Composable, params: list[Any], what: str) -> list[Any]:
        return run(self.conn, stmt, params, table=self.table, what=what, timeout_ms=self.timeout_ms,
                   lock_timeout_ms=self.lock_timeout_ms)

    def _where(self, lo: int | None, hi: int | None) -> tuple[sql.Composable, list[int]]:
        return key_range(sql.Identifier(self.key), lo, hi) if self.key else (sql.SQL("true"), [])

    def bounds(self) -> tuple[int | None, int | None]:
        k = sql.Identifier(self.key)
        row = self._run(sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(k=k, t=self.rel), [], "key bounds")
        return row[0][0], row[0][1]

    def summary(self, lo: int | None, hi: int | None) -> Summary:
        where, params = self._where(lo, hi)
        stmt = sql.SQL("SELECT count(*), coalesce(sum({h}), 0)::text FROM {t} WHERE {w}").format(
            h=pg_row_hash(self.row_text), t=self.rel, w=where)
        n, s = self._run(stmt, params, f"checksum {lo}..{hi}")[0]
        return Summary(n, int(s))

    def rows(self, lo: int | None, hi: int | None) -> list[tuple[Any, ...]]:
        """``(key field, ..., field, ...)`` of a small range: keys in canonical form, like the source's."""
        where, params = self._where(lo, hi)
        stmt = sql.SQL("SELECT {k}, {f} FROM {t} WHERE {w}").format(
            k=sql.SQL(", ").join(self.key_fields), f=sql.SQL(", ").join(self.fields), t=self.rel, w=where)
        return self._run(stmt, params, f"rows {lo}..{hi}")


class SqliteSide:
    """The same figures from the SQLite source, values read as the target's types."""

    def __init__(self, conn: sqlite3.Connection, table: str, columns: Sequence[tuple[str, ColumnType]],
                 key: str | None, path: str | None = None, key_columns: Sequence[tuple[str, ColumnType]] = ()) -> None:
        self.conn, self.table, self.key, self.path = conn, table, key, path
        self.columns = list(columns)
        self.key_columns = list(key_columns) or ([(key, ColumnType("int"))] if key else [])
        self.key_fields = [sqlite_field_sql(c, ct) for c, ct in self.key_columns]
        self.rel = sql.Identifier(table)
        self.fields = [sqlite_field_sql(c, ct) for c, ct in columns]
        self.row_text = pg_row_text(self.fields)  # the same SQL works in SQLite
        self.k = sql.Identifier(key) if key else sql.SQL("rowid")

    def __getstate__(self) -> tuple[Any, ...]:
        """Sent to a worker process as the file's path; the worker opens its own connection."""
        if self.path is None:
            raise TypeError("an SqliteSide without a path cannot go to another process")
        return (self.path, self.table, self.columns, self.key, self.key_columns)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        path, table, columns, key, key_columns = state
        self.__init__(_process_conn(path), table, columns, key, path, key_columns)  # type: ignore[misc]

    def _where(self, lo: int | None, hi: int | None) -> tuple[sql.Composable, list[int]]:
        if not self.key:
            return sql.SQL("1"), []
        conds, params = [], []
        if lo is not None:
            conds.append(sql.SQL("{} >= ?").format(self.k))
            params.append(lo)
        if hi is not None:
            conds.append(sql.SQL("{} < ?").format(self.k))
            params.append(hi)
        return (sql.SQL(" AND ").join(conds) if conds else sql.SQL("1")), params

    def _one(self, stmt: sql.Composable, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sqlite_sql(stmt), params).fetchone()

    def bounds(self) -> tuple[int | None, int | None]:
        return self._one(sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(k=self.k, t=self.rel))

    def bounds_and_count(self) -> tuple[int | None, int | None, int]:
        lo, hi = self.bounds()  # separate statements: each has its own fast path in SQLite
        return lo, hi, self.count()

    def count(self) -> int:
        return self._one(sql.SQL("SELECT count(*) FROM {}").format(self.rel))[0]

    def summary(self, lo: int | None, hi: int | None) -> Summary:
        where, params = self._where(lo, hi)
        n, s = self._one(sql.SQL("SELECT count(*), mop_hashsum(CAST({h} AS BLOB)) FROM {t} WHERE {w}").format(
            h=self.row_text, t=self.rel, w=where), params)
        return Summary(n, int(s or 0))  # no row: the aggregate is never created

    def rows(self, lo: int | None, hi: int | None) -> list[tuple[Any, ...]]:
        where, params = self._where(lo, hi)
        stmt = sql.SQL("SELECT {k}, {f} FROM {t} WHERE {w}").format(
            k=sql.SQL(", ").join(self.key_fields), f=sql.SQL(", ").join(self.fields), t=self.rel, w=where)
        return self.conn.execute(sqlite_sql(stmt), params).fetchall()
