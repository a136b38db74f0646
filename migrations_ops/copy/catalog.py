"""What the target says about its tables: columns, base types, constraints.

Everything comes from pg_catalog with parameters; names found here are only
ever used through ``sql.Identifier``.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

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
        """The column named ``name``, else the one equal to it case-insensitively."""
        exact = next((c for c in self.columns if c.name == name), None)
        return exact or next((c for c in self.columns if c.name.lower() == name.lower()), None)


def find_table(conn: psycopg.Connection, schema: str, name: str) -> TargetTable | None:
    """The target table for a source table name (exact name first, then lower case)."""
    row = conn.execute(q("copy_target_table"), {"schema_name": schema, "name": name}).fetchone()
    if row is None:
        return None
    cols = []
    for attname, notnull, generated, base, typmod, shown, is_enum in conn.execute(q("copy_target_columns"), {"table_oid": row[0]}):
        base = "enum" if is_enum else base
        cols.append(TargetColumn(attname, TargetType.from_typmod(base, typmod, notnull), shown, generated))
    return TargetTable(int(row[0]), schema, str(row[1]), tuple(cols))


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


def key_constraints(conn: psycopg.Connection, table_oid: int) -> list[KeyConstraint]:
    """The table's PRIMARY KEY and UNIQUE constraints (what ``defer_constraints`` drops for the load)."""
    return [KeyConstraint(str(n), str(c), str(i), int(r))
            for n, c, i, r in conn.execute(q("copy_target_key_constraints"), {"table_oid": table_oid})]
