"""What a copy leaves behind, named and counted, with what to do about each.

A DBA must never learn from a missing search box that something was not
copied. Pre-flight, copy summary and verification report all list the same
objects, built here from the SQLite file: views and triggers (with their
``CREATE`` statements), internal tables (``sqlite_sequence``,
``sqlite_stat*``), virtual tables, FTS indexes (external-content and
contentless, with PostgreSQL DDL to replace them), their shadow tables, and
tables left out of this copy (``--skip-table``, or not in ``--tables``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from migrations_ops.names import match_name

from . import fts, source
from .errors import SchemaMismatch

VIEW, TRIGGER, INTERNAL, VIRTUAL, SHADOW, TABLE = "view", "trigger", "internal table", "virtual table", "shadow table", "table"
FTS_KIND = "fts index ({})"
_STAT_ADVICE = "SQLite planner statistics: PostgreSQL keeps its own, gathered by ANALYZE after the load; nothing to do"
_SEQ_ADVICE = ("AUTOINCREMENT counters: the target's serial/identity sequences are set from max(column) after the "
               "load; nothing to do")


@dataclass(frozen=True, slots=True)
class SkippedObject:
    """One source object the copy does not create or fill in the target.

    :param kind: ``view``, ``trigger``, ``internal table``, ``virtual table``, ``shadow table``, ``table``
        (left out of the copy) or ``fts index (external|contentless|contentful)``.
    :param rows: rows it holds (None for views and triggers, or where SQLite cannot count them).
    :param advice: what the DBA should do.
    :param definition: its SQLite ``CREATE`` statement.
    :param postgres_ddl: PostgreSQL DDL that replaces it (FTS indexes).
    :param table: the table it belongs to (a trigger's table, an FTS index's content table, a shadow's owner).
    """

    kind: str
    name: str
    rows: int | None
    advice: str
    definition: str = ""
    postgres_ddl: tuple[str, ...] = ()
    table: str = ""

    @property
    def loses_rows(self) -> bool:
        """Rows that exist nowhere else in the file are not copied (a skipped table or contentful FTS table)."""
        return bool(self.rows) and (self.kind in (TABLE, FTS_KIND.format(fts.CONTENTFUL)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-shaped (lists, not tuples), so a dict read back from JSON compares equal."""
        return {**asdict(self), "postgres_ddl": list(self.postgres_ddl)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SkippedObject:
        known = {f.name for f in fields(cls)}
        return cls(**{**{k: v for k, v in d.items() if k in known}, "postgres_ddl": tuple(d.get("postgres_ddl") or ())})


def select_tables(tables: list[source.SourceTable], want: Iterable[str] | None, skip: Iterable[str] = ()) -> list[str]:
    """The source tables a copy loads: ``want`` (default every copyable table) minus ``skip``, each name given
    by the one name rule (``--tables album`` finds the source's ``Album``).

    Raises ``SchemaMismatch`` for a name that is not a source table, or a
    wanted table that cannot be copied (a view-like virtual table, a shadow table).
    """
    by_name = {t.name: t for t in tables}
    skip = resolve_names(tables, skip)
    wanted = resolve_names(tables, want) if want is not None else [t.name for t in tables if t.skip_reason is None]
    problems = [f"source table {n!r} does not exist" for n in (*wanted, *skip) if n not in by_name]
    problems += [f"source table {n!r} is skipped: {by_name[n].skip_reason}" for n in wanted
                 if n in by_name and by_name[n].skip_reason and n not in skip]
    if problems:
        raise SchemaMismatch(problems)
    return [n for n in wanted if n not in skip]


def resolve_names(tables: list[source.SourceTable], names: Iterable[str]) -> list[str]:
    """Names a DBA typed (``--tables``, ``--skip-table``) as the source spells them, by the one name rule;
    a name no table matches is kept as typed (the caller reports it)."""
    listed = [t.name for t in tables]
    return [match_name(n, listed) or n for n in names]


def skipped_objects(
    conn: sqlite3.Connection, tables: list[source.SourceTable], copied: Iterable[str], skip: Iterable[str] = (),
    *, absent: Iterable[str] = (), schema: str = "public", target_tables: Mapping[str, Sequence[str]] | Iterable[str] = (),
    regconfig: str = "simple",
) -> tuple[SkippedObject, ...]:
    """Every object of the SQLite file that the copy of ``copied`` tables leaves behind, in file order.

    :param skip: tables the DBA skipped explicitly (``--skip-table``).
    :param absent: tables found missing from the target afterwards, for a reason not known here (the
        verification): said so, not attributed to ``--skip-table`` or ``--tables``.
    :param target_tables: the target's table names (or a mapping of them to their column names), so that
        DDL names the content table and its columns as the target spells them (the one name rule).
    :param regconfig: text search configuration of the suggested ``to_tsvector``.
    """
    copied, skip, absent = set(copied), set(resolve_names(tables, skip)), set(absent)
    targets: dict[str, Sequence[str]] = (dict(target_tables) if isinstance(target_tables, Mapping)
                                         else dict.fromkeys(target_tables, ()))
    out = [_table_object(conn, t, _why(t.name, skip, absent), schema, targets, regconfig)
           for t in tables if t.name not in copied]
    for kind, name, tbl, ddl in source.views_and_triggers(conn):
        out.append(SkippedObject(kind, name, None, _VIEW_ADVICE if kind == VIEW else _TRIGGER_ADVICE.format(tbl),
                                 ddl, table=tbl))
    return tuple(out)


_VIEW_ADVICE = ("not created in PostgreSQL: recreate it from its SQLite definition (download the .sql), "
                "after checking SQLite-only syntax (strftime, ifnull, group_concat, || on numbers)")
_TRIGGER_ADVICE = ("trigger on {}: not created in PostgreSQL; rewrite it as a PL/pgSQL function and a "
                   "trigger (its SQLite definition is in the .sql download)")


def _why(name: str, skip: set[str], absent: set[str]) -> str:
    """Why a table of the source is not copied, as the report says it.

    >>> _why("a", {"a"}, set()), _why("a", set(), {"a"}), _why("a", set(), set())
    ('skipped at your request (--skip-table)', 'not in the target (no table for it there)', 'not selected for this copy (--tables)')
    """
    if name in skip:
        return "skipped at your request (--skip-table)"
    return "not in the target (no table for it there)" if name in absent else "not selected for this copy (--tables)"


def _count(conn: sqlite3.Connection, name: str) -> int | None:
    """Rows of a table, or None where SQLite cannot count them (a virtual table whose module is missing)."""
    try:
        return source.count_rows(conn, name)
    except sqlite3.Error:
        return None


def _table_object(conn: sqlite3.Connection, t: source.SourceTable, why: str, schema: str,
                  targets: dict[str, Sequence[str]], regconfig: str) -> SkippedObject:
    """Classify one table the copy does not load, with its row count and advice."""
    rows = _count(conn, t.name)
    if t.fts is not None:
        return _fts_object(t, rows, why, schema, targets, regconfig)
    if t.kind == "shadow":
        return SkippedObject(SHADOW, t.name, rows, "storage of a virtual table (an FTS index's data); rebuilt from "
                             "its rows in PostgreSQL, nothing to copy", t.definition, table=t.name.rsplit("_", 1)[0])
    if t.kind == "virtual":
        return SkippedObject(VIRTUAL, t.name, rows, f"virtual table ({rows if rows is not None else 'unknown'} rows): "
                             "its module has no PostgreSQL counterpart; recreate it by hand (e.g. PostGIS for rtree) "
                             "and load its rows", t.definition)
    if t.kind == "internal":
        advice = (_SEQ_ADVICE if t.name == "sqlite_sequence" else _STAT_ADVICE if t.name.startswith("sqlite_stat")
                  else "SQLite internal table: nothing to copy")
        return SkippedObject(INTERNAL, t.name, rows, advice, t.definition)
    return SkippedObject(TABLE, t.name, rows, f"{why}: its {rows} rows are not copied; copy it to keep them",
                         t.definition)


def _fts_object(t: source.SourceTable, rows: int | None, why: str, schema: str,
                targets: dict[str, Sequence[str]], regconfig: str) -> SkippedObject:
    """An FTS index: DDL on its content table (external), nothing to copy (contentless), or rows lost (contentful)."""
    info = t.fts
    assert info is not None
    kind = FTS_KIND.format(info.kind)
    if info.kind == fts.EXTERNAL:
        content = match_name(str(info.content), targets) or str(info.content)
        cols = tuple(match_name(c, targets.get(content, ())) or c for c in info.columns)
        trgm = " and pg_trgm GIN indexes (tokenizer trigram)" if info.trigram else ""
        return SkippedObject(kind, t.name, rows, f"index over table {info.content}, whose rows are copied: add a "
                             f"tsvector column and GIN index on {content}{trgm} (DDL given)", t.definition,
                             fts.external_ddl(replace(info, columns=cols), schema, content, regconfig),
                             str(info.content))
    if info.kind == fts.CONTENTLESS:
        return SkippedObject(kind, t.name, rows, "contentless index: the indexed text is not stored in the file; "
                             "rebuild it in PostgreSQL (tsvector + GIN) from where the application's text lives",
                             t.definition)
    return SkippedObject(kind, t.name, rows, f"{why}: its {rows} rows exist only in this FTS table and are NOT "
                         "copied; copy it (a table with a tsvector column and GIN index) to keep them", t.definition,
                         fts.contentful_ddl(info, schema, regconfig))


def definitions_sql(objects: Iterable[SkippedObject], source_name: str) -> str:
    """One .sql file: the SQLite ``CREATE`` statement of each object not copied, and suggested PostgreSQL DDL.

    >>> print(definitions_sql([SkippedObject("view", "v", None, "recreate", "create view v as select 1")], "a.db"))
    -- Objects of a.db that the copy did not create in PostgreSQL.
    -- SQLite definitions are SQLite syntax: review them before running them in PostgreSQL.
    <BLANKLINE>
    -- view v: recreate
    create view v as select 1;
    <BLANKLINE>
    """
    lines = [f"-- Objects of {source_name} that the copy did not create in PostgreSQL.",
             "-- SQLite definitions are SQLite syntax: review them before running them in PostgreSQL.", ""]
    for o in objects:
        if not o.definition and not o.postgres_ddl:
            continue
        rows = f" ({o.rows} rows)" if o.rows is not None else ""
        lines.append(f"-- {o.kind} {o.name}{rows}: {' '.join(o.advice.split())}")
        if o.definition:
            lines.append(o.definition.rstrip().rstrip(";") + ";")
        if o.postgres_ddl:
            lines.append("-- PostgreSQL replacement:")
            lines += list(o.postgres_ddl)
        lines.append("")
    return "\n".join(lines)


def format_skipped(objects: Iterable[SkippedObject]) -> list[str]:
    """Text lines for the CLI and the copy summary: kind, name, rows, advice.

    >>> format_skipped([SkippedObject("view", "v", None, "recreate it")])
    ['not copied: view v: recreate it']
    """
    return [f"not copied: {o.kind} {o.name}{f' ({o.rows} rows)' if o.rows is not None else ''}: {o.advice}"
            for o in objects]


def contentful_fts_problems(tables: list[source.SourceTable], names: Iterable[str], mode: str) -> list[str]:
    """Under ``fts_contentful='refuse'``: one problem per contentful FTS table that is neither skipped nor left out.

    The copy then refuses to start until the DBA names each in ``--skip-table``
    (or copies it with ``fts_contentful='copy'``): never a silent drop.
    """
    if mode == "copy":
        return []
    if mode != "refuse":
        return [f"fts_contentful must be copy or refuse, not {mode!r}"]
    by_name = {t.name: t for t in tables}
    return [f"{n} is a contentful FTS table (its rows exist nowhere else): copy it (fts_contentful=copy) "
            f"or skip it explicitly (--skip-table {n})"
            for n in names if by_name[n].fts is not None and by_name[n].fts.kind == fts.CONTENTFUL]  # type: ignore[union-attr]
