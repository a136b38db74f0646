"""Copy up to N rows per table from the target into a scratch clone, foreign keys handled.

Steps of ``copy_sample``:

1. on the target, one ``REPEATABLE READ READ ONLY`` transaction with a
   ``statement_timeout``: each ``SELECT ... LIMIT n`` takes only ``ACCESS SHARE``;
2. on the scratch clone, drop the foreign keys (their definitions kept), load
   each table with ``COPY``;
3. delete child rows whose parent was not sampled, until none is left, and put
   the foreign keys back (so the plan meets the same constraints as the target);
4. move every owned sequence past the sampled ids, so inserts of a data
   migration do not collide.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from psycopg import sql

from .. import queries
from ..target import TargetConn, connect


@dataclass(frozen=True, slots=True)
class SampleResult:
    rows: dict[str, int]
    seconds: float

    def to_json(self) -> dict:
        return {"rows": self.rows, "seconds": self.seconds}


def copy_sample(target: TargetConn, scratch: TargetConn, rows_per_table: int, *,
                statement_timeout_ms: int = 30000, version_table: str = "alembic_version") -> SampleResult:
    """Copy up to ``rows_per_table`` rows of every table of ``target`` into ``scratch`` (same schema).

    :param statement_timeout_ms: per statement on the target; a slow table fails the sample, not the target.
    """
    if rows_per_table <= 0:
        raise ValueError("rows_per_table must be positive")
    started = time.monotonic()
    counts: dict[str, int] = {}
    with connect(target, "mop:rehearse:sample", autocommit=False) as src, \
            connect(scratch, "mop:rehearse:sample", autocommit=False) as dst:
        src.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        src.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(int(statement_timeout_ms))))
        tables = [(s, t) for s, t in src.execute(queries.get("sample_tables")).fetchall() if t != version_table]
        fks = dst.execute(queries.get("sample_foreign_keys")).fetchall()
        for schema, table, name, *_rest in fks:
            dst.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(schema, table), sql.Identifier(name)))
        for schema, table in tables:
            counts[f"{schema}.{table}"] = _copy_table(src, dst, schema, table, rows_per_table)
        _drop_orphans(dst, fks)
        for schema, table, name, definition, *_rest in fks:
            dst.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                sql.Identifier(schema, table), sql.Identifier(name)) + sql.SQL(definition))  # catalog text
        for schema, seq, table, column in dst.execute(queries.get("sample_owned_sequences")).fetchall():
            dst.execute(sql.SQL("SELECT setval({}::regclass, greatest(coalesce((SELECT max({}) FROM {}), 0), 1))").format(
                sql.Literal(sql.Identifier(schema, seq).as_string(dst)), sql.Identifier(column),
                sql.Identifier(schema, table)))
        dst.commit()
        src.rollback()
    return SampleResult(counts, round(time.monotonic() - started, 3))


def _copy_table(src, dst, schema: str, table: str, limit: int) -> int:
    cols = [r[0] for r in src.execute(queries.get("sample_columns"), {"schema": schema, "table": table})]
    if not cols:
        return 0
    collist = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
    out = sql.SQL("COPY (SELECT {} FROM {} LIMIT {}) TO STDOUT").format(
        collist, sql.Identifier(schema, table), sql.Literal(limit))
    into = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(schema, table), collist)
    with src.cursor().copy(out) as reader, dst.cursor().copy(into) as writer:
        for chunk in reader:
            writer.write(chunk)
    return dst.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))).fetchone()[0]


def _drop_orphans(dst, fks) -> None:
    """Delete child rows whose parent row was not sampled, repeating until a pass deletes nothing."""
    for _ in range(50):
        deleted = 0
        for schema, table, _name, _definition, cols, ref_schema, ref_table, ref_cols in fks:
            cond = sql.SQL(" AND ").join(sql.SQL("p.{} = c.{}").format(sql.Identifier(r), sql.Identifier(c))
                                         for c, r in zip(cols, ref_cols, strict=True))
            notnull = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(c)) for c in cols)
            cur = dst.execute(sql.SQL("DELETE FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(
                sql.Identifier(schema, table), notnull, sql.Identifier(ref_schema, ref_table), cond))
            deleted += cur.rowcount or 0
        if not deleted:
            return
