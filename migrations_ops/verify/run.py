"""``verify()``: one call that a Celery task (or a script) makes to produce a report."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import hashlib
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from ..copy import source as copy_source
from ..copy.fts import CONTENTFUL
from ..names import match_name, match_names
from ..progress import CancelFn, Progress, ProgressFn, never_cancel, no_progress
from ..target import TargetConn, connect
from . import pghash
from .beside import SourceOrphans, TargetChecks
from .bisect import BisectOptions, TableDiff, diff_table
from .canonical import ColumnType
from .checks import (
    PgCtx,
    check_nulls,
    check_orphans,
    check_primary_key,
    check_sequence,
    hygiene,
    not_null_check_column,
    source_foreign_keys,
    source_nulls,
)
from .checksum import PgSide, SqliteSide, init_worker, open_sqlite
from .errors import SourceUnreadable, TablesNotFound, VerifyCancelled
from .keyed import LiteKeyed, PgKeyed, diff_keyed, diff_multiset, orderable, whole_table
from .rejects import CopyRejects, load_rejects
from .report import FAIL, PASS, WARN, Finding, Report, ReportHeader, SourceInfo, TableReport, worst
from .schema import HeadTable, PgTable, TargetSchema, load_schema, open_session, qualified, query, run
from .skipped import skipped_and_findings

ALL_CHECKS = frozenset({"counts", "checksums", "orphans", "nulls", "sequences", "hygiene"})


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """Settings of a verification; stored in the report header as given."""

    schema: str = "public"
    checks: frozenset[str] = ALL_CHECKS
    batch_rows: int = 200_000
    bisection_factor: int = 16
    leaf_rows: int = 2_000
    max_located: int = 1_000
    sample_size: int = 10
    statement_timeout_ms: int = 120_000
    lock_timeout_ms: int = 2_000
    integrity_check: str = "quick"
    """``quick`` (``PRAGMA quick_check``, the default): every page, record and the free list, all that the copy
    and the checksums read (tables, by key); ``full`` (``integrity_check``) also checks that each index matches
    its table, the part that grows n log n (8.7 s against 0.9 s on the 1.3 M-row benchmark file, 10 times the
    whole verification); ``off``: not checked. The pre-flight of a copy makes the same choice."""
    hash_source: bool = True
    source_workers: int = 2
    native_hash: bool = True
    """Per-type hash checksums (``pghash``) where the extension is built and every column's kind has one;
    False: the canonical-text md5 checksums everywhere."""
    target_sessions: int = 3
    """Target sessions (each one read-only, autocommit, one statement at a time, like the first): from 3 on,
    one runs the target-only checks (orphans, NULLs, sequences) of every table beside the checksums; the
    others compute a table's top-level range checksums side by side; 1 for a strictly single-session
    verification."""
    copy_id: str | None = None
    """The copy whose rejects explain missing rows; None: the latest copy of this source into this target."""
    explain_rejects: bool = True
    """False: read no copy's rejects (every missing row is unexplained)."""

    def validate(self) -> None:
        if not self.checks <= ALL_CHECKS:
            raise ValueError(f"unknown checks: {sorted(self.checks - ALL_CHECKS)}")
        if self.integrity_check not in ("full", "quick", "off"):
            raise ValueError("integrity_check must be full, quick or off")
        if min(self.batch_rows, self.leaf_rows, self.sample_size, self.statement_timeout_ms) < 1:
            raise ValueError("batch_rows, leaf_rows, sample_size and statement_timeout_ms must be positive")
        if self.bisection_factor < 2:
            raise ValueError("bisection_factor must be at least 2")
        if not 1 <= self.target_sessions <= 4:
            raise ValueError("target_sessions must be 1 to 4")


def checksum_sessions(options: VerifyOptions) -> int:
    """Target sessions computing checksums: all but the one that runs the target checks (from 3 sessions on)."""
    return options.target_sessions - 1 if options.target_sessions >= 3 else options.target_sessions


class Partners:
    """The extra target sessions of ``target_sessions``, opened the first time a big table needs them.

    Each is set up exactly as the first (``open_session``: read-only, statement
    and lock timeouts, autocommit) and runs one statement at a time, so the
    safety rules hold per session; a small table or a target-only run never
    opens one.
    """

    def __init__(self, target: TargetConn, app: str, options: VerifyOptions) -> None:
        self.target, self.app, self.options = target, app, options
        self.conns: list[psycopg.Connection] | None = None

    def get(self) -> list[psycopg.Connection]:
        if self.conns is None:
            self.conns = []
            for _ in range(checksum_sessions(self.options) - 1):
                c = connect(self.target, self.app)
                self.conns.append(c)
                open_session(c, self.options.statement_timeout_ms, self.options.lock_timeout_ms)
        return self.conns

    def close(self) -> None:
        for c in self.conns or []:
            c.close()


