"""Checks that need no source (orphans, NULLs, keys, sequences, hygiene), and the source's own.

Every statement over a user table runs on an integer-key range of about
``batch_rows`` rows when the table has such a key, so each is one short
read-only transaction under ``statement_timeout``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ..copy import orphans
from .canonical import sqlite_sql
from .errors import VerifyCancelled
from .report import FAIL, PASS, WARN, Finding
from .schema import (
    ForeignKey,
    OwnedSequence,
    PgTable,
    as_sample,
    key_range,
    qualified,
    query,
    run,
    split_range,
)


@dataclass(frozen=True, slots=True)
class PgCtx:
    """A read-only target session and the limits every check obeys."""

    conn: psycopg.Connection
    schema: str
    timeout_ms: int
    lock_timeout_ms: int
    batch_rows: int
    sample_size: int
    should_cancel: Callable[[], bool]

    def run(self, stmt: Any, params: Any, table: str, what: str, dicts: bool = False) -> list[Any]:
        return run(self.conn, stmt, params, table=table, what=what, timeout_ms=self.timeout_ms,
                   lock_timeout_ms=self.lock_timeout_ms, dicts=dicts)


JOIN_BATCHES = 5
"""An orphan check's key batch is this many ``batch_rows``: each statement hashes the whole referenced table
before it probes its batch (0.34 s of 200,000 rows against 0.67 s for 1,000,000 on the benchmark file)."""


def ranges(ctx: PgCtx, table: PgTable, batches: int = 1) -> Iterator[tuple[sql.Composable, list[int]]]:
    """``WHERE`` conditions covering the table in key batches of ``batches`` x ``batch_rows`` rows (one
    condition if it has no integer key)."""
    key = table.range_key
    if key is None:
        yield sql.SQL("true"), []
        return
    k = sql.Identifier(key)
    row = ctx.run(sql.SQL("SELECT min({k}), max({k}) FROM {t}").format(k=k, t=qualified(ctx.schema, table.name)),
                  None, table.name, "key bounds")[0]
    if row[0] is None:
        return
    # reltuples is -1 before the first ANALYZE: then assume the keys are dense
    est = table.estimate if table.estimate > 0 else row[1] - row[0] + 1
    parts = min(-(-est // (ctx.batch_rows * batches)), 100_000)
    for lo, hi in split_range(row[0], row[1] + 1, parts):
        if ctx.should_cancel():
            raise VerifyCancelled(table.name)
        yield key_range(k, lo, hi)


def _key_cols(table: PgTable) -> list[sql.Composable]:
    """What names a row in samples: its primary key, or its ctid when it has none."""
    return [sql.Identifier(c) for c in table.primary_key] or [sql.SQL("ctid::text")]


def check_orphans(ctx: PgCtx, table: PgTable, fk: ForeignKey) -> Finding:
    """Rows whose foreign-key columns (all non-NULL, MATCH SIMPLE) match no row of the referenced table."""
    keys = _key_cols(table)
    c_cols = [sql.SQL("c.{}").format(sql.Identifier(c)) for c in fk.columns]
    match = sql.SQL(" AND ").join(
        sql.SQL("p.{} = c.{}").format(sql.Identifier(r), sql.Identifier(c))
        for c, r in zip(fk.columns, fk.ref_columns, strict=True))
    notnull = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(c) for c in c_cols)
    count, samples = 0, []
    for where, params in ranges(ctx, table, JOIN_BATCHES):
        stmt = sql.SQL(
            "SELECT {keys}, {vals}, count(*) OVER () FROM {t} AS c WHERE ({w}) AND {nn} "
            "AND NOT EXISTS (SELECT 1 FROM {p} AS p WHERE {m}) LIMIT %s"
        ).format(keys=sql.SQL(", ").join(sql.SQL("c.{}").format(k) if isinstance(k, sql.Identifier) else k
                                         for k in keys),
                 vals=sql.SQL(", ").join(c_cols), t=qualified(ctx.schema, table.name), w=where, nn=notnull,
                 p=qualified(fk.ref_schema, fk.ref_table), m=match)
        rows = ctx.run(stmt, [*params, ctx.sample_size], table.name, f"orphans of {fk.name}")
        if rows:
            count += rows[0][-1]
            samples += [{"key": as_sample(r[:len(keys)]), "references": as_sample(r[len(keys):-1])}
                        for r in rows[: ctx.sample_size - len(samples)]]
    target = f"{fk.ref_table}({', '.join(fk.ref_columns)})"
    figures = {"name": fk.name, "orphans": count, "references": target, "validated": fk.validated}
    if count:
        msg = f"{count} row(s) of {table.name} reference {target} rows that do not exist ({fk.name})"
        return Finding("orphans", FAIL, msg, table.name, fk.columns, figures, tuple(samples))
    return Finding("orphans", PASS, f"no orphan for {fk.name}", table.name, fk.columns, figures)


def check_nulls(ctx: PgCtx, table: PgTable, columns: list[str], why: dict[str, str]) -> list[Finding]:
    """NULLs in columns that should be NOT NULL but are not enforced by the target."""
    if not columns:
        return []
    ids = [sql.Identifier(c) for c in columns]
    counts = dict.fromkeys(columns, 0)
    samples: dict[str, list[Any]] = {c: [] for c in columns}
    rel = qualified(ctx.schema, table.name)
    for where, params in ranges(ctx, table):
        stmt = sql.SQL("SELECT {} FROM {} WHERE {}").format(
            sql.SQL(", ").join(sql.SQL("count(*) FILTER (WHERE {} IS NULL)").format(i) for i in ids), rel, where)
        row = ctx.run(stmt, params, table.name, "NULL counts")[0]
        for c, i, n in zip(columns, ids, row, strict=True):
            counts[c] += n
            if n and len(samples[c]) < ctx.sample_size:
                got = ctx.run(sql.SQL("SELECT {} FROM {} WHERE ({}) AND {} IS NULL LIMIT %s").format(
                    sql.SQL(", ").join(_key_cols(table)), rel, where, i),
                    [*params, ctx.sample_size - len(samples[c])], table.name, f"NULL samples of {c}")
                samples[c] += [as_sample(r) for r in got]
    return [
        Finding("nulls", FAIL if counts[c] else PASS,
                f"{counts[c]} NULL(s) in {table.name}.{c}, which {why[c]}" if counts[c]
                else f"no NULL in {table.name}.{c} ({why[c]})",
                table.name, (c,), {"nulls": counts[c], "rule": why[c]}, tuple(samples[c]))
        for c in columns
    ]


def check_primary_key(ctx: PgCtx, table: PgTable, pk: tuple[str, ...]) -> Finding:
    """NULL or duplicate values of a primary key the target does not enforce (the head schema declares it)."""
    ids = sql.SQL(", ").join(sql.Identifier(c) for c in pk)
    rel = qualified(ctx.schema, table.name)
    anynull = sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(sql.Identifier(c)) for c in pk)
    nulls = ctx.run(sql.SQL("SELECT count(*) FROM {} WHERE {}").format(rel, anynull), None, table.name,
                    "NULL primary keys")[0][0]
    dups = ctx.run(sql.SQL(
        "SELECT {k}, count(*) OVER () FROM (SELECT {k} FROM {t} WHERE NOT ({n}) GROUP BY {k} "
        "HAVING count(*) > 1) AS d LIMIT %s").format(k=ids, t=rel, n=anynull),
        [ctx.sample_size], table.name, "duplicate primary keys")
    ndup = dups[0][-1] if dups else 0
    figures = {"null_keys": nulls, "duplicate_keys": ndup, "declared_in": "head schema"}
    samples = tuple(as_sample(r[:-1]) for r in dups)
    if nulls or ndup:
        msg = f"primary key ({', '.join(pk)}) of {table.name}: {nulls} NULL, {ndup} duplicated value(s)"
        return Finding("primary_key", FAIL, msg, table.name, pk, figures, samples)
    return Finding("primary_key", PASS, f"primary key ({', '.join(pk)}) unique and not NULL", table.name, pk,
                   figures)


def check_sequence(ctx: PgCtx, seq: OwnedSequence) -> Finding:
    """A serial/identity sequence whose next value is at or below max(column): the next insert collides."""
    col = sql.Identifier(seq.column)
    mx = ctx.run(sql.SQL("SELECT max({}) FROM {}").format(col, qualified(ctx.schema, seq.table)), None,
                 seq.table, f"max({seq.column})")[0][0]
    figures = {"name": seq.sequence, "max": mx, "last_value": seq.last_value, "next_value": seq.next_value,
               "increment": seq.increment}
    cols = (seq.column,)
    if not seq.readable:
        return Finding("sequence", WARN, f"cannot read sequence {seq.sequence} (no SELECT/USAGE privilege)",
                       seq.table, cols, figures)
    behind = mx is not None and (seq.next_value <= mx if seq.increment > 0 else False)
    if behind:
        msg = (f"sequence {seq.sequence} is behind: next value {seq.next_value} <= max({seq.column}) = {mx}; "
               f"the next insert into {seq.table} collides (setval it to {mx})")
        return Finding("sequence", FAIL, msg, seq.table, cols, figures, (mx,))
    return Finding("sequence", PASS, f"sequence {seq.sequence} ahead of max({seq.column})", seq.table, cols,
                   figures)


_NOT_NULL_CHECK = re.compile(r'^CHECK \(\(?("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*) IS NOT NULL\)?\) NOT VALID$')


def not_null_check_column(definition: str) -> str | None:
    """The column of a ``CHECK (col IS NOT NULL) NOT VALID`` constraint.

    >>> not_null_check_column('CHECK ((email IS NOT NULL)) NOT VALID')
    'email'
    >>> not_null_check_column('CHECK (("e""x" IS NOT NULL)) NOT VALID'), not_null_check_column('CHECK ((a > 0)) NOT VALID')
    ('e"x', None)
    """
    m = _NOT_NULL_CHECK.match(definition.strip())
    if not m:
        return None
    name = m.group(1)
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def hygiene(ctx: PgCtx, tables: set[str]) -> dict[str, list[Finding]]:
    """Invalid indexes, NOT VALID constraints and never-analyzed tables, by table."""
    out: dict[str, list[Finding]] = {}
    p = {"schema": ctx.schema}

    def add(f: Finding) -> None:
        if f.table in tables:
            out.setdefault(f.table or "", []).append(f)

    for r in ctx.run(query("invalid_indexes"), p, "-", "invalid indexes", dicts=True):
        why = "being built right now" if r["in_progress"] else "left by a failed CREATE INDEX CONCURRENTLY"
        add(Finding("invalid_index", WARN, f"index {r['index_name']} is invalid ({why}); it is maintained but "
                    "never used, and a unique one enforces nothing: DROP INDEX CONCURRENTLY and rebuild",
                    r["table_name"], (), {"name": r["index_name"], "definition": r["definition"],
                                          "in_progress": r["in_progress"]}))
    for r in ctx.run(query("not_valid_constraints"), p, "-", "NOT VALID constraints", dicts=True):
        add(Finding("not_valid", WARN, f"constraint {r['name']} is NOT VALID: existing rows were never checked; "
                    "ALTER TABLE ... VALIDATE CONSTRAINT", r["table_name"], (),
                    {"name": r["name"], "type": r["contype"], "definition": r["definition"]}))
    for r in ctx.run(query("never_analyzed"), p, "-", "never analyzed", dicts=True):
        if r["table_name"] not in tables:
            continue
        has_rows = r["n_live_tup"] > 0 or ctx.run(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(qualified(ctx.schema, r["table_name"])), None,
            r["table_name"], "has rows")[0][0]
        if has_rows:
            add(Finding("never_analyzed", WARN, f"{r['table_name']} has rows but was never analyzed: the planner "
                        "works blind; run ANALYZE", r["table_name"], (), {"name": "analyze"}))
    return out


# --- the SQLite source -------------------------------------------------------


def source_nulls(lite: sqlite3.Connection, table: str, columns: list[str], key: str, why: dict[str, str],
                 sample_size: int) -> list[Finding]:
    """NULLs in the source in columns the target (or head schema) declares NOT NULL: rows the copy rejects."""
    if not columns:
        return []
    rel = sql.Identifier(table)
    k = sql.SQL("rowid") if key == "rowid" else sql.Identifier(key)
    totals = sql.SQL(", ").join(sql.SQL("total({} IS NULL)").format(sql.Identifier(c)) for c in columns)
    row = lite.execute(sqlite_sql(sql.SQL("SELECT {} FROM {}").format(totals, rel))).fetchone()
    out = []
    for c, n in zip(columns, row, strict=True):
        if n:
            stmt = sql.SQL("SELECT {} FROM {} WHERE {} IS NULL LIMIT ?").format(k, rel, sql.Identifier(c))
            got = lite.execute(sqlite_sql(stmt), (sample_size,)).fetchall()
            out.append(Finding("source_nulls", WARN, f"{int(n)} NULL(s) in source {table}.{c}, which {why[c]}: "
                               "the copy cannot load these rows", table, (c,), {"nulls": int(n), "rule": why[c]},
                               tuple(r[0] for r in got)))
    return out


def source_foreign_keys(lite: sqlite3.Connection, tables: set[str], sample_size: int) -> dict[str, list[Finding]]:
    """``PRAGMA foreign_key_check`` of the source: counts and sample rowids per table and parent.

    Its rows as the copy's pre-flight reads them (``copy.orphans``: a key whose every distinct value has its
    parent needs no row looked up; the others by index or by the pragma, in its order), streamed. A table
    whose key points at columns without a unique index cannot be checked (SQLite's "foreign key mismatch"):
    it is named, the other tables are still checked.
    """
    groups: dict[tuple[str, str, int], list[Any]] = {}
    unchecked: dict[str, str] = {}
    for table, rowid, parent, fkid in orphans.foreign_key_rows(lite, on_mismatch=unchecked.__setitem__):
        g = groups.setdefault((table, parent, fkid), [0])
        g[0] += 1
        if len(g) <= sample_size:
            g.append(rowid)
    out: dict[str, list[Finding]] = {}
    for (table, parent, fkid), (n, *samples) in sorted(groups.items()):
        if table in tables:
            out.setdefault(table, []).append(Finding(
                "source_orphans", WARN, f"source: {n} row(s) of {table} reference missing {parent} rows "
                "(PRAGMA foreign_key_check; SQLite does not enforce foreign keys by default)",
                table, (), {"name": f"{parent}#{fkid}", "orphans": n, "references": parent}, tuple(samples)))
    for table, message in sorted(unchecked.items()):
        if table in tables:
            out.setdefault(table, []).append(Finding(
                "source_keys_unchecked", WARN, f"source: the foreign keys of {table} could not be checked for "
                f"orphans ({message}): a key's parent columns have no unique index, so SQLite cannot look its rows "
                "up and PostgreSQL cannot create that key", table, (), {"sqlite": message}))
    return out
