"""Per-range row counts and checksums of one table, on the target and on the SQLite source.

Two kinds of checksum, both sums (a sum cannot hit PostgreSQL's 1 GB limit the way
``string_agg`` of a table does), chosen per table by ``pghash.supported`` and given to
both sides, so they always compute the same figure:

- *native* (the extension ``_pghash`` is built and every column's kind has a per-type
  hash, see ``pghash``): the sum of per-row hashes made of PostgreSQL's own
  ``*_hash_extended`` functions; no value is printed as text on either side;
- otherwise the sum of 60-bit md5 prefixes of canonical text (see ``canonical``).
  What is hashed then depends on the key:

- a single integer key (the common case): *chunks* of rows, the rows whose
  key falls in one ``key / CHUNK_KEYS`` bucket, joined by newlines in key
  order. One md5 per chunk instead of per row: PostgreSQL's md5 and its hex to
  bigint conversion were half its pass, and the SQLite side needs no Python
  call per row (its rows stream in key order and are joined in C). A chunk is
  at most CHUNK_KEYS rows, so the server's memory stays bounded;
- no key, or a composite one: each row's text, an order-independent sum (text
  keys sort differently on the two sides), through a Python aggregate in SQLite.

Neither side ships rows to compare them; both sides compute the same figure from
the same arguments, so they always agree on the mode.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import operator
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from migrations_ops.copy.source import epoch_unit

from . import pghash
from .canonical import (
    TIME_KINDS,
    ColumnType,
    decode_text,
    pg_field,
    pg_row_hash,
    pg_row_text,
    row_hash_bytes,
    sqlite_field_sql,
    sqlite_functions,
    sqlite_sql,
)
from .schema import key_range, qualified, query, run

CHUNK_KEYS = 256
"""Key values per hashed chunk: few md5 calls, and at most 256 rows' text in memory on either side."""


@dataclass(frozen=True, slots=True)
class Summary:
    """Count and hash sum of the rows of one key range; hashsum None: a source row is poisoned (its value
    cannot be a target value), so the range never matches and bisection compares its rows."""

    rows: int
    hashsum: int | None


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
    conn.text_factory = decode_text  # text that is not UTF-8 becomes a marker, not "Could not decode to UTF-8"
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


def _worker_stop() -> bool:
    """The native pass's stop test in a worker process (the run's stop event; never set in-process)."""
    return _STOP is not None and _STOP.is_set()


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
                 key_columns: Sequence[tuple[str, ColumnType]] = (), native: bool | None = None,
                 catalog: pghash.Catalog | None = None) -> None:
        self.conn, self.table, self.key, self.estimate = conn, table, key, estimate
        self.native = pghash.supported(columns) if native is None else native
        self.row_hash = pghash.pg_row_hash(columns, catalog) if self.native else None
        self.timeout_ms, self.lock_timeout_ms = timeout_ms, lock_timeout_ms
        self.rel = qualified(schema, table)
        self.fields = [pg_field(sql.Identifier(c), ct) for c, ct in columns]
        self.row_text = pg_row_text(self.fields)
        self.key_columns = list(key_columns) or ([(key, ColumnType("int"))] if key else [])
        self.key_fields = [pg_field(sql.Identifier(c), ct) for c, ct in self.key_columns]
        self.chunked = key is not None and len(self.key_columns) == 1
        self.partners: list[PgSide] = []
        """The same table on other sessions: ``bisect`` spreads top-level range checksums over them."""

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
        if self.row_hash is not None:
            stmt = sql.SQL("SELECT count(*), coalesce(sum({h}), 0)::text FROM {t} WHERE {w}").format(
                h=self.row_hash, t=self.rel, w=where)
        elif self.chunked:
            k = sql.Identifier(self.key)
            stmt = sql.SQL(
                "SELECT coalesce(sum(n), 0)::bigint, coalesce(sum(h), 0)::text FROM (SELECT count(*) AS n, {h} AS h "
                "FROM {t} WHERE {w} GROUP BY {k} / {g}) AS chunks").format(
                h=pg_row_hash(sql.SQL("string_agg({}, E'\\n' ORDER BY {})").format(self.row_text, k)),
                t=self.rel, w=where, k=k, g=sql.Literal(CHUNK_KEYS))
        else:
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


def source_column_types(conn: sqlite3.Connection, table: str,
                        columns: Sequence[tuple[str, ColumnType]]) -> list[tuple[str, ColumnType]]:
    """The columns with each time column's epoch unit decided as the copy decides it (one rule, ``copy.source``).

    A column whose unit is already decided keeps it (a worker process gets them decided: no second scan).
    """
    out = []
    for name, ct in columns:
        if ct.kind in TIME_KINDS and ct.epoch_unit is None:
            ct = dataclasses.replace(ct, epoch_unit=epoch_unit(conn, table, name))
        out.append((name, ct))
    return out


