"""Putting back what ``plan_ranges`` dropped for the load, from ``mop.copy_saved_ddl``.

Shared by ``finish_copy`` (after a complete load) and ``abandon_copy`` (after
a stopped one). Each definition is restored in the transaction that marks it
restored, so a restore that dies half-way is simply run again. Kinds, in the
order they come back: ``index`` and ``constraint_index`` (built in parallel,
one connection each), ``constraint`` (PRIMARY KEY / UNIQUE re-attached to its
index), ``fk`` (NOT VALID; the caller decides about validation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

from migrations_ops.target import TargetConn, connect

from . import postload
from .ranges import application_name
from .sqlfiles import q, t


@dataclass(frozen=True, slots=True)
class Saved:
    schema: str
    table: str
    name: str
    definition: str


@dataclass(frozen=True, slots=True)
class Failure:
    """A saved definition that could not be restored (it stays saved, restored_at NULL)."""

    kind: str
    table: str
    name: str
    error: str


def pending(conn: psycopg.Connection, copy_id: str, kind: str) -> list[Saved]:
    """Saved definitions of ``kind`` not restored yet, biggest table first."""
    return [saved for saved, _ in _pending_sized(conn, copy_id, kind)]


def _pending_sized(conn: psycopg.Connection, copy_id: str, kind: str) -> list[tuple[Saved, int]]:
    rows = conn.execute(q("copy_saved_ddl_pending"), {"copy_id": copy_id, "kind": kind}).fetchall()
    return [(Saved(r[0], r[1], r[2], r[3]), int(r[4])) for r in rows]


def mark_restored(conn: psycopg.Connection, copy_id: str, kind: str, s: Saved) -> None:
    conn.execute(q("copy_saved_ddl_mark_restored"), {"copy_id": copy_id, "kind": kind, "schema_name": s.schema,
                                                      "table_name": s.table, "name": s.name})


def build_indexes(target: TargetConn, copy_id: str, workers: int, mem: str) -> tuple[list[str], list[Failure]]:
    """Run the saved ``CREATE [UNIQUE] INDEX`` statements, ``workers`` connections at a time (``abandon_copy``).

    The same index jobs as ``finish_copy``'s graph, with nothing after them:
    the costliest first, several of one table side by side (``CREATE INDEX``
    takes a SHARE lock, which does not conflict with itself). A failure (a
    unique index over duplicates) is reported, not raised, so the other
    indexes still get built.
    """
    with connect(target, application_name(copy_id), autocommit=True) as conn:
        todo = pending_indexes(conn, copy_id)
    jobs = [(kind, s, postload.Job(f"{kind}:{s.table}.{s.name}", "indexes",
                                   lambda c, k=kind, s=s: build_index(c, copy_id, k, s), cost)) for kind, s, cost in todo]
    postload.run_graph(target, copy_id, [j for _, _, j in jobs], workers, setup=lambda c: session_for_indexes(c, mem))
    done = [j.result for _, _, j in jobs if j.error is None]
    failures = [Failure(kind, s.table, s.name, str(j.error).splitlines()[0]) for kind, s, j in jobs if j.error is not None]
    return done, failures

def build_index(c: psycopg.Connection, copy_id: str, kind: str, s: Saved) -> str:
    """Run one saved ``CREATE [UNIQUE] INDEX`` and mark it restored, in one transaction."""
    with c.transaction():
        c.execute(sql.SQL(s.definition))  # type: ignore[arg-type]  # pg_get_indexdef output
        mark_restored(c, copy_id, kind, s)
    return f"{kind}:{s.table}.{s.name}"


def pending_indexes(conn: psycopg.Connection, copy_id: str) -> list[tuple[str, Saved, int]]:
    """``(kind, saved, cost)`` of every index still to build, with its ``index_cost``."""
    todo = [(kind, s, size) for kind in ("constraint_index", "index") for s, size in _pending_sized(conn, copy_id, kind)]
    strings = {(s.schema, s.table): _string_columns(conn, s.schema, s.table) for _, s, _ in todo}
    return [(kind, s, index_cost(s.definition, size, strings[s.schema, s.table])) for kind, s, size in todo]


def session_for_indexes(c: psycopg.Connection, mem: str) -> None:
    c.execute(q("copy_session_for_indexes"), {"mem": mem})


_KEY_LIST = re.compile(r"\bUSING \w+ \((.*)\)")
_TOKEN = re.compile(r'"((?:[^"]|"")*)"|([^\s,()"]+)')


def index_cost(definition: str, table_bytes: int, string_columns: set[str]) -> int:
    """A build-time estimate to order index builds: table size, times 3 for each key column of a string type.

    Comparing strings under a collation costs several times an integer
    comparison (on 1 M rows here: 1.7 s for a text index against 0.35 s for
    the integer key), so the table size alone put long text builds last.

    >>> index_cost('ix ON public.t USING btree (user_id)', 100, {"user_id"})
    300
    >>> index_cost('k ON public.t USING btree (id, "Na""me")', 100, {'Na"me', "id"})
    500
    >>> index_cost('ix ON public.t USING btree (created_at) WHERE (note IS NULL)', 100, {"note"})
    100
    """
    m = _KEY_LIST.search(definition.split(" WHERE ")[0])
    if m is None:
        return table_bytes
    names = {quoted.replace('""', '"') if quoted else bare for quoted, bare in _TOKEN.findall(m.group(1))}
    return table_bytes * (1 + 2 * len(names & string_columns))


def relation_bytes(conn: psycopg.Connection, schema: str, table: str) -> int:
    """The table's size on disk (0 if it is gone), to start the longest work first."""
    qname = sql.Identifier(schema, table).as_string(conn)
    row = conn.execute(q("copy_relation_bytes"), {"qualified_table": qname}).fetchone()
    return int(row[0]) if row else 0