@dataclass
class _Run:
    """The open sessions and settings of one verification."""

    ctx: PgCtx
    schema: TargetSchema
    opts: VerifyOptions
    lite: sqlite3.Connection | None
    pool: SourcePool
    progress: ProgressFn
    source_tables: dict[str, list[str]] = field(default_factory=dict)
    sqlite_path: str | None = None
    not_valid: list[tuple[str, str, str]] | None = None
    cancel: Canceller | None = None
    partners: Partners | None = None
    names: dict[str, str] = field(default_factory=dict)
    """Report table name (the target's, or the source's when the target lacks it) -> source table name."""
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    """Report table name -> {target column: source column} where the names differ (letter case)."""
    rejects: CopyRejects | None = None
    target: TargetConn | None = None
    app: str = ""
    """The target and application name, for sessions opened beside the first (``beside.TargetChecks``)."""

    def src(self, table: str, column: str | None = None) -> str:
        """The source's name of a table (or of one of its columns) known by its target name."""
        if column is None:
            return self.names.get(table, table)
        return self.columns.get(table, {}).get(column, column)


class Canceller:
    """``should_cancel`` called by the thread that runs the verification, remembered once true.

    The in-process SQLite connection polls it (at most once a second, from that
    thread only) through a progress handler, so a long source statement such as
    ``PRAGMA foreign_key_check`` is interrupted too; the SQLite thread only reads the flag.
    """

    def __init__(self, should_cancel: CancelFn) -> None:
        self.should_cancel = should_cancel
        self.owner = threading.get_ident()
        self.flag = threading.Event()
        self.last = time.monotonic()
        self.also: list[Any] = []  # worker processes' stop events

    def __call__(self) -> bool:
        if not self.flag.is_set() and self.should_cancel():
            self.flag.set()
            for event in self.also:
                event.set()
        return self.flag.is_set()

    @property
    def cancelled(self) -> bool:
        return self.flag.is_set()

    def sqlite_handler(self) -> int:
        if threading.get_ident() == self.owner and time.monotonic() - self.last >= 1.0:
            self.last = time.monotonic()
            self()
        return 1 if self.flag.is_set() else 0


PROCESS_MIN_ROWS = 100_000
"""Below this many source rows a table's SQLite side runs in one thread: starting processes costs more."""


class SourcePool:
    """Where the SQLite side's work runs: one thread, threads or processes for big tables.

    The native checksum (``pghash``) runs in C with the GIL released: ``workers``
    threads run ranges in parallel, no process to start. The canonical-text
    checksum is computed in Python (per row), so it is CPU-bound under the GIL;
    worker processes, each with its own read-only connection, run ranges in
    parallel while PostgreSQL hashes its side. Where processes cannot start
    (a daemonic Celery worker), one thread it is.
    """

    def __init__(self, workers: int, cancel: Canceller | None = None) -> None:
        self.workers, self.cancel = workers, cancel
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mop-verify-sqlite")
        self.threads: ThreadPoolExecutor | None = None
        self.procs: ProcessPoolExecutor | None = None

    def for_rows(self, rows: int, native: bool = False) -> Executor:
        if self.workers < 2 or rows < PROCESS_MIN_ROWS:
            return self.thread
        if native:
            if self.threads is None:
                self.threads = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="mop-verify-native")
            return self.threads
        if self.procs is None:
            try:
                mp = multiprocessing.get_context("spawn")
                stop = mp.Event()
                self.procs = ProcessPoolExecutor(self.workers, mp_context=mp, initializer=init_worker,
                                                 initargs=(stop,))
                self.procs.submit(os.getpid).result(timeout=60)
                if self.cancel is not None:
                    self.cancel.also.append(stop)
            except Exception:  # noqa: BLE001 (any failure to start means: stay in-process)
                if self.procs is not None:
                    self.procs.shutdown(wait=False, cancel_futures=True)
                self.procs = None
                self.workers = 1
                return self.thread
        return self.procs

    def close(self) -> None:
        self.thread.shutdown(wait=True, cancel_futures=True)
        if self.threads is not None:
            self.threads.shutdown(wait=True, cancel_futures=True)
        if self.procs is not None:
            self.procs.shutdown(wait=True, cancel_futures=True)
            self.procs = None


