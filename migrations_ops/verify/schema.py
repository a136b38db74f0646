"""The target's shape as the verification needs it, and a read-only session to read it.

Catalog queries live in ``queries/verify_*.sql``; statements over user tables are
composed with ``psycopg.sql`` from the names found here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql
from psycopg.rows import dict_row

from .. import queries
from .canonical import ColumnType
from .errors import VerifyLockTimeout, VerifyTimeout


def query(name: str) -> str:
    """The verification's SQL ``queries/verify_<name>.sql``, through the engine's one loader.

    >>> query("columns").startswith("-- ")
    True
    """
    return queries.get("verify_" + name)


@dataclass(frozen=True, slots=True)
class PgColumn:
    name: str
    type: ColumnType
    typname: str
    not_null: bool
    generated: bool = False


@dataclass(frozen=True, slots=True)
class ForeignKey:
    name: str
    table: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    validated: bool


@dataclass(frozen=True, slots=True)
class OwnedSequence:
    table: str
    column: str
    sequence: str
    increment: int
    start_value: int
    last_value: int | None
    readable: bool

    @property
    def next_value(self) -> int:
        """What ``nextval`` returns next (ignoring the cache of other sessions)."""
        return self.start_value if self.last_value is None else self.last_value + self.increment


@dataclass(frozen=True, slots=True)
class PgTable:
    name: str
    columns: tuple[PgColumn, ...]
    primary_key: tuple[str, ...] = ()
    estimate: int = -1

    def column(self, name: str) -> PgColumn:
        return next(c for c in self.columns if c.name == name)

    @property
    def range_key(self) -> str | None:
        """The leading primary-key column when it is an integer: batches and bisection split its range
        (with a composite key, all rows of one value of it stay in one range)."""
        if self.primary_key and self.column(self.primary_key[0]).type.kind == "int":
            return self.primary_key[0]
        return None

    @property
    def int_key(self) -> str | None:
        """The single integer primary-key column: what keyset batches and bisection walk on."""
        if len(self.primary_key) == 1 and self.column(self.primary_key[0]).type.kind == "int":
            return self.primary_key[0]
        return None


@dataclass(frozen=True, slots=True)
class HeadTable:
    """What the project's head schema declares for a table (the target may lag behind it)."""

    not_null: frozenset[str] = frozenset()
    primary_key: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetSchema:
    schema: str
    server_version: str
    tables: dict[str, PgTable]
    foreign_keys: tuple[ForeignKey, ...] = ()
    sequences: tuple[OwnedSequence, ...] = ()
    head: Mapping[str, HeadTable] = field(default_factory=dict)


def head_schema_from_metadata(metadata: Any) -> dict[str, HeadTable]:
    """Head schema from a SQLAlchemy ``MetaData`` (the project's models at head)."""
    return {
        t.name: HeadTable(
            not_null=frozenset(c.name for c in t.columns if not c.nullable),
            primary_key=tuple(c.name for c in t.primary_key.columns),
        )
        for t in metadata.tables.values()
    }


def open_session(conn: psycopg.Connection, statement_timeout_ms: int, lock_timeout_ms: int) -> None:
    """Make the session read-only, time-bounded and print values the canonical way.

    Autocommit stays on: every statement is its own short transaction, so no
    snapshot or lock outlives one batch. No parallel workers: the verification
    already runs its own sessions side by side, and on a live target it should
    not take the server's worker slots from other sessions; a parallel anti-join
    of the orphan check cost three processes' CPU for one answer (whole orders
    verification, in-process, 16 rounds each: median 0.61 s against 0.67 s).
    """
    settings = {
        "default_transaction_read_only": "on",
        "statement_timeout": str(int(statement_timeout_ms)),
        "lock_timeout": str(int(lock_timeout_ms)),
        "idle_in_transaction_session_timeout": str(int(statement_timeout_ms)),
        "DateStyle": "ISO, YMD",
        "TimeZone": "UTC",
        "extra_float_digits": "1",
        "bytea_output": "hex",
        "max_parallel_workers_per_gather": "0",
    }
    calls = sql.SQL(", ").join([sql.SQL("set_config(%s, %s, false)")] * len(settings))
    conn.execute(sql.SQL("SELECT {}").format(calls), [v for item in settings.items() for v in item])  # one trip


