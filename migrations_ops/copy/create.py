"""Target tables created from the SQLite schema (``create_missing_tables``): whole tables, not bare ones.

A created table carries what the SQLite file declared: column types with
their length, precision and scale (``typemap.pg_type_for``), NOT NULL,
DEFAULT and CHECK where they translate (``sqlexpr``), the PRIMARY KEY (an
``INTEGER PRIMARY KEY`` becomes a ``bigint`` identity, its sequence set to
max(id) by ``finish_copy``, and with AUTOINCREMENT never below the last id
SQLite handed out, so a deleted id is not given again), UNIQUE constraints, foreign keys with their ON
DELETE / ON UPDATE actions, and secondary indexes in their column order,
partial ones with their WHERE. The schema is read with PRAGMA table_info /
index_list / index_xinfo / foreign_key_list; CHECKs and partial-index WHEREs
come from ``sqlite_master.sql``, which is all SQLite keeps of them.

What does not translate is skipped and named in ``TablePlan.skipped``, for the
pre-flight to show before anything is written. ``create_tables`` then builds
the plans in the planning transaction; foreign keys and indexes are added
last, and ``plan_ranges`` saves and drops them for the load like those of any
existing table, so ``finish_copy`` rebuilds the indexes, adds the foreign keys
back, validates them, and counts orphans exactly as for existing tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import psycopg
from psycopg import sql

from migrations_ops.progress import Progress, ProgressFn, no_progress

from . import catalog, source, sqlexpr
from .sqlfiles import q, t
from .typemap import pg_type_for

_ACTIONS = {"NO ACTION": "NO ACTION", "CASCADE": "CASCADE", "SET NULL": "SET NULL",
            "SET DEFAULT": "SET DEFAULT", "RESTRICT": "RESTRICT"}


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """One column: SQLite declared type -> PostgreSQL type, with what else its definition carries."""

    name: str
    sqlite_type: str
    pg_type: str
    not_null: bool = False
    default: str | None = None
    identity: bool = False
    identity_after: int | None = None
    """AUTOINCREMENT: the last id SQLite handed out (``sqlite_sequence``); the identity starts after it."""


@dataclass(frozen=True, slots=True)
class ForeignKeyPlan:
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


@dataclass(frozen=True, slots=True)
class IndexPlan:
    name: str
    unique: bool
    columns: tuple[tuple[str, bool], ...]
    """``(column, descending)`` in the index's order."""
    where: str | None = None


@dataclass(frozen=True, slots=True)
class CheckPlan:
    name: str | None
    expression: str


@dataclass(frozen=True, slots=True)
class TablePlan:
    """What ``create_tables`` builds for one source table, and what it leaves out (``(object, why)``)."""

    table: str
    columns: tuple[ColumnMapping, ...]
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKeyPlan, ...] = ()
    indexes: tuple[IndexPlan, ...] = ()
    checks: tuple[CheckPlan, ...] = ()
    skipped: tuple[tuple[str, str], ...] = field(default=())

    @property
    def objects(self) -> list[str]:
        """What will be created besides the columns, one line each, for the pre-flight page and the CLI.

        >>> TablePlan("Order Details", (), ("OrderID", "ProductID"), (("Note",),),
        ...           (ForeignKeyPlan(("OrderID",), "Orders", ("OrderID",), "CASCADE"),),
        ...           (IndexPlan("ix_open", False, (("At", False), ("Qty", True)), "status = 'open'"),),
        ...           (CheckPlan(None, "qty > 0"),)).objects
        ['PRIMARY KEY (OrderID, ProductID)', 'UNIQUE (Note)', 'FOREIGN KEY (OrderID) REFERENCES Orders (OrderID) ON DELETE CASCADE', "INDEX ix_open (At, Qty DESC) WHERE status = 'open'", 'CHECK (qty > 0)']
        """
        out = [f"PRIMARY KEY ({', '.join(self.primary_key)})"] if self.primary_key else []
        out += [f"UNIQUE ({', '.join(u)})" for u in self.unique]
        for fk in self.foreign_keys:
            actions = "".join(f" ON {what} {act}" for what, act in (("DELETE", fk.on_delete), ("UPDATE", fk.on_update))
                              if act != "NO ACTION")
            out.append(f"FOREIGN KEY ({', '.join(fk.columns)}) REFERENCES {fk.parent} "
                       f"({', '.join(fk.parent_columns)}){actions}")
        for ix in self.indexes:
            keys = ", ".join(c + (" DESC" if d else "") for c, d in ix.columns)
            where = f" WHERE {ix.where}" if ix.where else ""
            out.append(f"{'UNIQUE ' if ix.unique else ''}INDEX {ix.name} ({keys}){where}")
        out += [f"{'CONSTRAINT ' + c.name + ' ' if c.name else ''}CHECK ({c.expression})" for c in self.checks]
        return out

    def column_lines(self) -> list[str]:
        """``name: SQLite type -> PostgreSQL type [NOT NULL] [DEFAULT x]`` per column (the type mapping).

        >>> TablePlan("t", (ColumnMapping("id", "INTEGER", "bigint", True, None, True, 41),
        ...                 ColumnMapping("price", "NUMERIC(10,2)", "numeric(10,2)", False, "0"))).column_lines()
        ['id: INTEGER -> bigint identity (after 41)', 'price: NUMERIC(10,2) -> numeric(10,2) DEFAULT 0']
        """
        return [f"{c.name}: {c.sqlite_type or '(none)'} -> {c.pg_type}"
                + (" identity" if c.identity else " NOT NULL" if c.not_null else "")
                + (f" (after {c.identity_after})" if c.identity_after is not None else "")
                + (f" DEFAULT {c.default}" if c.default is not None else "") for c in self.columns]


