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

from . import catalog, create, fts, keysafe, nonempty, skipped, source
from .errors import CopyAbandoned, CopyInProgress, SchemaMismatch
from .options import ColumnPlan, CopyOptions, RangeSpec
from .sqlfiles import q, t
from .store import ensure_schema, take_target_lock

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
    missing tables on request, whole: ``create``), 5 split each table into
    key ranges, 6 save and drop the loaded tables' foreign keys (and plain
    indexes of empty tables on request, always for created tables), 7 with ``defer_constraints``, save and drop the PRIMARY KEY and
    UNIQUE constraints of the empty tables (after every loaded table's foreign
    keys are gone, so that only constraints other tables still depend on are
    kept), 8 store the plan. Before 7, target tables that already hold rows
    are refused, emptied in this same transaction, or kept, as
    ``options.if_not_empty`` says (``nonempty``). Every definition is saved in ``mop.copy_saved_ddl``
    in the transaction that drops it, so ``finish_copy`` or ``abandon_copy`` can
    always put it back.

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
            out_of_the_way = ensure_schema(conn)
            if out_of_the_way:
                progress(Progress(0, 1, out_of_the_way, "warning", step="plan"))
            stored = _stored_plan(conn, copy_id)
            if stored is not None:
                conn.commit()
                return stored
            with source.damage_as_unreadable(sqlite_path):
                specs, truncated, appended = _new_plan(src, conn, copy_id, want, rows_per_range, opts, progress)
            conn.execute(q("copy_run_insert"), {
                "copy_id": copy_id, "source": str(sqlite_path), "plan": json.dumps([s.to_dict() for s in specs]),
                "options": json.dumps(opts.to_dict())})
            if truncated:
                nonempty.record_truncated(conn, copy_id, truncated)
            if appended:
                nonempty.record_appended_keyless(conn, copy_id, appended)
            _record_skipped(src, conn, copy_id, specs, opts)
            conn.commit()
            if appended:
                progress(Progress(1, 1, "Appending into tables with no key or unique index (if_not_empty="
                                  "append_duplicates): rows already there will be duplicated: " + ", ".join(
                                      f"{name} ({rows:,} rows held)" for name, rows in appended.items()),
                                  "warning", step="append_duplicates", data={"appended_keyless": appended}))
            if truncated:  # reported once it is committed: the caller audits it
                progress(Progress(1, 1, "Emptied before the copy (if_not_empty=truncate): " + ", ".join(
                    f"{name} ({rows:,} rows)" for name, rows in truncated.items()), "warning", step="truncate",
                    data={"truncated": truncated}))
            return specs
    finally:
        src.close()


def _stored_plan(conn: psycopg.Connection, copy_id: str) -> list[RangeSpec] | None:
    row = conn.execute(q("copy_run_get"), {"copy_id": copy_id}).fetchone()
    if row is not None:
        if row[2] == "abandoned":
            conn.rollback()
            raise CopyAbandoned(copy_id)
        return [RangeSpec.from_dict(d) for d in row[0]]
    other = conn.execute(q("copy_run_open")).fetchone()
    if other is not None:
        raise CopyInProgress(other[0], other[1])
    return None


def _new_plan(
    src: sqlite3.Connection, conn: psycopg.Connection, copy_id: str, want: tuple[str, ...] | None,
    range_rows: int, opts: CopyOptions, progress: ProgressFn,
) -> tuple[list[RangeSpec], dict[str, int], dict[str, int]]:
    listed = source.list_tables(src)
    tables = {t.name: t for t in listed}
    names = skipped.select_tables(listed, want, opts.skip_tables)
    problems = skipped.contentful_fts_problems(listed, names, opts.fts_contentful) + fts.regconfig_problems(
        conn, [tables[n].fts for n in names], opts.fts_regconfig)
    if problems:
        raise SchemaMismatch(problems)
    specs: list[RangeSpec] = []
    empty: list[catalog.TargetTable] = []
    full: list[catalog.TargetTable] = []
    created: set[str] = set()
    unique_sets: dict[str, set[frozenset[str]]] = {}
    if opts.create_missing_tables:  # a contentful FTS table is created by fts below, with its tsvector
        plans = create.plan_missing(src, conn, opts.schema, [tables[n] for n in names if tables[n].fts is None])
        create.create_tables(conn, opts.schema, plans, progress)
        created = {p.table for p in plans}
    found = catalog.find_tables(conn, opts.schema, names)
    for i, name in enumerate(names):
        progress(Progress(i, len(names), f"Planning {name}", step="plan", data={"table": name}))
        st = tables[name]
        tt = found[name]
        new_fts = tt is None and st.fts is not None  # its GIN index is built after the load, not row by row
        if new_fts:
            trgm = fts.create_contentful_table(conn, opts.schema, st.fts, opts.fts_regconfig)
            if trgm:
                progress(Progress(i, len(names), trgm, "warning", step="plan", data={"table": name}))
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
        if catalog.is_empty(conn, tt):
            empty.append(tt)
        elif tt not in full:
            full.append(tt)
        unique_sets[tt.name] = keysafe.target_sets(cols, keysafe.source_unique_sets(src, st))
        # a created table's indexes are built after the load too: faster than maintained row by row
        asked = opts.drop_secondary_indexes or opts.defer_constraints or name in created or new_fts
        _save_and_drop(conn, copy_id, tt, asked or opts.defer_source_keys, tt in empty, unique_too=asked)
    if problems:
        raise SchemaMismatch(problems)
    truncated = nonempty.apply_mode(conn, full, opts.if_not_empty)
    appended = nonempty.keyless_append(conn, full, opts.if_not_empty)
    if opts.defer_constraints or opts.defer_source_keys:
        for tt in empty:
            _save_and_drop_keys(conn, copy_id, tt, None if opts.defer_constraints else unique_sets.get(tt.name, set()))
    return specs, truncated, appended


