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
import time

import psycopg
from psycopg import sql

from migrations_ops.progress import Progress, ProgressFn, no_progress
from migrations_ops.target import TargetConn, connect

from . import nonempty, postload, restore
from .errors import ConstraintsNotRestored, CopyAbandoned, CopyIncomplete, UnknownCopy
from .options import CopyOptions, RangeSpec
from .ranges import application_name
from .sqlfiles import q, t
from .store import release_target_lock, take_target_lock
from .summary import (
    CopySummary,
    ForeignKeyReport,
    rejects_by_reason,
    rejects_by_table,
    skipped_of,
    table_summaries,
)

PHASES = ("indexes", "foreign keys", "sequences", "analyze")


def finish_copy(
    target: TargetConn,
    copy_id: str,
    *,
    progress: ProgressFn = no_progress,
    copy_seconds: float | None = None,
    lock: bool = True,
) -> CopySummary:
    """Finish a copy whose ranges are all committed, and return its summary.

    Steps: 1 check every planned range has its checkpoint; 2 the post-load
    work as one graph of jobs on ``index_workers`` connections (``postload``):
    rebuild the indexes dropped for the load (``maintenance_work_mem``
    raised, the costliest first), re-attach the deferred PRIMARY KEY / UNIQUE
    constraints to them, put foreign keys back NOT VALID, validate those
    without orphans (else count them), set serial/identity sequences to
    max(column), ANALYZE each loaded table; a table's jobs start as soon as
    what they need is done, whatever the other tables are doing. A failure
    (e.g. duplicates under a deferred UNIQUE) raises ``ConstraintsNotRestored``
    after every job that does not depend on it has run; the copy stays open.
    3 mark the copy finished.
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
        progress(Progress(0, 1, "Post-load phases: indexes, keys, foreign keys, sequences, analyze", step="indexes"))
        t0 = time.monotonic()
        jobs = _post_load_jobs(conn, copy_id, tables)

        def done(job: postload.Job, n: int, total: int) -> None:
            progress(Progress(n, total, f"Post-load: {job.name}", step=job.phase))

        graph = postload.run_graph(target, copy_id, jobs, opts.index_workers,
                                   setup=lambda c: restore.session_for_indexes(c, opts.maintenance_work_mem),
                                   on_done=done)
        _raise_unrestored(copy_id, graph)
        phases = [("copy", copy_seconds if copy_seconds is not None else started_copy),
                  *postload.phase_times(graph, t0, PHASES)]
        fks = sorted((r for j in graph.jobs.values() if j.name.startswith("fkcheck:") for r in j.result),
                     key=lambda r: (r.table, r.name))
        summary = CopySummary(copy_id, table_summaries(conn, copy_id), tuple(phases), tuple(fks),
                              tuple(graph.jobs["sequences"].result), rejects_by_reason(conn, copy_id),
                              rejects_by_table=rejects_by_table(conn, copy_id),
                              mapping=tuple(sorted({(s.table, s.target_table) for s in specs})),
                              skipped=skipped_of(conn, copy_id),
                              duplicated=nonempty.appended_keyless_of(conn, copy_id))
        conn.execute(q("copy_run_finished"), {"copy_id": copy_id, "summary": json.dumps(summary.to_dict())})
        if lock:
            release_target_lock(conn)
        progress(Progress(1, 1, "Copy finished", step="done", data=summary.to_dict()))
        return summary


def _post_load_jobs(conn: psycopg.Connection, copy_id: str, tables: list[tuple[str, str]]) -> list[postload.Job]:
    """The graph: per table, index builds -> keys attached -> FKs added -> FKs checked -> ANALYZE."""
    Job = postload.Job
    size = {tb: restore.relation_bytes(conn, *tb) for tb in tables}
    jobs: list[Job] = []
    index_jobs: dict[tuple[str, str], set[str]] = {tb: set() for tb in tables}
    for kind, saved, cost in restore.pending_indexes(conn, copy_id):
        name = f"index:{saved.schema}.{saved.table}.{saved.name}"
        index_jobs.setdefault((saved.schema, saved.table), set()).add(name)
        jobs.append(Job(name, "indexes", lambda c, k=kind, s=saved: restore.build_index(c, copy_id, k, s), cost,
                        label=(saved.table, saved.name)))
    attach: dict[tuple[str, str], set[str]] = {}
    for saved in restore.pending(conn, copy_id, "constraint"):
        tb = (saved.schema, saved.table)
        name = f"attach:{saved.schema}.{saved.table}.{saved.name}"
        attach.setdefault(tb, set()).add(name)
        jobs.append(Job(name, "indexes", lambda c, s=saved: _attach(c, copy_id, s), 1,
                        {f"index:{saved.schema}.{saved.table}.{saved.name}"}, waits=index_jobs.get(tb, set()),
                        label=(saved.table, saved.name)))
    every_attach = {n for names in attach.values() for n in names}
    fks = restore.pending(conn, copy_id, "fk")
    children: dict[tuple[str, str], set[str]] = {}
    for tb in sorted({(s.schema, s.table) for s in fks}):
        add_name = f"fkadd:{tb[0]}.{tb[1]}"
        needs: set[str] = set()
        for s in (s for s in fks if (s.schema, s.table) == tb):
            ref = restore.referenced_table(s.definition)
            if ref is None:  # unreadable: wait for every table's keys
                needs |= every_attach
                continue
            for p in {p for p in {*tables, *attach} if p[1] == ref[1] and ref[0] in (None, p[0])}:
                needs |= attach.get(p, set())  # a parent outside the copy kept its keys: nothing to wait for
                children.setdefault(p, set()).add(add_name)
        add = Job(add_name, "foreign keys", lambda c, tb=tb: _add_fks(c, copy_id, tb), 1, needs,
                  waits=attach.get(tb, set()) | index_jobs.get(tb, set()), exclusive="fkadd",
                  label=(tb[1], "foreign keys"))
        jobs.append(add)
        jobs.append(Job(f"fkcheck:{tb[0]}.{tb[1]}", "foreign keys", lambda c, add=add: _check_fks(c, add.result),
                        size.get(tb, 0) * 2, {add_name}))
    for tb in tables:
        waits = index_jobs.get(tb, set()) | attach.get(tb, set()) | children.get(tb, set()) | {f"fkcheck:{tb[0]}.{tb[1]}"}
        jobs.append(Job(f"analyze:{tb[0]}.{tb[1]}", "analyze",
                        lambda c, tb=tb: c.execute(t("copy_t_analyze", table=sql.Identifier(*tb))), size[tb],
                        waits=waits))
    jobs.append(Job("sequences", "sequences", lambda c: _reset_sequences(c, tables), 0, waits=every_attach))
    return jobs


def _attach(c: psycopg.Connection, copy_id: str, saved: restore.Saved) -> str:
    failed = restore.attach_constraint(c, copy_id, saved)
    if failed is not None:
        raise _Unrestored([failed])
    return f"constraint:{saved.table}.{saved.name}"


def _add_fks(c: psycopg.Connection, copy_id: str, tb: tuple[str, str]) -> list[restore.Saved]:
    added, failed = restore.add_fks_not_valid(c, copy_id, tb)
    if failed:
        raise _Unrestored(failed)
    return added


class _Unrestored(psycopg.Error):
    """Saved DDL of one job that could not be put back (recorded on the job, raised by ``_raise_unrestored``)."""

    def __init__(self, failures: list[restore.Failure]) -> None:
        super().__init__("; ".join(f.error for f in failures))
        self.failures = failures


def _check_fks(c: psycopg.Connection, added: list[restore.Saved]) -> list[ForeignKeyReport]:
    """Validate (or count the orphans of) the foreign keys one ``fkadd`` job put back."""
    return [_check_fk(c, s.schema, s.table, s.name, validate=not s.definition.endswith("NOT VALID")) for s in added]


def _raise_unrestored(copy_id: str, graph: postload.Graph) -> None:
    """``ConstraintsNotRestored`` for every index, key or FK that failed or could not run; other errors as they are."""
    failures: list[tuple[str, str, str]] = []
    for job in graph.jobs.values():
        if job.skipped and job.label != ("", ""):
            failures.append((*job.label, "not restored: a key or index it needs failed"))
        elif isinstance(job.error, _Unrestored):
            failures += [(f.table, f.name, f.error) for f in job.error.failures]
        elif job.error is not None and job.label != ("", "") and isinstance(job.error, psycopg.Error):
            failures.append((*job.label, str(job.error).splitlines()[0]))
        elif job.error is not None:
            raise job.error
    if failures:
        raise ConstraintsNotRestored(copy_id, failures)


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


def _count_orphans(conn: psycopg.Connection, query: sql.Composed) -> tuple[int, tuple[str, ...]]:
    rows = conn.execute(t("copy_t_orphan_sample", query=query)).fetchall()
    return (int(rows[0][1]) if rows else 0), tuple(r[0] for r in rows)


def _check_fk(conn: psycopg.Connection, schema: str, table: str, name: str, validate: bool) -> ForeignKeyReport:
    """Validate the FK if it was valid before; only if that fails (or it was NOT VALID), count its orphans.

    Validating first costs one scan for the usual case of no orphans, where
    counting first cost two. (Counting while the indexes were still being
    built was tried: without statistics the planner probed the parent's new
    key 1 M times, 1.5-2.4 s instead of 0.1 s.)
    """
    if validate:
        try:
            with conn.transaction():
                conn.execute(t("copy_t_validate_fk", table=sql.Identifier(schema, table), name=sql.Identifier(name)))
            return ForeignKeyReport(table, name, 0, True)
        except psycopg.errors.ForeignKeyViolation:
            pass
    count, sample = _count_orphans(conn, orphan_query(conn, schema, table, name))
    return ForeignKeyReport(table, name, count, False, sample)


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