def plan_missing(src: sqlite3.Connection, conn: psycopg.Connection, schema: str,
                 tables: Sequence[source.SourceTable]) -> list[TablePlan]:
    """Plans for the tables that are not in the target; what would fail there is moved to ``skipped``.

    Used by both the pre-flight and the copy, so that what the DBA is shown is
    what gets built: foreign keys to a parent that will not exist are skipped,
    and each CHECK and partial-index WHERE is type-checked by the target itself
    (a SELECT over typed NULLs, which writes nothing), so ``CHECK (flag IN (0, 1))``
    on a boolean column is named before the copy, not discovered during it.
    """
    missing = [st for st in tables if catalog.find_table(conn, schema, st.name) is None]
    plans = [plan_table(src, st) for st in missing]
    by_lower = {p.table.lower(): p for p in plans}
    return [_typecheck(conn, _check_parents(conn, schema, p, by_lower)) for p in plans]


def plan_table(src: sqlite3.Connection, st: source.SourceTable) -> TablePlan:
    """Read one SQLite table's schema into the plan of its PostgreSQL table (reads the source only)."""
    skipped: list[tuple[str, str]] = []
    pk = st.pk_columns
    columns = tuple(_column(src, st, c, pk, skipped) for c in st.columns)
    create_sql = source.master_sql(src, "table", st.name)
    names = [c.name for c in st.columns]
    checks = []
    for name, expr in sqlexpr.table_checks(create_sql):
        try:
            checks.append(CheckPlan(name, sqlexpr.translate(expr, names)))
        except sqlexpr.Untranslatable as exc:
            skipped.append((f"check {name or expr}", exc.reason))
    unique, indexes = _indexes(src, st, names, skipped)
    return TablePlan(st.name, columns, pk, tuple(u for u in unique if set(u) != set(pk)),
                     _foreign_keys(src, st), tuple(indexes), tuple(checks), tuple(skipped))


def _column(src: sqlite3.Connection, st: source.SourceTable, col: source.SourceColumn,
            pk: tuple[str, ...], skipped: list[tuple[str, str]]) -> ColumnMapping:
    """One column; a rowid alias (``INTEGER PRIMARY KEY``) becomes an identity so new rows get ids."""
    name, decl = col.name, col.decl_type
    pg = pg_type_for(decl)
    identity = pk == (name,) and decl.strip().upper() == "INTEGER" and st.key is not None
    raw = source.column_default(src, st.name, name)
    default = None
    if raw is not None and not identity:
        try:
            default = sqlexpr.translate_default(raw, pg)
        except sqlexpr.Untranslatable as exc:
            skipped.append((f"default of {name}", exc.reason))
    after = source.autoincrement_seq(src, st.name) if identity else None
    return ColumnMapping(name, decl, pg, col.not_null or name in pk, default, identity, after)