def verify(
    target: TargetConn,
    sqlite_path: str | os.PathLike[str] | None = None,
    tables: list[str] | None = None,
    options: VerifyOptions = VerifyOptions(),  # noqa: B008 (frozen)
    head_schema: Mapping[str, HeadTable] | None = None,
    *,
    run_id: int | str | None = None,
    progress: ProgressFn = no_progress,
    should_cancel: CancelFn = never_cancel,
) -> Report:
    """Verify a target against its SQLite source (or alone) and return the report.

    With a source: row counts, content checksums and bisection to the differing
    rows, plus the source's NULLs and foreign-key orphans. Always: orphaned
    foreign keys, NULLs in NOT NULL columns, primary keys the target does not
    enforce, sequences behind ``max(id)``, and hygiene. Only reads: read-only
    autocommit session, one short statement per batch, cancel between batches.

    :param target: the PostgreSQL database.
    :param sqlite_path: the SQLite source; None for target-only mode (checks 4-7).
    :param tables: restrict to these tables (default: every table of the schema).
    :param options: batch sizes, timeouts, which checks.
    :param head_schema: NOT NULL columns and primary keys the project's head declares.
    :param run_id: shown in ``pg_stat_activity`` as ``mop:verify:<run_id>``.
    :param progress: receives a ``Progress`` per table and per checksum batch.
    :param should_cancel: polled between batches; True raises ``VerifyCancelled``.
    """
    options.validate()
    started = _now()
    # The source's sha256 and integrity check run beside the checksums (SQLite and hashlib release the GIL):
    # both are kept, at full strength, and cost the verification little more than the longer of the two.
    info_pool = ThreadPoolExecutor(1, thread_name_prefix="verify-source-info") if sqlite_path is not None else None
    source_info = None
    if info_pool is not None:
        _check_source_file(os.fspath(sqlite_path))  # a missing or empty file is refused before anything starts
        source_info = info_pool.submit(_source_info, sqlite_path, options)
        info_pool.shutdown(wait=False)
    cancel = Canceller(should_cancel)
    lite = open_sqlite(os.fspath(sqlite_path)) if sqlite_path is not None else None
    if lite is not None:
        lite.set_progress_handler(cancel.sqlite_handler, 100_000)
    app = f"mop:verify:{run_id if run_id is not None else os.getpid()}"
    conn = connect(target, app)
    partners = Partners(target, app, options)
    try:
        open_session(conn, options.statement_timeout_ms, options.lock_timeout_ms)
        ctx = PgCtx(conn, options.schema, options.statement_timeout_ms, options.lock_timeout_ms,
                    options.batch_rows, options.sample_size, cancel)
        schema = load_schema(conn, options.schema, head_schema, options.statement_timeout_ms)
        pool = SourcePool(options.source_workers, cancel)
        try:
            r = _Run(ctx, schema, options, lite, pool, progress, {},
                     os.fspath(sqlite_path) if sqlite_path is not None else None, cancel=cancel, partners=partners,
                     target=target, app=app)
            if lite is not None:
                _pair_names(r, _sqlite_tables(lite, schema.tables))
                if options.explain_rejects and "checksums" in options.checks:
                    r.rejects = load_rejects(conn, r.sqlite_path, options.copy_id, timeout_ms=options.statement_timeout_ms)
            names = _scope(r, tables)
            reports, db_findings = _verify_tables(r, names)
            skipped, fts_findings = skipped_and_findings(lite, ctx, schema.tables) if lite else ((), [])
            db_findings += fts_findings
        except sqlite3.DatabaseError as exc:  # OperationalError (interrupted) or a damaged page
            if cancel.cancelled:
                raise VerifyCancelled(None) from None  # interrupted by the progress handler
            if source_info is not None and isinstance(source_info.exception(), SourceUnreadable):
                raise source_info.exception() from None  # the file's own reason, as when it ran first
            raise SourceUnreadable(os.fspath(sqlite_path or ""), str(exc)) from None
        finally:
            pool.close()
    finally:
        partners.close()
        conn.close()
        if lite is not None:
            lite.close()
    source = source_info.result() if source_info is not None else None
    header = ReportHeader(
        target=target.redacted(), mode="source" if source else "target-only", server_version=schema.server_version,
        started_at=started, finished_at=_now(), settings={
            **asdict(options), "checks": sorted(options.checks), "tables": tables,
            # the copy whose rejects explained missing rows, also when the latest one was taken (no copy_id given)
            "copy_id": r.rejects.copy_id if r.rejects is not None else options.copy_id}, source=source)
    if r.rejects is not None:
        db_findings.insert(0, _rejects_finding(r.rejects))
    if source is not None and source.integrity_check not in (("ok",), ("skipped",)):
        db_findings.insert(0, Finding("integrity", FAIL, "source PRAGMA integrity_check reports problems", None, (),
                                      {"messages": list(source.integrity_check)}))
    return Report(header, tuple(reports), tuple(db_findings), skipped=skipped)


