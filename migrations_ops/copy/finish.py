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
from dataclasses import replace

import psycopg
from psycopg import sql

from migrations_ops.progress import Progress, ProgressFn, no_progress
from migrations_ops.target import TargetConn, connect

from .errors import CopyIncomplete, UnknownCopy
from .options import RangeSpec
from .ranges import application_name
from .store import release_target_lock, take_target_lock
from .summary import CopySummary, ForeignKeyReport, rejects_by_reason, table_summaries

_FK_COLUMNS_Q = """
SELECT cn.nspname, c.relname, pn.nspname, p.relname,
       array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
JOIN pg_class p ON p.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE con.conrelid = %s::regclass AND con.conname = %s AND con.contype = 'f'
"""

_SERIAL_Q = """
SELECT a.attname, pg_get_serial_sequence(%s::regclass::text, a.attname)
FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND pg_get_serial_sequence(%s::regclass::text, a.attname) IS NOT NULL
"""


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
    indexes dropped for the load; 3 put foreign keys back NOT VALID, count
    orphans, validate those without; 4 set serial/identity sequences to
    max(column); 5 ANALYZE each loaded table; 6 mark the copy finished.
    Each DDL step commits on its own, and saved DDL is marked restored, so a
    finish that dies half-way can simply be run again.

    :param copy_seconds: wall time of the copy phase if the caller measured it
        (else taken from the run's start to its last checkpoint).
    """
    with connect(target, application_name(copy_id), autocommit=True) as conn:
        if lock:
            take_target_lock(conn)
        specs, started_copy = _plan(conn, copy_id)
        tables = sorted({(s.schema, s.target_table) for s in specs})
        phases: list[tuple[str, float]] = [("copy", copy_seconds if copy_seconds is not None else started_copy)]
        steps = (("indexes", lambda: _restore_indexes(conn, copy_id)),
                 ("foreign keys", lambda: _restore_fks(conn, copy_id)),
                 ("sequences", lambda: _reset_sequences(conn, tables)),
                 ("analyze", lambda: _analyze(conn, tables)))
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
        conn.execute(
            "UPDATE mop.copy_run SET status = 'finished', finished_at = now(), summary = %s WHERE copy_id = %s",
            (json.dumps(summary.to_dict()), copy_id),
        )
        if lock:
            release_target_lock(conn)
        progress(Progress(len(steps), len(steps), "Copy finished", step="done", data=summary.to_dict()))
        return summary


def _plan(conn: psycopg.Connection, copy_id: str) -> tuple[list[RangeSpec], float]:
    row = conn.execute(
        "SELECT plan, extract(epoch FROM (SELECT max(finished_at) FROM mop.copy_checkpoint WHERE copy_id = %s) "
        "- started_at) FROM mop.copy_run WHERE copy_id = %s",
        (copy_id, copy_id),
    ).fetchone()
    if row is None:
        raise UnknownCopy(copy_id)
    specs = [RangeSpec.from_dict(d) for d in row[0]]
    done = {(t, lo) for t, lo in conn.execute(
        "SELECT table_name, range_lo FROM mop.copy_checkpoint WHERE copy_id = %s AND finished_at IS NOT NULL",
        (copy_id,))}
    missing = [s for s in specs if (s.table, s.lo) not in done]
    if missing:
        raise CopyIncomplete(copy_id, len(missing))
    return specs, float(row[1] or 0.0)


def _saved(conn: psycopg.Connection, copy_id: str, kind: str) -> list[tuple[str, str, str, str]]:
    return conn.execute(
        "SELECT schema_name, table_name, name, definition FROM mop.copy_saved_ddl "
        "WHERE copy_id = %s AND kind = %s AND restored_at IS NULL ORDER BY table_name, name",
        (copy_id, kind),
    ).fetchall()


def _mark_restored(conn: psycopg.Connection, copy_id: str, kind: str, schema: str, table: str, name: str) -> None:
    conn.execute(
        "UPDATE mop.copy_saved_ddl SET restored_at = now() WHERE copy_id = %s AND kind = %s AND schema_name = %s "
        "AND table_name = %s AND name = %s",
        (copy_id, kind, schema, table, name),
    )


def _restore_indexes(conn: psycopg.Connection, copy_id: str) -> list[str]:
    """Re-run the saved ``CREATE INDEX`` statements (text generated by pg_get_indexdef)."""
    done = []
    for schema, table, name, definition in _saved(conn, copy_id, "index"):
        with conn.transaction():
            conn.execute(sql.SQL(definition))  # type: ignore[arg-type]
            _mark_restored(conn, copy_id, "index", schema, table, name)
        done.append(name)
    return done


def _restore_fks(conn: psycopg.Connection, copy_id: str) -> list[ForeignKeyReport]:
    reports = []
    for schema, table, name, definition in _saved(conn, copy_id, "fk"):
        body = definition.removesuffix(" NOT VALID")
        ident = sql.Identifier(schema, table)
        with conn.transaction():
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID").format(
                ident, sql.Identifier(name), sql.SQL(body)))  # type: ignore[arg-type]
            _mark_restored(conn, copy_id, "fk", schema, table, name)
        reports.append(_check_fk(conn, schema, table, name, validate=not definition.endswith("NOT VALID")))
    return reports


def orphan_query(conn: psycopg.Connection, schema: str, table: str, fk_name: str) -> sql.Composed:
    """``SELECT`` of the child rows that no parent row matches, generated from pg_constraint (MATCH SIMPLE)."""
    qname = sql.Identifier(schema, table).as_string(conn)
    cs, ct, ps, pt, ccols, pcols = conn.execute(_FK_COLUMNS_Q, (qname, fk_name)).fetchone()  # type: ignore[misc]
    not_null = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(x)) for x in ccols)
    match = sql.SQL(" AND ").join(
        sql.SQL("p.{} = c.{}").format(sql.Identifier(p), sql.Identifier(c)) for c, p in zip(ccols, pcols, strict=True))
    keys = sql.SQL(" || ', ' || ").join(sql.SQL("c.{}::text").format(sql.Identifier(x)) for x in ccols)
    return sql.SQL("SELECT {} FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(
        keys, sql.Identifier(cs, ct), not_null, sql.Identifier(ps, pt), match)


def _check_fk(conn: psycopg.Connection, schema: str, table: str, name: str, validate: bool) -> ForeignKeyReport:
    q = orphan_query(conn, schema, table, name)
    count = conn.execute(sql.SQL("SELECT count(*) FROM ({}) o").format(q)).fetchone()[0]  # type: ignore[index]
    sample = [r[0] for r in conn.execute(sql.SQL("{} LIMIT 5").format(q))]
    report = ForeignKeyReport(table, name, int(count), False, tuple(sample))
    if count == 0 and validate:
        conn.execute(sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
            sql.Identifier(schema, table), sql.Identifier(name)))
        report = replace(report, validated=True)
    return report


def _reset_sequences(conn: psycopg.Connection, tables: list[tuple[str, str]]) -> list[tuple[str, str, int | None]]:
    """Set each serial/identity sequence to max(column) so new inserts do not collide."""
    out = []
    for schema, table in tables:
        qname = sql.Identifier(schema, table).as_string(conn)
        for col, seq in conn.execute(_SERIAL_Q, (qname, qname, qname)).fetchall():
            top = conn.execute(sql.SQL("SELECT max({}) FROM {}").format(
                sql.Identifier(col), sql.Identifier(schema, table))).fetchone()[0]  # type: ignore[index]
            if top is not None:
                conn.execute("SELECT setval(%s::regclass, %s)", (seq, top))
            out.append((table, col, top))
    return out


def _analyze(conn: psycopg.Connection, tables: list[tuple[str, str]]) -> list[str]:
    for schema, table in tables:
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, table)))
    return [t for _, t in tables]