def run(
    conn: psycopg.Connection, stmt: Any, params: Any = None, *, table: str, what: str, timeout_ms: int,
    lock_timeout_ms: int = 0, dicts: bool = False,
) -> list[Any]:
    """Run one read statement (one batch), turning timeouts into engine errors."""
    try:
        with conn.cursor(row_factory=dict_row) if dicts else conn.cursor() as cur:
            cur.execute(stmt, params)
            return cur.fetchall()
    except pgerrors.LockNotAvailable:
        raise VerifyLockTimeout(table, lock_timeout_ms) from None
    except pgerrors.QueryCanceled:
        raise VerifyTimeout(table, what, timeout_ms) from None


def load_schema(conn: psycopg.Connection, schema: str, head: Mapping[str, HeadTable] | None = None,
                timeout_ms: int = 0) -> TargetSchema:
    """Read tables, columns, keys, foreign keys and owned sequences of ``schema``."""
    p = {"schema": schema}

    def q(name: str) -> list[dict[str, Any]]:
        return run(conn, query(name), p, table="(catalog)", what=name, timeout_ms=timeout_ms, dicts=True)

    cols: dict[str, list[PgColumn]] = {}
    for r in q("columns"):
        cols.setdefault(r["table_name"], []).append(PgColumn(
            r["column_name"], ColumnType.from_pg(r["typname"], r["atttypmod"]), r["typname"],
            r["attnotnull"], r["generated"],
        ))
    pks = {r["table_name"]: tuple(r["columns"]) for r in q("primary_keys")}
    est = {r["table_name"]: int(r["estimate"]) for r in q("table_estimates")}
    tables = {n: PgTable(n, tuple(c), pks.get(n, ()), est.get(n, -1)) for n, c in cols.items()}
    fks = tuple(ForeignKey(r["name"], r["table_name"], tuple(r["columns"]), r["ref_schema"], r["ref_table"],
                           tuple(r["ref_columns"]), r["validated"]) for r in q("foreign_keys"))
    seqs = tuple(OwnedSequence(r["table_name"], r["column_name"], r["sequence"], r["increment"],
                               r["start_value"], r["last_value"], r["readable"]) for r in q("owned_sequences"))
    version = conn.execute("SHOW server_version").fetchone()[0]
    return TargetSchema(schema, version, tables, fks, seqs, dict(head or {}))


def qualified(schema: str, table: str) -> sql.Composable:
    return sql.Identifier(schema, table)


def key_range(key: sql.Composable, lo: int | None, hi: int | None) -> tuple[sql.Composable, list[int]]:
    """``lo <= key < hi`` (either bound open when None) and its parameters."""
    conds: list[sql.Composable] = []
    params: list[int] = []
    if lo is not None:
        conds.append(sql.SQL("{} >= %s").format(key))
        params.append(lo)
    if hi is not None:
        conds.append(sql.SQL("{} < %s").format(key))
        params.append(hi)
    return (sql.SQL(" AND ").join(conds) if conds else sql.SQL("true")), params


def split_range(lo: int, hi: int, parts: int) -> list[tuple[int, int]]:
    """Split ``[lo, hi)`` into at most ``parts`` non-empty consecutive ranges.

    >>> split_range(0, 10, 3)
    [(0, 4), (4, 8), (8, 10)]
    >>> split_range(5, 6, 4)
    [(5, 6)]
    """
    parts = max(1, min(parts, hi - lo))
    width = -(-(hi - lo) // parts)
    return [(a, min(a + width, hi)) for a in range(lo, hi, width)]


def as_sample(values: Iterable[Any]) -> Any:
    """A sample key as JSON-friendly data: a scalar for one column, a list for several."""
    vals = [v if isinstance(v, int | str | float | bool) or v is None else str(v) for v in values]
    return vals[0] if len(vals) == 1 else vals