def _verify_tables(r: _Run, names: list[str]) -> tuple[list[TableReport], list[Finding]]:
    """Run every check, table by table, and collect findings by table.

    The source's foreign-key check and (with a session for them) the target-only
    checks run beside the checksums (``beside``); each table's findings keep their order.
    """
    opts, lite = r.opts, r.lite
    extra: dict[str, list[Finding]] = {}  # the source's orphans, then hygiene: the order the report always had
    tidy: dict[str, list[Finding]] = {}
    db_findings: list[Finding] = []
    present = [n for n in names if n in r.schema.tables]
    rules = {n: _not_null_rules(r, r.schema.tables[n]) for n in present}  # on the main session, before any thread
    flag = r.cancel.flag.is_set if r.cancel is not None else (lambda: False)
    orphans = by_source = checks = None
    jobs: dict[str, Future[list[Finding]]] = {}
    try:
        if lite is not None and "orphans" in opts.checks:
            by_source = {r.src(n): n for n in names}
            if r.sqlite_path is not None:
                orphans = SourceOrphans(r.sqlite_path, set(by_source), opts.sample_size, flag)
            else:
                _merge(extra, {by_source[t]: f for t, f in source_foreign_keys(lite, set(by_source),
                                                                                opts.sample_size).items()})
        if "hygiene" in opts.checks:
            _merge(tidy, hygiene(r.ctx, set(names)))
        if opts.target_sessions >= 3 and r.target is not None and present:
            checks = TargetChecks(r.target, r.app, r.ctx, opts.lock_timeout_ms, flag)
            for n in present:
                jobs[n] = checks.submit(functools.partial(_target_checks, r, r.schema.tables[n], *rules[n]))
        reports = [_missing_table(r, n) for n in names if n not in r.schema.tables]
        done: list[tuple[str, list[Finding], TableDiff | None, float]] = []
        for i, name in enumerate(present):
            if r.ctx.should_cancel():
                raise VerifyCancelled(name)
            r.progress(Progress(i, len(present), f"verifying {name}", step=name, data={"table": name}))
            t0 = time.monotonic()
            findings, diff = _check_table(r, r.schema.tables[name], *rules[name], inline=name not in jobs)
            done.append((name, findings, diff, time.monotonic() - t0))
        if orphans is not None and by_source is not None:
            _merge(extra, {by_source[t]: f for t, f in _waiting(orphans.future, r, None).items()})
        _merge(extra, tidy)
        for name, findings, diff, seconds in done:
            if name in jobs:
                t0 = time.monotonic()
                findings += _waiting(jobs[name], r, name)
                seconds += time.monotonic() - t0
            findings += extra.get(name, [])
            reports.append(TableReport(
                name, worst(f.status for f in findings), diff.source_rows if diff else None,
                diff.target_rows if diff else None, tuple(findings), round(seconds, 3), r.names.get(name)))
    finally:
        if checks is not None:
            checks.close()
        if orphans is not None:
            orphans.close()
    r.progress(Progress(len(present), len(present), "verification done", step=None))
    return reports, db_findings


def _waiting(fut: Future[Any], r: _Run, table: str | None) -> Any:
    """The result of work done beside (``beside``), polling the caller's cancel meanwhile."""
    while True:
        try:
            return fut.result(timeout=0.5)
        except concurrent.futures.TimeoutError:
            if r.ctx.should_cancel():
                raise VerifyCancelled(table) from None


def _missing_table(r: _Run, name: str) -> TableReport:
    """A source table the target lacks (virtual tables and their shadow tables were left out already)."""
    assert r.lite is not None
    rows = SqliteSide(r.lite, r.src(name), [], None).count()
    return TableReport(name, FAIL, rows, None, (Finding(
        "table", FAIL, f"table {name} is in the source ({rows} rows) but not in the target (no table of that "
        "name, in any letter case)", name, (), {"source": rows}),), source_name=r.src(name))


def _target_checks(r: _Run, table: PgTable, must: list[str], why: dict[str, str], ctx: PgCtx) -> list[Finding]:
    """The checks that read only the target: NULLs the target does not enforce, the head's primary key,
    orphaned foreign keys, sequences behind their column (on ``ctx``'s session)."""
    opts, name = r.opts, table.name
    findings: list[Finding] = []
    if "nulls" in opts.checks:
        unenforced = [c for c in must if not table.column(c).not_null]
        findings += check_nulls(ctx, table, unenforced, why)
        head = r.schema.head.get(name)
        if head and head.primary_key and not table.primary_key:
            findings.append(check_primary_key(ctx, table, head.primary_key))
    if "orphans" in opts.checks:
        findings += [check_orphans(ctx, table, fk) for fk in r.schema.foreign_keys if fk.table == name]
    if "sequences" in opts.checks:
        findings += [check_sequence(ctx, s) for s in r.schema.sequences if s.table == name]
    return findings


