"""What the target says about its tables: columns, base types, constraints.

Everything comes from pg_catalog with parameters; names found here are only
ever used through ``sql.Identifier``.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from migrations_ops.names import match_name, match_names

from .sqlfiles import q, t
from .typemap import TargetType


@dataclass(frozen=True, slots=True)
class TargetColumn:
    name: str
    type: TargetType
    shown: str
    generated: bool


@dataclass(frozen=True, slots=True)
class TargetTable:
    oid: int
    schema: str
    name: str
    columns: tuple[TargetColumn, ...]

    def ident(self) -> sql.Composed:
        return sql.Identifier(self.schema, self.name)

    def column(self, name: str) -> TargetColumn | None:
        """The column ``name`` maps to by the one name rule (exact, else case-folded; two candidates raise)."""
        found = match_name(name, [c.name for c in self.columns])
        return next((c for c in self.columns if c.name == found), None) if found is not None else None


def table_names(conn: psycopg.Connection, schema: str) -> dict[str, int]:
    """Every table of ``schema`` by name, with its oid: what the name rule chooses from (one query)."""
    return {str(n): int(oid) for oid, n in conn.execute(q("copy_target_tables"), {"schema_name": schema})}


def schema_columns(conn: psycopg.Connection, schema: str) -> dict[str, list[str]]:
    """Every table of ``schema`` with its column names (one query), for DDL that must spell them as the target does."""
    out: dict[str, list[str]] = {}
    for rel, att in conn.execute(q("copy_target_schema_columns"), {"schema_name": schema}):
        out.setdefault(str(rel), []).append(str(att))
    return out


def find_tables(conn: psycopg.Connection, schema: str, names: list[str] | tuple[str, ...]) -> dict[str, TargetTable | None]:
    """The target table of each source table name, by the one name rule (``names.match_names``).

    The schema's tables are listed once and paired in Python, so pre-flight,
    copy and verification cannot disagree (``Album`` -> ``album``); two
    candidates for one name raise ``AmbiguousName`` naming both.
    """
    listing = table_names(conn, schema)
    mapping = match_names(names, listing)
    return {src: (load_table(conn, schema, listing[tgt], tgt) if tgt is not None else None) for src, tgt in mapping.items()}


def find_table(conn: psycopg.Connection, schema: str, name: str) -> TargetTable | None:
    """The target table for one source table name, by the one name rule (see ``find_tables``)."""
    listing = table_names(conn, schema)
    tgt = match_name(name, listing)
    return load_table(conn, schema, listing[tgt], tgt) if tgt is not None else None


def load_table(conn: psycopg.Connection, schema: str, oid: int, name: str) -> TargetTable:
    """The columns and base types of the table ``oid``, under the name the caller knows it by."""
    cols = []
    for attname, notnull, generated, base, typmod, shown, is_enum in conn.execute(q("copy_target_columns"), {"table_oid": oid}):
        base = "enum" if is_enum else base
        cols.append(TargetColumn(attname, TargetType.from_typmod(base, typmod, notnull), shown, generated))
    return TargetTable(oid, schema, name, tuple(cols))


def foreign_keys(conn: psycopg.Connection, table_oid: int) -> list[tuple[str, str]]:
    """``(name, definition)`` of the table's foreign keys."""
    return [(str(n), str(d)) for n, d in conn.execute(q("copy_target_fks"), {"table_oid": table_oid})]


def secondary_indexes(conn: psycopg.Connection, table_oid: int) -> list[tuple[str, str]]:
    """``(name, CREATE INDEX ...)`` of indexes that back no constraint (PK and UNIQUE stay)."""
    return [(str(n), str(d)) for n, d in conn.execute(q("copy_target_indexes"), {"table_oid": table_oid})]


def is_empty(conn: psycopg.Connection, table: TargetTable) -> bool:
    return bool(conn.execute(t("copy_t_is_empty", table=table.ident())).fetchone()[0])  # type: ignore[index]


@dataclass(frozen=True, slots=True)
class KeyConstraint:
    """A PRIMARY KEY or UNIQUE constraint: its definition, its index's, and FKs that depend on it."""

    name: str
    constraint_def: str
    index_def: str
    referenced_by: int
    columns: tuple[str, ...] = ()


def key_constraints(conn: psycopg.Connection, table_oid: int) -> list[KeyConstraint]:
    """The table's PRIMARY KEY and UNIQUE constraints (what ``defer_constraints`` drops for the load)."""
    return [KeyConstraint(str(n), str(c), str(i), int(r), tuple(k))
            for n, c, i, r, k in conn.execute(q("copy_target_key_constraints"), {"table_oid": table_oid})]
