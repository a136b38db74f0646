"""The pre-flight report: what a copy would meet, before anything is written.

SQLite does not enforce declared types or foreign keys by default, so the
report measures what is actually there: storage classes per column, NULLs
the target will refuse, orphans, and what cannot be copied at all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from migrations_ops.target import TargetConn, connect

from . import bookkeeping, catalog, compiled, create, fts, nonempty, source
from . import skipped as skip_mod
from .options import ColumnPlan, CopyOptions
from .predict import TablePrediction, predict_profiled, reads_compiled
from .ranges import _TIME_TYPES, _match_columns
from .skipped import SkippedObject


@dataclass(frozen=True, slots=True)
class TablePreflight:
    """One source table against its target table."""

    name: str
    rows: int
    target_table: str | None
    storage_classes: dict[str, dict[str, int]]
    target_types: dict[str, str]
    nulls_in_not_null: dict[str, int]
    source_only_columns: tuple[str, ...]
    target_only_columns: tuple[str, ...]
    target_rows: int | None = None
    predicted: TablePrediction | None = None
    target_keyless: bool = False
    mixed_epochs: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Time columns holding epoch seconds and milliseconds: column -> (read as seconds, read as milliseconds)."""
    """The target table holds rows and has no unique index: appending would duplicate them."""