def _check_table(r: _Run, table: PgTable, must: list[str], why: dict[str, str], inline: bool = True
                 ) -> tuple[list[Finding], TableDiff | None]:
    """The checks of one table that involve the source (the long one), then, ``inline``, the target-only ones."""
    opts, name = r.opts, table.name
    findings: list[Finding] = []
    diff = None
    if r.lite is not None and name not in r.source_tables:
        findings.append(Finding("table", PASS, f"{name} is not in the source: target checks only", name))
    if r.columns.get(name):
        pairs = r.columns[name]
        findings.append(Finding("names", PASS, f"source {r.src(name)} compared with target {name}; columns paired "
                                "by letter case: " + ", ".join(f"{s} -> {t}" for t, s in pairs.items()), name,
                                tuple(pairs), {"source_table": r.src(name), "columns": {s: t for t, s in pairs.items()}}))
    if r.lite is not None and name in r.source_tables:
        nulls = None
        src_cols = [c for c in must if c in r.source_tables[name]] if "nulls" in opts.checks else []
        key = table.primary_key[0] if len(table.primary_key) == 1 and table.primary_key[0] in r.source_tables[
            name] else "rowid"
        # Columns the target enforces NOT NULL need no scan when the table matches: every source row then has
        # an identical target row, which cannot hold a NULL there. Only the others (head schema, NOT VALID
        # checks) are scanned beside the checksums, in the pool's own thread; the enforced ones after a mismatch.
        enforced = [c for c in src_cols if table.column(c).not_null]
        beside = [c for c in src_cols if c not in enforced]
        if beside:
            nulls = r.pool.thread.submit(_source_nulls, r, name, beside, key, why)
        try:
            findings_src, diff = _compare_source(r, table)
        finally:
            if nulls is not None and not nulls.done():
                nulls.cancel()
                concurrent.futures.wait([nulls])  # not running on after a failure or a cancel
        findings += findings_src
        if nulls is not None:
            findings += nulls.result()
        if enforced and not (diff.checksum_match and diff.source_rows == diff.target_rows):
            findings += _source_nulls(r, name, enforced, key, why)
    if inline:
        findings += _target_checks(r, table, must, why, r.ctx)
    return findings, diff


def _source_nulls(r: _Run, table: str, target_columns: list[str], target_key: str, target_why: dict[str, str]
                  ) -> list[Finding]:
    """``source_nulls`` on a connection of its own: SQLite holds a connection's mutex for a whole statement,
    so sharing ``r.lite`` would queue the checksum pass's bound and count queries behind this scan.
    Called with target names; the source is read by its own names (they may differ in letter case)."""
    name, key = r.src(table), r.src(table, target_key) if target_key != "rowid" else "rowid"
    columns = [r.src(table, c) for c in target_columns]
    why = {r.src(table, c): w for c, w in target_why.items()}
    if r.sqlite_path is None or not columns:
        return source_nulls(r.lite, name, columns, key, why, r.opts.sample_size) if r.lite is not None else []
    conn = open_sqlite(r.sqlite_path)
    try:
        if r.cancel is not None:
            flag = r.cancel.flag
            conn.set_progress_handler(lambda: 1 if flag.is_set() else 0, 100_000)
        return source_nulls(conn, name, columns, key, why, r.opts.sample_size)
    finally:
        conn.close()


def _not_null_rules(r: _Run, table: PgTable) -> tuple[list[str], dict[str, str]]:
    """Columns that must hold no NULL, and why: target NOT NULL, a NOT VALID check, the head schema."""
    why: dict[str, str] = {c.name: "is NOT NULL in the target" for c in table.columns if c.not_null}
    head = r.schema.head.get(table.name)
    cols = {c.name for c in table.columns}
    for c in sorted((head.not_null | set(head.primary_key)) if head else ()):
        if c in cols and c not in why:
            why[c] = "is NOT NULL in the head schema"
    for name, definition in _not_valid_checks(r, table.name):
        c = not_null_check_column(definition)
        if c in cols and c not in why:
            why[c] = f"is required by NOT VALID check {name}"
    return [c.name for c in table.columns if c.name in why], why


def _not_valid_checks(r: _Run, table: str) -> list[tuple[str, str]]:
    """NOT VALID check constraints of a table (read once per verification)."""
    if r.not_valid is None:
        rows = run(r.ctx.conn, query("not_valid_constraints"), {"schema": r.ctx.schema}, table="(catalog)",
                   what="NOT VALID constraints", timeout_ms=r.ctx.timeout_ms, dicts=True)
        r.not_valid = [(x["table_name"], x["name"], x["definition"]) for x in rows if x["contype"] == "c"]
    return [(name, definition) for t, name, definition in r.not_valid if t == table]