def _indexes(src: sqlite3.Connection, st: source.SourceTable, names: list[str],
             skipped: list[tuple[str, str]]) -> tuple[list[tuple[str, ...]], list[IndexPlan]]:
    """UNIQUE constraints (index origin ``u``) and CREATE INDEX indexes (origin ``c``), in column order."""
    unique: list[tuple[str, ...]] = []
    indexes: list[IndexPlan] = []
    for name, is_unique, origin, partial in source.index_list(src, st.name):
        if origin == "pk":
            continue
        try:
            cols = _index_columns(src, name)
            where = None
            if partial:
                where = sqlexpr.translate(sqlexpr.index_where(source.master_sql(src, "index", name)) or "", names)
        except sqlexpr.Untranslatable as exc:
            skipped.append((_index_label(src, name, origin), exc.reason))
            continue
        if origin == "u":
            if tuple(c for c, _ in cols) not in unique:
                unique.append(tuple(c for c, _ in cols))
        else:
            indexes.append(IndexPlan(name, is_unique, cols, where))
    return unique, indexes


def _index_label(src: sqlite3.Connection, name: str, origin: str) -> str:
    """``index NAME``, or ``UNIQUE (a, b)`` for a UNIQUE constraint, whose automatic index name means nothing."""
    if origin != "u":
        return f"index {name}"
    return f"UNIQUE ({', '.join(c or '<expression>' for _, c, _, _ in source.index_columns(src, name))})"


def _index_columns(src: sqlite3.Connection, index: str) -> tuple[tuple[str, bool], ...]:
    """The key columns of one index; expressions, rowid and non-binary collations do not translate."""
    out = []
    for cid, name, desc, coll in source.index_columns(src, index):
        if cid < 0 or name is None:
            raise sqlexpr.Untranslatable("an expression or rowid column is not translated")
        if coll.upper() != "BINARY":
            raise sqlexpr.Untranslatable(f"collation {coll} has no PostgreSQL equivalent")
        out.append((name, desc))
    return tuple(out)


def _foreign_keys(src: sqlite3.Connection, st: source.SourceTable) -> tuple[ForeignKeyPlan, ...]:
    """One plan per foreign key id (``to`` NULL means the parent's primary key, resolved by ``_check_parents``)."""
    groups: dict[int, list[tuple[int, str, str, str | None, str, str]]] = {}
    for row in source.foreign_key_list(src, st.name):
        groups.setdefault(row[0], []).append(row)
    own = [c.name for c in st.columns]
    return tuple(ForeignKeyPlan(tuple(_same_name(r[2], own) for r in g), g[0][1], tuple(r[3] or "" for r in g),
                                _ACTIONS.get(g[0][5].upper(), "NO ACTION"), _ACTIONS.get(g[0][4].upper(), "NO ACTION"))
                 for _, g in sorted(groups.items()))


def _check_parents(conn: psycopg.Connection, schema: str, plan: TablePlan,
                   created: dict[str, TablePlan]) -> TablePlan:
    """Keep the foreign keys whose parent is created too (keyed by those columns) or already in the target."""
    keep, skipped = [], list(plan.skipped)
    for fk in plan.foreign_keys:
        label = f"foreign key ({', '.join(fk.columns)}) -> {fk.parent}"
        parent = created.get(fk.parent.lower())
        if parent is not None:
            names = [c.name for c in parent.columns]
            cols = tuple(_same_name(c, names) for c in fk.parent_columns) if all(fk.parent_columns) \
                else parent.primary_key
            if set(cols) != set(parent.primary_key) and set(cols) not in [set(u) for u in parent.unique] \
                    and not any(ix.unique and ix.where is None and set(cols) == {c for c, _ in ix.columns}
                                for ix in parent.indexes):
                skipped.append((label, f"({', '.join(cols)}) is not a PRIMARY KEY or UNIQUE of {fk.parent}"))
                continue
            keep.append(replace(fk, parent=parent.table, parent_columns=tuple(cols)))
            continue
        tt = catalog.find_table(conn, schema, fk.parent)
        if tt is None:
            skipped.append((label, f"{fk.parent} is neither in the target nor created"))
        elif not all(fk.parent_columns):
            skipped.append((label, f"{fk.parent} exists in the target: name its referenced columns"))
        else:
            cols = tuple(_same_name(c, [tc.name for tc in tt.columns]) for c in fk.parent_columns)
            keep.append(replace(fk, parent=tt.name, parent_columns=cols))
    return replace(plan, foreign_keys=tuple(keep), skipped=tuple(skipped))