def _string_columns(conn: psycopg.Connection, schema: str, table: str) -> set[str]:
    qname = sql.Identifier(schema, table).as_string(conn)
    return {r[0] for r in conn.execute(q("copy_string_columns"), {"qualified_table": qname})}


def attach_constraints(conn: psycopg.Connection, copy_id: str) -> tuple[list[str], list[Failure]]:
    """``ADD CONSTRAINT name PRIMARY KEY|UNIQUE USING INDEX name`` for each saved key whose index is back."""
    done, failures = [], []
    not_built = {(s.schema, s.table, s.name) for s in pending(conn, copy_id, "constraint_index")}
    for s in pending(conn, copy_id, "constraint"):
        if (s.schema, s.table, s.name) in not_built:
            failures.append(Failure("constraint", s.table, s.name, "its unique index was not built"))
            continue
        failed = attach_constraint(conn, copy_id, s)
        if failed is None:
            done.append(f"constraint:{s.table}.{s.name}")
        else:
            failures.append(failed)
    return done, failures


def attach_constraint(conn: psycopg.Connection, copy_id: str, s: Saved) -> Failure | None:
    """Re-attach one saved PRIMARY KEY / UNIQUE to its rebuilt index (same name) and mark it restored."""
    kind = "PRIMARY KEY" if s.definition.startswith("PRIMARY KEY") else "UNIQUE"
    tail = next((x for x in (" DEFERRABLE INITIALLY DEFERRED", " DEFERRABLE") if s.definition.endswith(x)), "")
    try:
        with conn.transaction():
            conn.execute(t("copy_t_add_key_using_index", table=sql.Identifier(s.schema, s.table),
                           name=sql.Identifier(s.name), kind=sql.SQL(kind), index=sql.Identifier(s.name),
                           deferrable=sql.SQL(tail)))
            mark_restored(conn, copy_id, "constraint", s)
    except psycopg.Error as exc:
        return Failure("constraint", s.table, s.name, str(exc).splitlines()[0])
    return None


def add_fks_not_valid(conn: psycopg.Connection, copy_id: str,
                      table: tuple[str, str] | None = None) -> tuple[list[Saved], list[Failure]]:
    """Put the saved foreign keys back ``NOT VALID`` (no scan); return them with whether each was valid before.

    :param table: only the foreign keys of this ``(schema, table)``.
    """
    done, failures = [], []
    for s in pending(conn, copy_id, "fk"):
        if table is not None and (s.schema, s.table) != table:
            continue
        body = s.definition.removesuffix(" NOT VALID")
        try:
            with conn.transaction():
                conn.execute(t("copy_t_add_fk_not_valid", table=sql.Identifier(s.schema, s.table),
                               name=sql.Identifier(s.name), body=sql.SQL(body)))  # type: ignore[arg-type]
                mark_restored(conn, copy_id, "fk", s)
            done.append(s)
        except psycopg.Error as exc:
            failures.append(Failure("fk", s.table, s.name, str(exc).splitlines()[0]))
    return done, failures


_REFERENCES = re.compile(r'\bREFERENCES ((?:"(?:[^"]|"")*"|[^\s."(]+)(?:\.(?:"(?:[^"]|"")*"|[^\s."(]+))?)\(')


def referenced_table(definition: str) -> tuple[str | None, str] | None:
    """``(schema or None, table)`` a saved foreign key definition points at (``pg_get_constraintdef`` output).

    >>> referenced_table('FOREIGN KEY (user_id) REFERENCES users(user_id) ON DELETE CASCADE')
    (None, 'users')
    >>> referenced_table('FOREIGN KEY ("a b") REFERENCES "we""ird"."名前"("x y") NOT VALID')
    ('we"ird', '名前')
    >>> referenced_table('CHECK (x > 0)') is None
    True
    """
    m = _REFERENCES.search(definition)
    if m is None:
        return None
    parts = [quoted.replace('""', '"') if quoted else bare
             for quoted, bare in re.findall(r'"((?:[^"]|"")*)"|([^\s."(]+)', m.group(1))]
    return (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