def _compare_source(r: _Run, table: PgTable) -> tuple[list[Finding], TableDiff]:
    """Counts, checksums and located rows for one table present on both sides.

    Time columns' epoch units are left undecided for the native pass (``SqliteSide``: no scan of each
    time column first); when the pass met text holding a number there, the table is compared again
    with the units decided as the copy decides them.
    """
    sides: list[SqliteSide] = []
    out = _compare_source_once(r, table, sides, lazy_units=True)
    if any(s.unit_read for s in sides):
        out = _compare_source_once(r, table, [], lazy_units=False)
    return out


def _compare_source_once(r: _Run, table: PgTable, sides: list[SqliteSide], lazy_units: bool
                         ) -> tuple[list[Finding], TableDiff]:
    assert r.lite is not None
    opts, name = r.opts, table.name
    src_cols = r.source_tables[name]
    common = [c for c in table.columns if c.name in src_cols and not c.generated]
    cols = [(c.name, c.type) for c in common]
    keyed = bool(table.primary_key) and all(c in src_cols for c in table.primary_key)
    key = table.range_key if keyed else None
    key_cols = [(c, table.column(c).type) for c in table.primary_key] if keyed else []
    native = opts.native_hash and pghash.supported(cols)
    catalog = _catalog(table)
    pg = PgSide(r.ctx.conn, r.ctx.schema, name, cols, key, opts.statement_timeout_ms, opts.lock_timeout_ms,
                table.estimate, key_cols, native, catalog)
    if r.partners is not None and key is not None and table.estimate >= opts.batch_rows:
        pg.partners = [PgSide(c, r.ctx.schema, name, cols, key, opts.statement_timeout_ms, opts.lock_timeout_ms,
                              table.estimate, key_cols, native, catalog) for c in r.partners.get()]
    src = r.src(name)
    src_types = [(r.src(name, c), ct) for c, ct in cols]
    src_keys = [(r.src(name, c), ct) for c, ct in key_cols]
    lite = SqliteSide(r.lite, src, src_types, r.src(name, key) if key else None, r.sqlite_path, src_keys, native,
                      lazy_units)
    sides.append(lite)
    if r.cancel is not None:
        lite.stop = r.cancel.flag.is_set  # the flag only: never the caller's should_cancel from a pool thread
    source_rows = lite.count()
    rejected = r.rejects.rows(src, name) if r.rejects is not None else {}
    explain = r.rejects.explainer(src, name) if r.rejects is not None else None
    # every rejected row may be located and explained on top of the usual limit of unexplained ones
    bis = BisectOptions(opts.batch_rows, opts.bisection_factor, opts.leaf_rows, opts.max_located + len(rejected),
                        opts.sample_size)
    method = "pghash" if native else "md5"

    def on_batch(done: int) -> None:
        total = max(table.estimate, source_rows, done)  # a line read mid-table says how far along it is
        r.progress(Progress(done, total, f"{name}: {done:,} of {total:,} rows checksummed", step=name,
                            data={"table": name, "rows": done}))

    if key is None and keyed and orderable([table.column(c).typname for c in table.primary_key]):
        diff = _diff_by_key_values(r, table, cols, src_types, bis, native, source_rows, on_batch, explain, sides,
                                   lazy_units)
        return _diff_findings(name, diff, src_cols, table, opts, method + " by key ranges", r.rejects), diff
    if key is None:
        rows = max(source_rows, table.estimate)
        whole = whole_table(r.pool.for_rows(rows, native), lite, pg)
        if whole[0] == whole[1]:
            diff = TableDiff(whole[0].rows, whole[1].rows, True, located=True, complete=True, ranges_compared=1)
        else:
            diff = diff_multiset(pg, lite, [c for c, _ in cols], bis, whole, explain)
            method += "+md5 row hashes"
        return _diff_findings(name, diff, src_cols, table, opts, method, r.rejects), diff

    pool = r.pool.for_rows(max(source_rows, table.estimate), native)
    diff = diff_table(pg, lite, [c for c, _ in cols], bis, pool, r.ctx.should_cancel, on_batch, source_rows,
                      explain)
    return _diff_findings(name, diff, src_cols, table, opts, method, r.rejects), diff


def _catalog(table: PgTable) -> pghash.Catalog:
    """Each column's type name and NOT NULL, for the checksum's SQL (``pghash.pg_hash``)."""
    return {c.name: (c.typname, c.not_null) for c in table.columns}