def _same_name(name: str, columns: Sequence[str]) -> str:
    """The declared column ``name`` refers to: SQLite matches names in any case, PostgreSQL does not.

    >>> _same_name("orderid", ["OrderID", "qty"]), _same_name("gone", ["OrderID"])
    ('OrderID', 'gone')
    """
    return next((c for c in columns if c == name), None) or next((c for c in columns if c.lower() == name.lower()),
                                                                 name)


def _typecheck(conn: psycopg.Connection, plan: TablePlan) -> TablePlan:
    """Keep the CHECKs and partial indexes whose expression PostgreSQL accepts as a boolean over these column types."""
    row = sql.SQL(", ").join(sql.SQL("NULL::{} AS {}").format(sql.SQL(c.pg_type), sql.Identifier(c.name))  # type: ignore[arg-type]
                             for c in plan.columns)
    skipped = list(plan.skipped)

    def accepted(label: str, expression: str) -> bool:
        why = _try(conn, t("copy_t_typecheck", columns=row, expression=sql.SQL(expression)))  # type: ignore[arg-type]
        if why is not None:
            skipped.append((label, why))
        return why is None

    checks = tuple(c for c in plan.checks if accepted(f"check {c.name or c.expression}", c.expression))
    indexes = tuple(ix for ix in plan.indexes if ix.where is None or accepted(f"index {ix.name}", ix.where))
    return replace(plan, checks=checks, indexes=indexes, skipped=tuple(skipped))


def planned_tables(conn: psycopg.Connection, plans: Sequence[TablePlan]) -> dict[str, catalog.TargetTable]:
    """The planned tables as the target will type them, read back from temporary twins that are rolled back.

    The pre-flight predicts a created table's rejects against these, so the column types are the server's
    reading of the planned DDL, not a second parse of it here. Nothing outlives the call.
    """
    out: dict[str, catalog.TargetTable] = {}
    with conn.transaction(force_rollback=True):
        for i, plan in enumerate(plans):
            twin = f"mop_preflight_{i}"
            conn.execute(t("copy_t_create_temp_twin", table=sql.Identifier(twin), columns=sql.SQL(", ").join(
                sql.SQL("{} {}{}").format(sql.Identifier(c.name), sql.SQL(c.pg_type),  # type: ignore[arg-type]
                                          sql.SQL(" NOT NULL" if c.not_null or c.identity else ""))
                for c in plan.columns)))
            oid = conn.execute(q("copy_temp_twin_oid"), {"name": twin}).fetchone()[0]  # type: ignore[index]
            out[plan.table] = catalog.load_table(conn, "pg_temp", int(oid), plan.table)
    return out


def create_tables(conn: psycopg.Connection, schema: str, plans: Sequence[TablePlan],
                  progress: ProgressFn = no_progress) -> list[tuple[str, str, str]]:
    """Build the plans in the caller's transaction: tables, then defaults and checks, then foreign keys and indexes.

    Foreign keys come after every table exists (a parent may be created after
    its child). A default, check, foreign key or index that PostgreSQL refuses
    (types that do not compare, a name already taken) is rolled back to its
    savepoint and returned as ``(table, object, why)``, never lost in silence;
    a table that cannot be created raises.
    """
    conn.execute(t("copy_t_create_schema", schema=sql.Identifier(schema)))
    for p in plans:
        conn.execute(t("copy_t_create_table", table=sql.Identifier(schema, p.table), columns=_table_body(p)))
    failed: list[tuple[str, str, str]] = []
    for p in plans:
        for label, why in p.skipped:
            progress(Progress(0, 1, f"{p.table}: {label} not created: {why}", "warning", "plan"))
        ident = sql.Identifier(schema, p.table)
        steps = [(f"default of {c.name}", t("copy_t_set_default", table=ident, column=sql.Identifier(c.name),
                                            default=sql.SQL(c.default)))  # type: ignore[arg-type]  # deparsed
                 for c in p.columns if c.default is not None]
        steps += [(f"check {c.name or c.expression}", _check_ddl(ident, c)) for c in p.checks]
        steps += [(f"foreign key ({', '.join(fk.columns)}) -> {fk.parent}", _fk_ddl(ident, schema, fk))
                  for fk in p.foreign_keys]
        steps += [(f"index {ix.name}", _index_ddl(ident, ix)) for ix in p.indexes]
        for label, ddl in steps:
            why = _try(conn, ddl)
            if why is not None:
                failed.append((p.table, label, why))
                progress(Progress(0, 1, f"{p.table}: {label} not created: {why}", "warning", "plan"))
    return failed


