"""Target tables that already hold rows: count them, and refuse, empty or keep them (``if_not_empty``).

A second copy of the same file into a filled target used to import nothing
(every row a duplicate key) and still end green. Now the planning sees it
first: ``refuse`` (the default) stops before anything is written and names
the tables and their row counts; ``truncate`` empties them all in one
``TRUNCATE`` inside the planning transaction, so they are emptied together
with the plan being stored, or not at all, and a resume (which re-reads the
stored plan) never truncates again; ``append`` keeps the rows, and the
duplicates become rejects that the outcome then reports -- except in a
target table with no unique index (keyless), where nothing can refuse them:
there ``append`` duplicates the rows already there. The pre-flight says so
with the counts, and the copy refuses it unless the DBA acknowledges it
(``append_keyless``); the run then records those tables and their counts.
"""

from __future__ import annotations

import json

import psycopg
from psycopg import sql

from . import catalog
from .errors import KeylessAppend, TargetNotEmpty, TruncateBlocked
from .options import IF_NOT_EMPTY
from .sqlfiles import q, t


def count_rows(conn: psycopg.Connection, table: catalog.TargetTable) -> int:
    """Exact row count of a target table (the pre-flight shows it; a truncate audits it)."""
    return int(conn.execute(t("copy_t_count_rows", table=table.ident())).fetchone()[0])  # type: ignore[index]


def has_unique_index(conn: psycopg.Connection, table: catalog.TargetTable) -> bool:
    """Whether a unique index (key, UNIQUE, unique index) can refuse a duplicate row in ``table``."""
    return bool(conn.execute(q("copy_target_has_unique"), {"table_oid": table.oid}).fetchone()[0])  # type: ignore[index]


def preflight_line(schema: str, table: str, rows: int, mode: str, *, keyless: bool) -> str:
    """The pre-flight's sentence for one non-empty target table, saying what the chosen mode will do."""
    where = f"target table {schema}.{table} is not empty ({rows:,} rows)"
    if mode == "truncate":
        return f"{where}: if_not_empty=truncate will empty it first ({rows:,} rows removed, audited)"
    if mode in ("append", "append_duplicates") and keyless:
        end = ("you acknowledged it (if_not_empty=append_duplicates)" if mode == "append_duplicates"
               else "the copy is refused unless you acknowledge it with if_not_empty=append_duplicates")
        return (f"{where}: if_not_empty={mode} into a table with no key or unique index: the {rows:,} rows "
                f"already there stay and every copied row that is already there will be DUPLICATED "
                f"(nothing can reject it); {end}")
    if mode in ("append", "append_duplicates"):
        return f"{where}: if_not_empty={mode} keeps its rows; source rows whose key is already there become rejects"
    return (f"{where}: the copy is refused (if_not_empty=refuse) unless you choose if_not_empty truncate "
            "(empty it first) or append (keep its rows; duplicates become rejects"
            + ("; this table has no key, so append duplicates them" if keyless else "") + ")")


def apply_mode(conn: psycopg.Connection, full: list[catalog.TargetTable], mode: str) -> dict[str, int]:
    """Deal with the non-empty target tables of a copy being planned; return what was truncated (name -> rows).

    Steps (in the caller's planning transaction): 1 nothing to do for no table
    or ``append``; 2 ``refuse``: count their rows and raise ``TargetNotEmpty``
    (the caller's transaction rolls back, nothing is written; no lock is
    taken for a refusal); 3 ``truncate``: lock them all exclusively, count
    them (so the counts are exactly what is removed), one ``TRUNCATE`` of
    all of them; the caller records the counts on the copy run.
    """
    if mode not in IF_NOT_EMPTY:
        raise ValueError(f"if_not_empty must be one of {', '.join(IF_NOT_EMPTY)}, not {mode!r}")
    if not full or mode in ("append", "append_duplicates"):
        return {}
    idents = sql.SQL(", ").join(tt.ident() for tt in full)
    if mode == "truncate":
        conn.execute(t("copy_t_lock_tables", tables=idents))
    counts = {f"{tt.schema}.{tt.name}": count_rows(conn, tt) for tt in full}
    if mode == "refuse":
        conn.rollback()
        raise TargetNotEmpty(sorted(counts.items()))
    try:
        with conn.transaction():
            conn.execute(t("copy_t_truncate", tables=idents))
    except psycopg.errors.FeatureNotSupported as exc:
        conn.rollback()
        raise TruncateBlocked(sorted(counts), str(exc).splitlines()[0]) from None
    return counts


def keyless_append(conn: psycopg.Connection, full: list[catalog.TargetTable], mode: str) -> dict[str, int]:
    """The non-empty target tables an append would duplicate rows in (no unique index): name -> rows held.

    ``append`` refuses them (``KeylessAppend``, nothing written); ``append_duplicates`` returns them, for
    the run to record and the summary to name; other modes return nothing.
    """
    if mode not in ("append", "append_duplicates"):
        return {}
    counts = {f"{tt.schema}.{tt.name}": count_rows(conn, tt) for tt in full if not has_unique_index(conn, tt)}
    if counts and mode == "append":
        conn.rollback()
        raise KeylessAppend(sorted(counts.items()))
    return counts


def record_appended_keyless(conn: psycopg.Connection, copy_id: str, counts: dict[str, int]) -> None:
    """Keep on ``mop.copy_run`` the keyless tables appended to, with the rows they held before."""
    conn.execute(q("copy_run_appended_keyless"), {"copy_id": copy_id, "appended": json.dumps(counts)})


def appended_keyless_of(conn: psycopg.Connection, copy_id: str) -> dict[str, int]:
    """What ``record_appended_keyless`` stored for a copy (empty when nothing)."""
    row = conn.execute(q("copy_run_appended_keyless_get"), {"copy_id": copy_id}).fetchone()
    return {str(k): int(v) for k, v in ((row[0] or {}) if row else {}).items()}


def record_truncated(conn: psycopg.Connection, copy_id: str, counts: dict[str, int]) -> None:
    """Keep on ``mop.copy_run`` which tables the planning emptied and how many rows each held."""
    conn.execute(q("copy_run_truncated"), {"copy_id": copy_id, "truncated": json.dumps(counts)})
