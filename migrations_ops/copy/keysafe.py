"""Which target keys a copy may drop for the load and build after, without changing what it rejects.

A PRIMARY KEY or UNIQUE constraint refuses duplicates row by row while it
exists; built after the load, the same duplicates make the whole finish fail.
When the SQLite source enforces uniqueness on the same columns (its rowid
key, its PRIMARY KEY or a full UNIQUE index), the loaded rows cannot hold
duplicates, so building the key after the load refuses nothing the row-by-row
check would have refused: that is the default (``defer_source_keys``), as
pgloader does for every key. The rare values two distinct source values
convert to (``'1'`` and ``1`` in an untyped SQLite column loaded into a
``bigint``) still cannot pass silently: the build fails and the copy stays
open with ``ConstraintsNotRestored``.
"""

from __future__ import annotations

import sqlite3

from .options import ColumnPlan
from .source import SourceTable
from .sqlfiles import q


def source_unique_sets(src: sqlite3.Connection, table: SourceTable) -> set[frozenset[str]]:
    """Column sets the SQLite source keeps unique: the rowid key, PRIMARY KEY and full UNIQUE indexes."""
    found: set[frozenset[str]] = set()
    if table.pk_columns:  # SQLite enforces every PRIMARY KEY (NULLs aside, which NOT NULL refuses in the target)
        found.add(frozenset(table.pk_columns))
    try:  # the pragma's table-valued form takes the name as a parameter
        indexes = src.execute(q("copy_sqlite_index_list").as_string(None), (table.name,)).fetchall()
    except sqlite3.DatabaseError:
        return found
    for _seq, name, unique, _origin, partial in indexes:
        if not unique or partial:
            continue
        cols = [r[0] for r in src.execute(q("copy_sqlite_index_info").as_string(None), (name,)).fetchall()]
        if cols and all(isinstance(c, str) for c in cols):
            found.add(frozenset(cols))
    return found


def target_sets(columns: tuple[ColumnPlan, ...], sets: set[frozenset[str]]) -> set[frozenset[str]]:
    """The source's unique column sets in target column names (sets with a column not copied are left out)."""
    names = {c.source: c.target for c in columns}
    return {frozenset(names[c] for c in s) for s in sets if all(c in names for c in s)}


def deferrable(key_columns: tuple[str, ...], constraint_def: str, unique_sets: set[frozenset[str]]) -> bool:
    """True when the target key's columns are a set the source keeps unique (NULLS NOT DISTINCT excluded)."""
    if "NULLS NOT DISTINCT" in constraint_def.upper():
        return False
    return bool(key_columns) and frozenset(key_columns) in unique_sets