class SqliteSide:
    """The same figures from the SQLite source, values read as the target's types.

    ``lazy_units`` (native checksums only): time columns are not scanned for their epoch unit
    (``copy.source.epoch_unit``, a scan of the column) before the pass. An undecided column reads each
    number by its own magnitude, which for every integer and real is what the copy's unit gives: ``s``
    means no number at or above ``MS_THRESHOLD``, ``ms`` means no nonzero one below, ``mixed`` is by
    magnitude. Only text holding a number can differ (the scan does not see all of those): the pass
    records such a column in ``unit_read``, and the caller compares the table again with the units decided.
    """

    def __init__(self, conn: sqlite3.Connection, table: str, columns: Sequence[tuple[str, ColumnType]],
                 key: str | None, path: str | None = None, key_columns: Sequence[tuple[str, ColumnType]] = (),
                 native: bool | None = None, lazy_units: bool = False) -> None:
        self.conn, self.table, self.key, self.path = conn, table, key, path
        self.native = pghash.supported(columns) if native is None else native
        self.lazy_units = lazy_units and self.native
        self.columns = list(columns) if self.lazy_units else source_column_types(conn, table, columns)
        self.unit_read: set[int] = set()
        """Undecided time columns (by index) where the pass met text holding a number (see above)."""
        if self.native and self.path is None:  # the C code opens the file itself
            self.path = conn.execute("PRAGMA database_list").fetchone()[2]
        self.stop: Any = _worker_stop  # the native pass polls it; run.py sets the run's cancel flag in-process
        self.key_columns = source_column_types(conn, table, key_columns) or ([(key, ColumnType("int"))] if key else [])
        self.rel = sql.Identifier(table)
        self.safe = False  # set for good once a statement met text that is not UTF-8 (see sqlite_field_sql)
        self._build()
        self.k = sql.Identifier(key) if key else sql.SQL("rowid")
        self.chunked = key is not None and len(self.key_columns) == 1

    def _build(self) -> None:
        self.key_fields = [sqlite_field_sql(c, ct, safe=self.safe) for c, ct in self.key_columns]
        self.fields = [sqlite_field_sql(c, ct, safe=self.safe) for c, ct in self.columns]
        self.row_text = pg_row_text(self.fields)  # the same SQL works in SQLite

    def _retrying(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)``, once more with the safe expressions if a function met text that is not UTF-8."""
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            if self.safe or "user-defined function" not in str(exc):
                raise
            self.safe = True
            self._build()
            return fn(*args)

    def __getstate__(self) -> tuple[Any, ...]:
        """Sent to a worker process as the file's path; the worker opens its own connection (with the units
        decided: what a worker's pass meets could not be reported back)."""
        if self.path is None:
            raise TypeError("an SqliteSide without a path cannot go to another process")
        columns = source_column_types(self.conn, self.table, self.columns) if self.lazy_units else self.columns
        return (self.path, self.table, columns, self.key, self.key_columns, self.native)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        path, table, columns, key, key_columns, native = state
        self.__init__(_process_conn(path), table, columns, key, path, key_columns, native)  # type: ignore[misc]

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
        """The key's least and greatest value: from the ends of its b-tree when it has one, else one scan."""
        in_btree = self.conn.execute(query("sqlite_key_in_btree"), (self.table, self.key or "rowid")).fetchone()
        form = "SELECT (SELECT min({k}) FROM {t}), (SELECT max({k}) FROM {t})" if in_btree else \
            "SELECT min({k}), max({k}) FROM {t}"
        return self._one(sql.SQL(form).format(k=self.k, t=self.rel))

    def bounds_and_count(self) -> tuple[int | None, int | None, int]:
        lo, hi = self.bounds()  # separate statements: each has its own fast path in SQLite
        return lo, hi, self.count()

    def count(self) -> int:
        return self._one(sql.SQL("SELECT count(*) FROM {}").format(self.rel))[0]

    def summary(self, lo: int | None, hi: int | None) -> Summary:
        return self._retrying(self._summary, lo, hi)

    def _summary(self, lo: int | None, hi: int | None) -> Summary:
        where, params = self._where(lo, hi)
        if self.native:
            return self._native_summary(where, params)
        if self.chunked:
            return self._chunked_summary(where, params)
        n, s = self._one(sql.SQL("SELECT count(*), mop_hashsum(CAST({h} AS BLOB)) FROM {t} WHERE {w}").format(
            h=self.row_text, t=self.rel, w=where), params)
        return Summary(n, int(s or 0))  # no row: the aggregate is never created

    def _native_summary(self, where: sql.Composable, params: list[int]) -> Summary:
        """The per-type hash sum, computed in C from the file (see ``pghash``); the GIL is released meanwhile."""
        assert self.path is not None
        stmt = sql.SQL("SELECT {c} FROM {t} WHERE {w}").format(
            c=sql.SQL(", ").join([sql.Identifier(c) for c, _ in self.columns]), t=self.rel, w=where)
        rows, total = pghash.sqlite_summary(self.path, sqlite_sql(stmt), params, self.columns, self.stop,
                                            self.unit_read if self.lazy_units else None)
        return Summary(rows, total)

    def _chunked_summary(self, where: sql.Composable, params: list[int]) -> Summary:
        """The rows' texts in key order as BLOBs (no decoding), grouped by chunk in C (itertools)."""
        stmt = sql.SQL("SELECT {k} / {g}, CAST({h} AS BLOB) FROM {t} WHERE {w} ORDER BY {k}").format(
            k=self.k, g=sql.SQL(str(CHUNK_KEYS)), h=self.row_text, t=self.rel, w=where)
        rows = total = 0
        text = operator.itemgetter(1)
        for _, chunk in itertools.groupby(self.conn.execute(sqlite_sql(stmt), params), operator.itemgetter(0)):
            parts = list(map(text, chunk))
            rows += len(parts)
            total += row_hash_bytes(b"\n".join(parts))
        return Summary(rows, total)

    def rows(self, lo: int | None, hi: int | None) -> list[tuple[Any, ...]]:
        return self._retrying(self._rows, lo, hi)

    def _rows(self, lo: int | None, hi: int | None) -> list[tuple[Any, ...]]:
        where, params = self._where(lo, hi)
        stmt = sql.SQL("SELECT {k}, {f} FROM {t} WHERE {w}").format(
            k=sql.SQL(", ").join(self.key_fields), f=sql.SQL(", ").join(self.fields), t=self.rel, w=where)
        return self.conn.execute(sqlite_sql(stmt), params).fetchall()