@dataclass(frozen=True, slots=True)
class PreflightReport:
    """Everything the DBA should see before a copy; JSON-serialisable with ``to_dict()``."""

    sqlite_path: str
    target: str
    integrity: tuple[str, ...]
    tables: tuple[TablePreflight, ...]
    skipped: tuple[tuple[str, str], ...]
    fk_orphans: tuple[dict[str, Any], ...]
    problems: tuple[str, ...]
    not_copied: tuple[SkippedObject, ...] = ()
    fts_tables: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Contentful FTS tables the copy loads into regular tables: ``(name, DDL it runs when the table is missing)``."""

    @property
    def mapping(self) -> tuple[tuple[str, str | None], ...]:
        """``(source table, target table or None)`` by the one name rule (a contentful FTS table's is created)."""
        created = dict(self.fts_tables)
        return tuple((t.name, t.target_table or (t.name if t.name in created else None)) for t in self.tables)
    created: tuple[create.TablePlan, ...] = ()
    """Tables missing in the target as ``create_missing_tables`` builds them: type mapping, keys, skips."""

    @property
    def integrity_ok(self) -> bool:
        return self.integrity == ("ok",)

    @property
    def non_empty_tables(self) -> tuple[tuple[str, int], ...]:
        """(target table, rows) of the target tables that already hold rows: a copy needs ``if_not_empty``."""
        return tuple((t.target_table, t.target_rows) for t in self.tables if t.target_table and t.target_rows)

    def table(self, name: str) -> TablePreflight:
        return next(t for t in self.tables if t.name == name)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["integrity_ok"] = self.integrity_ok
        d["non_empty_tables"] = [list(t) for t in self.non_empty_tables]
        d["mapping"] = [list(m) for m in self.mapping]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def preflight(
    sqlite_path: str | Path, target: TargetConn, tables: list[str] | tuple[str, ...] | None = None,
    schema: str = "public", options: CopyOptions | None = None, *, skip_tables: tuple[str, ...] | list[str] | None = None,
    fts_contentful: str | None = None, fts_regconfig: str | None = None, create_missing_tables: bool | None = None,
) -> PreflightReport:
    """Inspect a SQLite file and the target's tables for a copy; writes nothing anywhere.

    :param tables: source tables to look at (default: every table that would be copied).
    :param schema: target schema holding the tables.
    :param options: the copy's options; the predicted rejects follow its text policy and float4 rounding.
    :param skip_tables, fts_contentful, fts_regconfig: override ``options``; what is left behind is listed
        in ``not_copied`` with rows and advice, and the source -> target pairs in ``mapping``.
    :param create_missing_tables: overrides ``options``; the copy will create missing tables (they are then no problem).
    """
    opts = options or CopyOptions()
    skip_tables = tuple(opts.skip_tables if skip_tables is None else skip_tables)
    fts_contentful = fts_contentful or opts.fts_contentful
    fts_regconfig = fts_regconfig or opts.fts_regconfig
    if create_missing_tables is None:
        create_missing_tables = opts.create_missing_tables
    src = source.open_source(sqlite_path)
    # The whole-file checks (quick_check, orphans) run on their own connection and thread beside the
    # per-table scans (SQLite and the C codec release the GIL while they read), which share two more threads,
    # largest table first: the pre-flight takes about the longest of them, not their sum.
    pool = ThreadPoolExecutor(1 + _TABLE_THREADS, thread_name_prefix="mop-preflight")
    whole = pool.submit(_whole_file_checks, sqlite_path)
    try:
        with _quoting_integrity(sqlite_path, whole):
            listed = source.list_tables(src)
            all_tables = {t.name: t for t in listed}
            names = skip_mod.select_tables(listed, tables or None, skip_tables)
            skipped = tuple((n, t.skip_reason) for n, t in all_tables.items() if t.skip_reason)
            with connect(target, "mop:copy:preflight") as conn:
                found = catalog.find_tables(conn, schema, names)
                plans = tuple(create.plan_missing(src, conn, schema,
                                                  [all_tables[n] for n in names if all_tables[n].fts is None]))
                planned = create.planned_tables(conn, plans) if create_missing_tables else {}
                reports = _tables(src, conn, [(all_tables[n], found[n]) for n in names], opts, sqlite_path, pool,
                                  planned)
                not_copied = skip_mod.skipped_objects(src, listed, names, skip_tables, schema=schema,
                                                      regconfig=fts_regconfig,
                                                      target_tables=catalog.schema_columns(conn, schema))
                problems = fts.regconfig_problems(conn, [all_tables[n].fts for n in names], fts_regconfig)
                problems += [p for p in [bookkeeping.preflight_problem(conn)] if p]
                problems += [p for n in names if all_tables[n].fts is not None and found[n] is None
                             and (p := fts.trgm_problem(conn, all_tables[n].fts, schema))]  # type: ignore[arg-type]
            integrity, all_orphans = whole.result()
            if isinstance(all_orphans, BaseException):
                raise all_orphans
            orphans = tuple(o for o in all_orphans if o["table"] in names)
    finally:
        src.close()
        pool.shutdown(wait=True, cancel_futures=True)
    fts_names = [r.name for r in reports if all_tables[r.name].fts is not None]
    # with fts_contentful="refuse" nothing is created: the refusal below says what to do instead
    new_fts = {n: fts.contentful_ddl(all_tables[n].fts, schema, fts_regconfig)  # type: ignore[arg-type]
               for n in fts_names if fts_contentful != "refuse"}
    problems += [f"target table {schema}.{r.name} does not exist" for r in reports
                 if r.target_table is None and r.name not in fts_names and not create_missing_tables]
    problems += skip_mod.contentful_fts_problems(listed, names, fts_contentful)
    problems += [f"source column {r.name}.{c} has no target column" for r in reports for c in r.source_only_columns
                 if r.target_table is not None]
    problems += [f"{r.name}.{c}: {n} NULLs, target column is NOT NULL (rows will be rejected)"
                 for r in reports for c, n in r.nulls_in_not_null.items()]
    problems += [nonempty.preflight_line(schema, r.target_table, r.target_rows, opts.if_not_empty,
                                         keyless=r.target_keyless)
                 for r in reports if r.target_table and r.target_rows]
    problems += [f"{r.name}.{c}: epoch seconds and milliseconds in one column: {s:,} number(s) read as seconds, "
                 f"{ms:,} as milliseconds, each by its own magnitude (>= 1e11 is milliseconds); check that none "
                 "of the small ones was meant as milliseconds" for r in reports for c, (s, ms) in r.mixed_epochs.items()]
    problems += [f"{r.name}.{p.column}: {p.values} value(s) will be rejected ({p.code}), e.g. {p.example_key}: "
                 f"{p.example_reason}" for r in reports if r.predicted for p in r.predicted.rejects
                 if p.code != "null_in_not_null"]
    if not integrity == ("ok",):
        problems.append("PRAGMA quick_check reports damage: " + "; ".join(integrity[:5]))
    return PreflightReport(str(sqlite_path), target.redacted(), integrity, tuple(reports), skipped, orphans,
                           tuple(problems), not_copied, tuple(new_fts.items()), created=plans)


def _whole_file_checks(path: str | Path) -> tuple[tuple[str, ...], list[dict[str, Any]] | BaseException]:
    """``PRAGMA quick_check`` then the foreign-key orphans, on a connection of their own (a worker thread).

    ``quick_check`` rather than ``integrity_check``: it checks every page,
    record and the free list, which is all the copy reads (tables by rowid),
    but not that each index matches its table, the part that grows n log n
    (8.8 s against 0.76 s on the 1.3 M-row benchmark file). The orphans'
    error, if the file breaks them, is returned for the caller to raise.
    """
    conn = source.open_source(path)
    try:
        integrity = tuple(source.integrity_check(conn, quick=True))
        try:
            return integrity, source.foreign_key_orphans(conn)
        except sqlite3.DatabaseError as exc:
            return integrity, exc
    finally:
        conn.close()


@contextmanager
def _quoting_integrity(path: str | Path, whole: Future[Any]) -> Iterator[None]:
    """``damage_as_unreadable`` quoting what the quick check found, waited for only when a read failed."""
    try:
        yield
    except sqlite3.DatabaseError:
        try:
            integrity = whole.result()[0]
        except Exception:  # noqa: BLE001 - the read's own error is the one to report
            integrity = ()
        with source.damage_as_unreadable(path, integrity):
            raise


_TABLE_THREADS = 2
"""Threads that scan tables beside the whole-file checks' one (the copy's machines have a few cores)."""


def _scan_table(path: str | Path, st: source.SourceTable, tt: catalog.TargetTable | None,
                options: CopyOptions | None) -> tuple[tuple[ColumnPlan, ...], TablePrediction | None, compiled.Profile]:
    """One table's column plans, predicted rejects and storage-class profile, on a connection of its own.

    Where the C codec reads the table for the prediction, that read counts
    the storage classes too (one pass for both); any other table is counted
    by a C pass of its own if it has a rowid, else by SQL's ``typeof()``.
    """
    src = source.open_source(path)
    try:
        plans, predicted, figures = _plan_and_predict(src, st, tt, options, path) if tt is not None else ((), None, None)
        profile = figures.profile if figures is not None else None
        if profile is None:
            profile = compiled.storage_profile(path, st)
        if profile is None:
            profile = source.storage_profile(src, st)
        return plans, predicted, profile
    finally:
        src.close()


def _plan_and_predict(src: sqlite3.Connection, st: source.SourceTable, tt: catalog.TargetTable,
                      options: CopyOptions | None, path: str | Path,
                      ) -> tuple[tuple[ColumnPlan, ...], TablePrediction, compiled.ReadFigures | None]:
    """The column plans and predicted rejects of ``st`` into ``tt``, and the figures of the C read if one was made.

    The plans need each time column's epoch unit: one SQL scan per column,
    before the prediction reads the table. Where the C codec reads it, the
    units are counted on that read instead (``ReadFigures.epochs``, by the SQL
    scan's rule): the codec reads every number by its own magnitude (unit
    ``mixed``), and the slow rows are judged by the plans with the units
    found. The slow rows are those of the units found: a column of seconds
    holds no number at or above the threshold, one of milliseconds no nonzero
    number below it, and by magnitude each is read in its unit. On the 1.3 M-row
    benchmark file this takes a 0.12-0.25 s scan off the largest table's
    path, the pre-flight's longest.
    """
    by_magnitude = _match_columns(src, st, tt, {c.name: "mixed" for c in st.columns})[0]
    timed = [c.source for c in by_magnitude if c.type.name in _TIME_TYPES]
    if not timed or not reads_compiled(st, by_magnitude):
        plans = _match_columns(src, st, tt)[0] if timed else by_magnitude
        return plans, *predict_profiled(src, st, plans, options, path)

    def replan(figures: compiled.ReadFigures) -> tuple[ColumnPlan, ...]:
        return _match_columns(src, st, tt, {c: source.epoch_unit_of(*figures.epochs[c]) for c in timed})[0]

    predicted, figures = predict_profiled(src, st, by_magnitude, options, path, replan=replan)
    assert figures is not None  # the codec read the table
    return replan(figures), predicted, figures


def _tables(src: Any, conn: Any, pairs: list[tuple[source.SourceTable, catalog.TargetTable | None]],
            options: CopyOptions | None, path: str | Path, pool: ThreadPoolExecutor,
            planned: dict[str, catalog.TargetTable] | None = None) -> list[TablePreflight]:
    """Each source table against its target table, in order; the scans run on the pool, largest table first.

    A table the copy will create is predicted against the table as it will be built (``planned``), so its
    rejects are named before the copy as an existing table's are.
    """
    planned = planned or {}
    rows = {st.name: source.count_rows(src, st.name) for st, _ in pairs}
    scans = {st.name: pool.submit(_scan_table, path, st, tt or planned.get(st.name), options)
             for st, tt in sorted(pairs, key=lambda p: -rows[p[0].name])}
    return [_table(src, conn, st, tt, rows[st.name], *scans[st.name].result()) for st, tt in pairs]


def _table(src: Any, conn: Any, st: source.SourceTable, tt: catalog.TargetTable | None, rows: int,
           plans: tuple[ColumnPlan, ...], predicted: TablePrediction | None, profile: compiled.Profile,
           ) -> TablePreflight:
    if tt is None:  # none yet; ``predicted`` is against the table the copy will create, if it creates one
        return TablePreflight(st.name, rows, None, profile, {}, {}, (), (), predicted=predicted)
    types, nulls, src_only = {}, {}, []
    for c in st.columns:
        tc = tt.column(c.name)
        if tc is None or tc.generated:
            src_only.append(c.name)
            continue
        types[c.name] = tc.shown
        if tc.type.not_null and profile.get(c.name, {}).get("null"):
            nulls[c.name] = profile[c.name]["null"]
    src_names = {c.name.lower() for c in st.columns}
    tgt_only = tuple(c.name for c in tt.columns if c.name.lower() not in src_names)
    held = nonempty.count_rows(conn, tt)
    mixed = {c.source: source.epoch_counts(src, st.name, c.source)[1:] for c in plans if c.epoch_unit == "mixed"}
    return TablePreflight(st.name, rows, tt.name, profile, types, nulls, tuple(src_only), tgt_only,
                          held, predicted, bool(held) and not nonempty.has_unique_index(conn, tt), mixed)