def _diff_by_key_values(r: _Run, table: PgTable, cols: list[tuple[str, ColumnType]],
                        src_types: list[tuple[str, ColumnType]], bis: BisectOptions, native: bool, source_rows: int,
                        on_batch: Any, explain: Any, sides: list[SqliteSide], lazy_units: bool) -> TableDiff:
    """``keyed.diff_keyed`` for a text, uuid or composite key: both sides' key-ordered sides, partners included."""
    opts, name = r.opts, table.name
    keys = [(c, table.column(c).typname) for c in table.primary_key]
    rows = run(r.ctx.conn, query("byte_order_columns"), {"schema": r.ctx.schema, "table": name}, table=name,
               what="key collations", timeout_ms=opts.statement_timeout_ms)
    byte_order = frozenset(c for c, ok in rows if ok)
    estimate = table.estimate
    if estimate < 0:  # never analyzed: the split into ranges needs a row count, not -1
        estimate = run(r.ctx.conn, sql.SQL("SELECT count(*) FROM {}").format(qualified(r.ctx.schema, name)),
                       table=name, what="row count", timeout_ms=opts.statement_timeout_ms)[0][0]

    def side(conn: psycopg.Connection) -> PgKeyed:
        pg = PgKeyed(conn, r.ctx.schema, name, cols, opts.statement_timeout_ms, opts.lock_timeout_ms, keys, native,
                     byte_order, _catalog(table))
        pg.estimate = estimate
        return pg

    pg = side(r.ctx.conn)
    if r.partners is not None and table.estimate >= opts.batch_rows:
        pg.partners = [side(c) for c in r.partners.get()]
    lite = LiteKeyed(r.lite, r.src(name), src_types, None, r.sqlite_path,
                     [(r.src(name, c), ColumnType.from_pg(t)) for c, t in keys], native, lazy_units)
    sides.append(lite)
    if r.cancel is not None:
        lite.stop = r.cancel.flag.is_set
    pool = r.pool.for_rows(max(source_rows, table.estimate), native)
    return diff_keyed(pg, lite, [c for c, _ in cols], bis, pool, r.ctx.should_cancel, on_batch, source_rows, explain)


def _diff_findings(name: str, d: TableDiff, src_cols: list[str], table: PgTable, opts: VerifyOptions,
                   method: str = "md5", rejects: CopyRejects | None = None) -> list[Finding]:
    """Findings of the source comparison; rows the copy rejected are WARN ("explained"), never what fails it."""
    out = []
    missing_cols = [c for c in src_cols if c not in {x.name for x in table.columns}]
    if missing_cols:
        out.append(Finding("columns", WARN, f"source columns missing in the target: {', '.join(missing_cols)} "
                           "(not compared)", name, tuple(missing_cols)))
    explained = d.all_explained and d.explained_count == d.source_rows - d.target_rows
    if "counts" in opts.checks:
        delta = d.target_rows - d.source_rows
        why = f", all {d.explained_count} rejected by the copy" if delta and explained else ""
        out.append(Finding("counts", PASS if delta == 0 else WARN if explained else FAIL,
                           f"{d.source_rows} rows in source, {d.target_rows} in target" + (
                               f" ({delta:+d}{why})" if delta else ""), name, (),
                           {"source": d.source_rows, "target": d.target_rows, "difference": delta,
                            "explained": d.explained_count}))
    if "checksums" in opts.checks:
        figures = {"ranges_compared": d.ranges_compared, "rows_compared": d.rows_compared, "located": d.located,
                   "complete": d.complete, "unlocated_ranges": list(d.unlocated), "settled_ranges": d.settled,
                   "method": method}
        if d.checksum_match:
            settled = (f" (rows compared one by one in {d.settled} range(s) whose checksums differed: all equal)"
                       if d.settled else "")
            out.append(Finding("checksum", PASS, "content checksums match" + settled, name, (), figures))
        elif explained:
            out.append(Finding("checksum", WARN, "content checksums differ only by rows the copy rejected "
                               f"({d.explained_count}): no unexplained difference", name, (), figures))
        else:
            out.append(Finding("checksum", FAIL, "content checksums differ" + (f": {d.reason}" if d.reason else ""),
                               name, (), figures))
        if d.explained_count and rejects is not None:
            out.append(Finding(
                "explained", WARN, f"{d.explained_count} row(s) of the source missing in the target, explained by "
                f"rejects of copy {rejects.copy_id}", name, (),
                {"rows": d.explained_count, "copy_id": rejects.copy_id}, d.explained))
        more = "" if d.complete else " (at least; locating stopped at max_located)"
        for what, n, samples, msg in (
            ("missing", d.missing_count, d.missing, "row(s) of the source missing in the target"),
            ("extra", d.extra_count, d.extra, "row(s) in the target that the source does not have"),
        ):
            if n:
                out.append(Finding(what, FAIL, f"{n} {msg}{more}", name, (), {"rows": n}, samples))
        if d.changed_count:
            cols = tuple(sorted(d.changed_columns))
            out.append(Finding("changed", FAIL, f"{d.changed_count} row(s) differ in {', '.join(cols)}{more}", name,
                               cols, {"rows": d.changed_count, "by_column": d.changed_columns}, d.changed))
    return out


