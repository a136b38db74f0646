"""The phases after all ranges: indexes, foreign keys, sequences, ANALYZE, summary.

Foreign keys: ``plan_ranges`` dropped the loaded tables' FKs (definitions
saved in ``mop.copy_saved_ddl``) so that orphans in the source cannot abort
the load. Here each comes back ``NOT VALID`` (cheap, no scan), its orphans are
counted with a query generated from ``pg_constraint``, and it is validated
only when there are none. We chose this over ``session_replication_role =
replica`` because that needs superuser (targets are usually owned by an app
role), silently disables every trigger, and leaves no trace of the orphans.
"""

from __future__ import annotations

import json
import threading
import time

import psycopg
from psycopg import sql

from migrations_ops.progress import Progress, ProgressFn, no_progress
from migrations_ops.target import TargetConn, connect

from . import restore
from .errors import ConstraintsNotRestored, CopyAbandoned, CopyIncomplete, UnknownCopy
from .options import CopyOptions, RangeSpec
from .ranges import application_name
from .sqlfiles import q, t
from .store import release_target_lock, take_target_lock
from .summary import CopySummary, ForeignKeyReport, rejects_by_reason, table_summaries


def finish_copy(
    target: TargetConn,
    copy_id: str,
    progress: ProgressFn = no_progress,
    *,
    copy_seconds: float | None = None,
    lock: bool = True,
) -> CopySummary:
    """Finish a copy whose ranges are all committed, and return its summary.

    Steps: 1 check every planned range has its checkpoint; 2 rebuild the
    indexes dropped for the load, ``index_workers`` connections at a time
    with ``maintenance_work_mem`` raised, and re-attach the deferred PRIMARY
    KEY / UNIQUE constraints to theirs (a failure, e.g. duplicates, raises
    ``ConstraintsNotRestored`` after the others are built, the copy stays open);
    3 put foreign keys back NOT VALID, count orphans, validate those without;
    4 set serial/identity sequences to max(column); 5 ANALYZE each loaded
    table; 6 mark the copy finished.
    Each DDL step commits on its own, and saved DDL is marked restored, so a
    finish that dies half-way can simply be run again.

    :param copy_seconds: wall time of the copy phase if the caller measured it
        (else taken from the run's start to its last checkpoint).
    """
    with connect(target, application_name(copy_id), autocommit=True) as conn:
        if lock:
            take_target_lock(conn)
        specs, opts, started_copy = _plan(conn, copy_id)
        tables = sorted({(s.schema, s.target_table) for s in specs})
        phases: list[tuple[str, float]] = [("copy", copy_seconds if copy_seconds is not None else started_copy)]
        steps = (("indexes", lambda: _restore_indexes(target, conn, copy_id, opts)),
                 ("foreign keys", lambda: _restore_fks(target, conn, copy_id, opts.index_workers)),
                 ("sequences", lambda: _reset_sequences(conn, tables)),
                 ("analyze", lambda: _analyze(target, copy_id, tables, opts.index_workers)))
        results: dict[str, object] = {}
        for i, (name, fn) in enumerate(steps):
            progress(Progress(i, len(steps), f"Post-load phase: {name}", step=name))
            t0 = time.monotonic()
            results[name] = fn()
            phases.append((name, time.monotonic() - t0))
        summary = CopySummary(
            copy_id, table_summaries(conn, copy_id), tuple(phases),
            tuple(results["foreign keys"]), tuple(results["sequences"]), rejects_by_reason(conn, copy_id),  # type: ignore[call-overload]
        )
        conn.execute(q("copy_run_finished"), {"copy_id": copy_id, "summary": json.dumps(summary.to_dict())})
        if lock:
            release_target_lock(conn)
        progress(Progress(len(steps), len(steps), "Copy finished", step="done", data=summary.to_dict()))
        return summary


def _plan(conn: psycopg.Connection, copy_id: str) -> tuple[list[RangeSpec], CopyOptions, float]:
    row = conn.execute(q("copy_run_get"), {"copy_id": copy_id}).fetchone()
    if row is None:
        raise UnknownCopy(copy_id)
    if row[2] == "abandoned":
        raise CopyAbandoned(copy_id)
    specs = [RangeSpec.from_dict(d) for d in row[0]]
    done = {(tn, lo) for tn, lo in conn.execute(q("copy_checkpoints_done"), {"copy_id": copy_id})}
    missing = [s for s in specs if (s.table, s.lo) not in done]
    if missing:
        raise CopyIncomplete(copy_id, len(missing))
    return specs, CopyOptions.from_dict(row[1]), float(row[4] or 0.0)


