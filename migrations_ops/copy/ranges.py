"""Planning a copy: match tables and columns, prepare the target, split tables into key ranges.

The plan is stored in ``mop.copy_run`` so that a resumed copy (same copy id)
gets exactly the same ranges back, whatever ``range_rows`` it is called with.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import psycopg
from psycopg import sql

from migrations_ops.progress import Progress, ProgressFn, no_progress
from migrations_ops.target import TargetConn, connect

from . import catalog, source
from .errors import CopyInProgress, SchemaMismatch
from .options import ColumnPlan, CopyOptions, RangeSpec
from .store import ensure_schema, take_target_lock
from .typemap import pg_type_for

_TIME_TYPES = ("timestamptz", "timestamp", "date")


def application_name(copy_id: str) -> str:
    return f"mop:copy:{copy_id}"


def plan_ranges(
    sqlite_path: str | Path,
    target: TargetConn,
    copy_id: str,
    tables: tuple[str, ...] | list[str] | None = None,
    range_rows: int | None = None,
    *,
    options: CopyOptions | None = None,
    lock: bool = True,
    progress: ProgressFn = no_progress,
) -> list[RangeSpec]:
    """Plan (or, for a known copy id, re-read) the ranges of a copy, preparing the target.

    Steps, in one target transaction: 1 take the target lock, 2 create schema
    ``mop``, 3 return the stored plan if this copy id exists (resume), else
    refuse if another copy is open, 4 match tables and columns (creating
    missing tables on request), 5 split each table into key ranges, 6 save and
    drop the loaded tables' foreign keys (and plain indexes of empty tables on
    request), 7 store the plan.

    :param tables: overrides ``options.tables``.
    :param range_rows: overrides ``options.range_rows``.
    :param lock: take the target's exclusive advisory lock for the planning
        (False when the caller already holds it, as ``copy_database`` does).
    """
    opts = options or CopyOptions()
    if not copy_id or len(copy_id) > 100:
        raise ValueError("copy_id must be 1 to 100 characters")
    want = tuple(tables) if tables is not None else opts.tables
    rows_per_range = range_rows or opts.range_rows
    src = source.open_source(sqlite_path)
    try:
        with connect(target, application_name(copy_id), autocommit=False) as conn:
            if lock:
                take_target_lock(conn, xact=True)
            ensure_schema(conn)
            stored = _stored_plan(conn, copy_id)
            if stored is not None:
                conn.commit()
                return stored
            specs = _new_plan(src, conn, copy_id, want, rows_per_range, opts, progress)
            conn.execute(
                "INSERT INTO mop.copy_run (copy_id, source, plan, options) VALUES (%s, %s, %s, %s)",
                (copy_id, str(sqlite_path), json.dumps([s.to_dict() for s in specs]), json.dumps(opts.to_dict())),
            )
            conn.commit()
            return specs
    finally:
        src.close()


def _stored_plan(conn: psycopg.Connection, copy_id: str) -> list[RangeSpec] | None:
    row = conn.execute("SELECT plan FROM mop.copy_run WHERE copy_id = %s", (copy_id,)).fetchone()
    if row is not None:
        return [RangeSpec.from_dict(d) for d in row[0]]
    other = conn.execute(
        "SELECT copy_id, started_at::text FROM mop.copy_run WHERE status = 'running' ORDER BY started_at LIMIT 1"
    ).fetchone()
    if other is not None:
        raise CopyInProgress(other[0], other[1])
    return None


def _new_plan(
    src: sqlite3.Connection, conn: psycopg.Connection, copy_id: str, want: tuple[str, ...] | None,
    range_rows: int, opts: CopyOptions, progress: ProgressFn,
) -> list[RangeSpec]:
    tables = {t.name: t for t in source.list_tables(src)}
    names = list(want) if want is not None else [n for n, t in tables.items() if t.skip_reason is None]
    problems = [f"source table {n!r} does not exist" for n in names if n not in tables]
    problems += [f"source table {n!r} is skipped: {tables[n].skip_reason}" for n in names
                 if n in tables and tables[n].skip_reason]
    if problems:
        raise SchemaMismatch(problems)
    specs: list[RangeSpec] = []
    for i, name in enumerate(names):
        progress(Progress(i, len(names), f"Planning {name}", step="plan", data={"table": name}))
        st = tables[name]
        tt = catalog.find_table(conn, opts.schema, name)
        if tt is None and opts.create_missing_tables:
            create_table_from_source(conn, opts.schema, st)
            tt = catalog.find_table(conn, opts.schema, name)
        if tt is None:
            problems.append(f"target table {opts.schema}.{name} does not exist")
            continue
        cols, missing = _match_columns(src, st, tt)
        if missing and not opts.allow_missing_columns:
            problems += [f"source column {name}.{c} has no target column" for c in missing]
            continue
        bounds = source.key_ranges(src, st, range_rows)
        specs += [
            RangeSpec(copy_id, name, opts.schema, tt.name, st.key, st.pk_columns, cols, lo, hi, n, j, len(bounds))
            for j, (lo, hi, n) in enumerate(bounds)
        ]
        _save_and_drop(conn, copy_id, tt, opts.drop_secondary_indexes)
    if problems:
        raise SchemaMismatch(problems)
    return specs


def _match_columns(
    src: sqlite3.Connection, st: source.SourceTable, tt: catalog.TargetTable
) -> tuple[tuple[ColumnPlan, ...], list[str]]:
    cols, missing = [], []
    for c in st.columns:
        tc = tt.column(c.name)
        if tc is None or tc.generated:
            missing.append(c.name)
            continue
        unit = source.epoch_unit(src, st.name, c.name) if tc.type.name in _TIME_TYPES else "s"
        cols.append(ColumnPlan(c.name, tc.name, tc.type, unit))
    return tuple(cols), missing


def create_table_from_source(conn: psycopg.Connection, schema: str, st: source.SourceTable) -> None:
    """Create a target table from the SQLite declaration with mapped types (no foreign keys)."""
    defs = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(c.name), sql.SQL(pg_type_for(c.decl_type)), sql.SQL(" NOT NULL" if c.not_null else "")
        )
        for c in st.columns
    ]
    if st.pk_columns:
        defs.append(sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, st.pk_columns))))
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(schema, st.name), sql.SQL(", ").join(defs)))


def _save_and_drop(conn: psycopg.Connection, copy_id: str, tt: catalog.TargetTable, drop_indexes: bool) -> None:
    """Save the DDL of FKs (always) and plain indexes (if asked and the table is empty), then drop them.

    FKs are dropped so that source orphans cannot abort the load; they come
    back NOT VALID in ``finish_copy``. Saving first, in the same transaction,
    means a crash can never lose a constraint definition.
    """
    saved = [("fk", n, d) for n, d in catalog.foreign_keys(conn, tt.oid)]
    if drop_indexes and catalog.is_empty(conn, tt):
        saved += [("index", n, d) for n, d in catalog.secondary_indexes(conn, tt.oid)]
    for kind, name, definition in saved:
        conn.execute(
            "INSERT INTO mop.copy_saved_ddl (copy_id, kind, schema_name, table_name, name, definition) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (copy_id, kind, tt.schema, tt.name, name, definition),
        )
        if kind == "fk":
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(tt.ident(), sql.Identifier(name)))
        else:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(tt.schema, name)))