def _scope(r: _Run, tables: list[str] | None) -> list[str]:
    """The tables to verify: the requested ones, or every target table (and, with a source, source tables)."""
    known = set(r.schema.tables) | set(r.source_tables)
    if tables:
        found = {t: t if t in known else match_name(t, known) for t in tables}  # "Album" asks for album too
        unknown = [t for t, n in found.items() if n is None]
        if unknown:
            raise TablesNotFound(unknown, r.schema.schema)
        return list(dict.fromkeys(n for n in found.values() if n is not None))
    return sorted(known)


def _pair_names(r: _Run, source: dict[str, list[str]]) -> None:
    """Pair source tables and columns with the target's by the one name rule (``names.match_names``).

    ``r.source_tables`` is then keyed by the target's table name and lists the
    target's column names (a source table the target lacks keeps its own name);
    ``r.names`` and ``r.columns`` keep the source's names for reading the source.
    """
    for src, tgt in match_names(source, r.schema.tables).items():
        key = tgt or src
        r.names[key] = src
        if tgt is None:
            r.source_tables[key] = source[src]
            continue
        cols = match_names(source[src], [c.name for c in r.schema.tables[tgt].columns])
        r.source_tables[key] = [c_t or c_s for c_s, c_t in cols.items()]
        r.columns[key] = {c_t: c_s for c_s, c_t in cols.items() if c_t is not None and c_t != c_s}


def _rejects_finding(rej: CopyRejects) -> Finding:
    """Which copy's rejects explain missing rows, and why that copy (stated in the report)."""
    why = ("named for this verification" if rej.chosen == "given"
           else "the latest copy of this source file into this target")
    n = sum(len(v) for v in rej.by_table.values())
    return Finding("rejects", PASS, f"rows missing in the target are checked against the {n} rejected row(s) of "
                   f"copy {rej.copy_id} ({why})", None, (), {"copy_id": rej.copy_id, "chosen": rej.chosen,
                                                              "rejected_rows": n})


def _sqlite_tables(lite: sqlite3.Connection, targets: Mapping[str, Any]) -> dict[str, list[str]]:
    """Ordinary tables of the source and their columns, and contentful FTS tables the target has a table for, as
    ``rowid`` and their columns (the copy loads their rows into a regular table keyed by ``rowid``: compared like
    any other table, row by row; one the target lacks is a WARN of ``skipped``); other virtual tables and their
    shadow tables are skipped."""
    rows = lite.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall()
    virtual = [n for n, s in rows if (s or "").upper().startswith("CREATE VIRTUAL")]
    contentful = {t.name: t.fts.columns for t in copy_source.list_tables(lite)
                  if t.fts is not None and t.fts.kind == CONTENTFUL and match_name(t.name, targets) is not None}
    out = {}
    for name, _ in rows:
        if name in contentful:
            out[name] = ["rowid", *contentful[name]]
            continue
        if name in virtual or any(name.startswith(v + "_") for v in virtual):
            continue
        out[name] = [c[1] for c in lite.execute("SELECT * FROM pragma_table_info(?)", (name,))]
    return out


def _check_source_file(p: str) -> None:
    if not os.path.isfile(p):
        raise SourceUnreadable(p, "no such file")
    if os.path.getsize(p) == 0:
        raise SourceUnreadable(p, "the file is empty (0 bytes), not a SQLite database")


def _source_info(path: str | os.PathLike[str], opts: VerifyOptions) -> SourceInfo:
    """Size, sha256 and integrity check of the source file; the hash in a thread of its own beside the check
    (hashlib and SQLite both release the GIL)."""
    p = os.fspath(path)
    _check_source_file(p)
    with ThreadPoolExecutor(1, thread_name_prefix="verify-source-sha256") as hashing:
        digest = hashing.submit(_sha256, p) if opts.hash_source else None
        try:
            lite = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
            try:
                pragma = {"full": "PRAGMA integrity_check", "quick": "PRAGMA quick_check"}.get(opts.integrity_check)
                integrity = tuple(r[0] for r in lite.execute(pragma).fetchmany(100)) if pragma else ("skipped",)
                version = lite.execute("SELECT sqlite_version()").fetchone()[0]
            finally:
                lite.close()
        except sqlite3.DatabaseError as exc:
            raise SourceUnreadable(p, str(exc)) from None
        return SourceInfo(p, os.path.getsize(p), digest.result() if digest is not None else "", integrity, version)


def _sha256(p: str) -> str:
    """The file's sha256, read in 1 MB chunks."""
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _merge(into: dict[str, list[Finding]], more: dict[str, list[Finding]]) -> None:
    for k, v in more.items():
        into.setdefault(k, []).extend(v)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
