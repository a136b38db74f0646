"""What the target says about its tables: columns, base types, constraints.

Everything comes from pg_catalog with parameters; names found here are only
ever used through ``sql.Identifier``.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from .typemap import TargetType

_TABLE_Q = """
SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND (c.relname = %s OR c.relname = lower(%s))
ORDER BY c.relname = %s DESC LIMIT 1
"""

_COLUMNS_Q = """
SELECT a.attname, a.attnotnull, a.attgenerated <> '' AS generated,
       CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END AS base_name,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       format_type(a.atttypid, a.atttypmod) AS shown,
       (t.typtype = 'e' OR (t.typtype = 'd' AND bt.typtype = 'e')) AS is_enum
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
"""

_FKS_Q = """
SELECT con.conname, pg_get_constraintdef(con.oid) FROM pg_constraint con
WHERE con.conrelid = %s AND con.contype = 'f' ORDER BY con.conname
"""

_INDEXES_Q = """
SELECT ic.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
ORDER BY ic.relname
"""


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
    row = conn.execute(_TABLE_Q, (schema, name, name, name)).fetchone()
    if row is None:
        return None
    cols = []
    for attname, notnull, generated, base, typmod, shown, is_enum in conn.execute(_COLUMNS_Q, (row[0],)):
        base = "enum" if is_enum else base
        cols.append(TargetColumn(attname, TargetType.from_typmod(base, typmod, notnull), shown, generated))
    return TargetTable(int(row[0]), schema, str(row[1]), tuple(cols))


def foreign_keys(conn: psycopg.Connection, table_oid: int) -> list[tuple[str, str]]:
    """``(name, definition)`` of the table's foreign keys."""
    return [(str(n), str(d)) for n, d in conn.execute(_FKS_Q, (table_oid,))]


def secondary_indexes(conn: psycopg.Connection, table_oid: int) -> list[tuple[str, str]]:
    """``(name, CREATE INDEX ...)`` of indexes that back no constraint (PK and UNIQUE stay)."""
    return [(str(n), str(d)) for n, d in conn.execute(_INDEXES_Q, (table_oid,))]


def is_empty(conn: psycopg.Connection, table: TargetTable) -> bool:
    q = sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(table.ident())
    return bool(conn.execute(q).fetchone()[0])  # type: ignore[index]