def _record_skipped(src: sqlite3.Connection, conn: psycopg.Connection, copy_id: str, specs: list[RangeSpec],
                    opts: CopyOptions) -> None:
    """Store what this copy leaves behind in its ``mop.copy_run`` row, for the summary ``finish_copy`` writes."""
    objects = skipped.skipped_objects(
        src, source.list_tables(src), {s.table for s in specs},
        opts.skip_tables, schema=opts.schema, target_tables=catalog.schema_columns(conn, opts.schema),
        regconfig=opts.fts_regconfig)
    conn.execute(q("copy_run_set_skipped"), {"copy_id": copy_id, "skipped": json.dumps([o.to_dict() for o in objects])})


def _match_columns(
    src: sqlite3.Connection, st: source.SourceTable, tt: catalog.TargetTable, units: dict[str, str] | None = None,
) -> tuple[tuple[ColumnPlan, ...], list[str]]:
    """The column plans of ``st`` into ``tt`` and the source columns with no target column.

    :param units: epoch units of time columns already known (source column -> unit); the others are read by
        ``source.epoch_unit`` (one SQL scan each).
    """
    units = units or {}
    cols, missing = [], []
    for c in st.columns:
        tc = tt.column(c.name)
        if tc is None or tc.generated:
            missing.append(c.name)
            continue
        unit = "s"
        if tc.type.name in _TIME_TYPES:
            unit = units.get(c.name) or source.epoch_unit(src, st.name, c.name)
        cols.append(ColumnPlan(c.name, tc.name, tc.type, unit))
    return tuple(cols), missing


def _save(conn: psycopg.Connection, copy_id: str, tt: catalog.TargetTable, kind: str, name: str, definition: str) -> None:
    conn.execute(q("copy_saved_ddl_insert"), {"copy_id": copy_id, "kind": kind, "schema_name": tt.schema,
                                              "table_name": tt.name, "name": name, "definition": definition})


def _save_and_drop(conn: psycopg.Connection, copy_id: str, tt: catalog.TargetTable, drop_indexes: bool,
                   empty: bool, *, unique_too: bool = True) -> None:
    """Save the DDL of FKs (always) and plain indexes (if asked and the table is empty), then drop them.

    FKs are dropped so that source orphans cannot abort the load; they come
    back NOT VALID in ``finish_copy``. Saving first, in the same transaction,
    means a crash can never lose a constraint definition.
    """
    for name, definition in catalog.foreign_keys(conn, tt.oid):
        _save(conn, copy_id, tt, "fk", name, definition)
        conn.execute(t("copy_t_drop_constraint", table=tt.ident(), name=sql.Identifier(name)))
    if drop_indexes and empty:
        for name, definition in catalog.secondary_indexes(conn, tt.oid):
            if not unique_too and definition.split()[1:2] == ["UNIQUE"]:
                continue  # a unique index refuses rows: kept unless asked (``defer_source_keys`` drops plain ones)
            _save(conn, copy_id, tt, "index", name, definition)
            conn.execute(t("copy_t_drop_index", index=sql.Identifier(tt.schema, name)))


def _save_and_drop_keys(conn: psycopg.Connection, copy_id: str, tt: catalog.TargetTable,
                        unique_sets: set[frozenset[str]] | None = None) -> None:
    """Save and drop the PRIMARY KEY / UNIQUE constraints of an empty table (``defer_constraints``), or only
    those on columns the source keeps unique (``unique_sets``, ``defer_source_keys``).

    Two rows each: ``constraint_index`` (the ``CREATE UNIQUE INDEX``, built
    after the load on its own connection, in parallel with the others) and
    ``constraint`` (re-attached with ``ADD CONSTRAINT ... USING INDEX``, a
    catalog change). A copy killed between the two resumes at the second.
    """
    for kc in catalog.key_constraints(conn, tt.oid):
        if kc.referenced_by:
            continue  # a foreign key of a table outside this copy needs it
        if unique_sets is not None and not keysafe.deferrable(kc.columns, kc.constraint_def, unique_sets):
            continue  # the source does not keep these columns unique: duplicates stay row-by-row rejects
        _save(conn, copy_id, tt, "constraint_index", kc.name, kc.index_def)
        _save(conn, copy_id, tt, "constraint", kc.name, kc.constraint_def)
        conn.execute(t("copy_t_drop_constraint", table=tt.ident(), name=sql.Identifier(kc.name)))