def _try(conn: psycopg.Connection, ddl: sql.Composed) -> str | None:
    """Run one optional DDL statement under a savepoint; PostgreSQL's first error line if it refused it."""
    try:
        with conn.transaction():
            conn.execute(ddl)
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]
    return None


def _table_body(p: TablePlan) -> sql.Composed:
    """Column definitions, the primary key and the UNIQUE constraints of CREATE TABLE."""
    defs = []
    for c in p.columns:
        extra = sql.SQL(" GENERATED BY DEFAULT AS IDENTITY" if c.identity else " NOT NULL" if c.not_null else "")
        if c.identity_after is not None:
            extra = sql.SQL(" GENERATED BY DEFAULT AS IDENTITY (START WITH {})").format(sql.Literal(c.identity_after + 1))
        defs.append(sql.SQL("{} {}{}").format(sql.Identifier(c.name), sql.SQL(c.pg_type),  # type: ignore[arg-type]
                                              extra))
    if p.primary_key:
        defs.append(sql.SQL("PRIMARY KEY ({})").format(_names(p.primary_key)))
    defs += [sql.SQL("UNIQUE ({})").format(_names(u)) for u in p.unique]
    return sql.SQL(", ").join(defs)


def _names(cols: Sequence[str]) -> sql.Composed:
    """A column list, each name through ``sql.Identifier`` (names with spaces, case and quotes stay whole)."""
    return sql.SQL(", ").join(map(sql.Identifier, cols))


def _check_ddl(table: sql.Identifier, c: CheckPlan) -> sql.Composed:
    """ALTER TABLE ... ADD CHECK, keeping the SQLite constraint name when it had one (errors then name it)."""
    name = sql.SQL("CONSTRAINT {} ").format(sql.Identifier(c.name)) if c.name else sql.SQL("")
    return t("copy_t_add_check", table=table, name=name, expression=sql.SQL(c.expression))  # type: ignore[arg-type]


def _fk_ddl(table: sql.Identifier, schema: str, fk: ForeignKeyPlan) -> sql.Composed:
    """ALTER TABLE ... ADD FOREIGN KEY with SQLite's actions (from a fixed list, never the source's text)."""
    return t("copy_t_add_fk", table=table, columns=_names(fk.columns), parent=sql.Identifier(schema, fk.parent),
             parent_columns=_names(fk.parent_columns), on_delete=sql.SQL(_ACTIONS[fk.on_delete]),  # type: ignore[arg-type]
             on_update=sql.SQL(_ACTIONS[fk.on_update]))  # type: ignore[arg-type]


def _index_ddl(table: sql.Identifier, ix: IndexPlan) -> sql.Composed:
    """CREATE [UNIQUE] INDEX under SQLite's name, columns in its order and direction, WHERE as translated."""
    keys = sql.SQL(", ").join(sql.SQL("{}{}").format(sql.Identifier(c), sql.SQL(" DESC" if d else ""))
                              for c, d in ix.columns)
    where = sql.SQL(" WHERE {}").format(sql.SQL(ix.where)) if ix.where else sql.SQL("")  # type: ignore[arg-type]
    return t("copy_t_create_index", unique=sql.SQL("UNIQUE " if ix.unique else ""), name=sql.Identifier(ix.name),
             table=table, keys=keys, where=where)