def _restore_indexes(target: TargetConn, conn: psycopg.Connection, copy_id: str, opts: CopyOptions) -> list[str]:
    """Build the dropped indexes in parallel, then re-attach the deferred keys; raise if any failed."""
    built, failed = restore.build_indexes(target, copy_id, opts.index_workers, opts.maintenance_work_mem)
    attached, not_attached = restore.attach_constraints(conn, copy_id)
    failures = failed + not_attached
    if failures:
        raise ConstraintsNotRestored(copy_id, [(f.table, f.name, f.error) for f in failures])
    return built + attached


def _restore_fks(target: TargetConn, conn: psycopg.Connection, copy_id: str, workers: int) -> list[ForeignKeyReport]:
    """Put the foreign keys back NOT VALID, then check them ``workers`` connections at a time, biggest table first."""
    added, failed = restore.add_fks_not_valid(conn, copy_id)
    if failed:
        raise ConstraintsNotRestored(copy_id, [(f.table, f.name, f.error) for f in failed])
    todo = list(enumerate(added))
    reports: dict[int, ForeignKeyReport] = {}
    guard = threading.Lock()

    def work() -> None:
        with connect(target, application_name(copy_id), autocommit=True) as c:
            while True:
                with guard:
                    if not todo:
                        return
                    i, s = todo.pop(0)
                report = _check_fk(c, s.schema, s.table, s.name, validate=not s.definition.endswith("NOT VALID"))
                with guard:
                    reports[i] = report

    restore.run_threads(min(workers, len(todo)), work, "mop-fk")
    return [reports[i] for i in range(len(added))]


def orphan_query(conn: psycopg.Connection, schema: str, table: str, fk_name: str) -> sql.Composed:
    """``SELECT`` of the child rows that no parent row matches, generated from pg_constraint (MATCH SIMPLE)."""
    qname = sql.Identifier(schema, table).as_string(conn)
    cs, ct, ps, pt, ccols, pcols = conn.execute(  # type: ignore[misc]
        q("copy_fk_columns"), {"qualified_table": qname, "conname": fk_name}).fetchone()
    not_null = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(x)) for x in ccols)
    match = sql.SQL(" AND ").join(
        sql.SQL("p.{} = c.{}").format(sql.Identifier(p), sql.Identifier(c)) for c, p in zip(ccols, pcols, strict=True))
    keys = sql.SQL(" || ', ' || ").join(sql.SQL("c.{}::text").format(sql.Identifier(x)) for x in ccols)
    return t("copy_t_orphans", keys=keys, child=sql.Identifier(cs, ct), not_null=not_null,
             parent=sql.Identifier(ps, pt), match=match)


def _check_fk(conn: psycopg.Connection, schema: str, table: str, name: str, validate: bool) -> ForeignKeyReport:
    """Validate the FK if it was valid before; only if that fails (or it was NOT VALID), count its orphans.

    Validating first costs one scan for the usual case of no orphans, where
    counting first cost two.
    """
    if validate:
        try:
            with conn.transaction():
                conn.execute(t("copy_t_validate_fk", table=sql.Identifier(schema, table), name=sql.Identifier(name)))
            return ForeignKeyReport(table, name, 0, True)
        except psycopg.errors.ForeignKeyViolation:
            pass
    rows = conn.execute(t("copy_t_orphan_sample", query=orphan_query(conn, schema, table, name))).fetchall()
    return ForeignKeyReport(table, name, int(rows[0][1]) if rows else 0, False, tuple(r[0] for r in rows))


def _reset_sequences(conn: psycopg.Connection, tables: list[tuple[str, str]]) -> list[tuple[str, str, int | None]]:
    """Set each serial/identity sequence to max(column) so new inserts do not collide."""
    out = []
    for schema, table in tables:
        qname = sql.Identifier(schema, table).as_string(conn)
        for col, seq in conn.execute(q("copy_serial_columns"), {"qualified_table": qname}).fetchall():
            top = conn.execute(t("copy_t_column_max", column=sql.Identifier(col),
                                 table=sql.Identifier(schema, table))).fetchone()[0]  # type: ignore[index]
            if top is not None:
                conn.execute(q("copy_setval"), {"sequence": seq, "value": top})
            out.append((table, col, top))
    return out


def _analyze(target: TargetConn, copy_id: str, tables: list[tuple[str, str]], workers: int) -> list[str]:
    """ANALYZE the loaded tables, ``workers`` connections at a time (each table is independent), biggest first."""
    with connect(target, application_name(copy_id), autocommit=True) as c:
        sizes = {tb: restore.relation_bytes(c, *tb) for tb in tables}
    todo = sorted(tables, key=lambda tb: -sizes[tb])
    guard = threading.Lock()

    def work() -> None:
        with connect(target, application_name(copy_id), autocommit=True) as c:
            while True:
                with guard:
                    if not todo:
                        return
                    schema, table = todo.pop(0)
                c.execute(t("copy_t_analyze", table=sql.Identifier(schema, table)))

    restore.run_threads(min(workers, len(todo)), work, "mop-analyze")
    return [name for _, name in tables]
