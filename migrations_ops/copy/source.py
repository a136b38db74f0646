"""Reading the SQLite source: its tables, a storage-class profile, keyset batches.

The file is opened read-only. Text comes back through ``decode_text`` so that
invalid UTF-8 is a value we can report, not an exception that stops the read.
Identifiers are quoted with ``qi()`` (double quotes doubled), never trusted.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import orphans
from .errors import SourceUnreadable
from .fts import CONTENTFUL, FtsInfo, parse_fts
from .typemap import MS_THRESHOLD, decode_text

STORAGE_CLASSES = ("integer", "real", "text", "blob", "null")
_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config", "_segments", "_segdir", "_stat",
                    "_node", "_rowid", "_parent")
_PROFILE_COLUMNS = 8
_CLASS_WHENS = " ".join("WHEN '" + cls + "' THEN " + str(i) for i, cls in enumerate(STORAGE_CLASSES))
KEY_MIN = -(2**63)
KEY_MAX = 2**63 - 1


def qi(name: str) -> str:
    """Quote a SQLite identifier.

    >>> qi('we"ird name')
    '"we""ird name"'
    """
    return '"' + name.replace('"', '""') + '"'


class Raw(str):
    """A fragment ``sq`` inserts as it is: SQL we composed ourselves with ``sq``."""


def sq(template: str, *parts: str) -> str:
    """Fill each ``{}`` of a SQLite statement with a quoted identifier (``Raw`` fragments as they are).

    The SQLite counterpart of ``sql.SQL(...).format(sql.Identifier(...))``.

    >>> sq("SELECT {} FROM {}", "a b", 'x"y')
    'SELECT "a b" FROM "x""y"'
    >>> sq("SELECT {} FROM {}", Raw("count(*)"), "t")
    'SELECT count(*) FROM "t"'
    """
    pieces = template.split("{}")
    if len(pieces) != len(parts) + 1:
        raise ValueError("template slots and parts differ")
    out = [pieces[0]]
    for part, piece in zip(parts, pieces[1:], strict=True):
        out.append(part if isinstance(part, Raw) else qi(part))
        out.append(piece)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class SourceColumn:
    name: str
    decl_type: str
    not_null: bool
    pk: int


@dataclass(frozen=True, slots=True)
class SourceTable:
    """A SQLite table: its columns, its key for keyset reads (a rowid alias) or None.

    ``kind`` is ``table``, ``virtual``, ``shadow`` (part of a virtual table)
    or ``internal`` (``sqlite_*``); ``fts`` is set for FTS tables. A
    contentful FTS table (its rows exist nowhere else) is copied like a
    table: its ``rowid`` first, then its columns as text.
    """

    name: str
    columns: tuple[SourceColumn, ...]
    key: str | None
    skip_reason: str | None = None
    kind: str = "table"
    fts: FtsInfo | None = None
    definition: str = ""

    @property
    def pk_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in sorted((c for c in self.columns if c.pk), key=lambda c: c.pk))


def open_source(path: str | Path) -> sqlite3.Connection:
    """Open the SQLite file read-only, text decoded by ``decode_text``.

    An empty file is refused: SQLite would read it as a database without
    tables, and a copy of nothing would look like a success.
    """
    p = Path(path)
    if not p.is_file():
        raise SourceUnreadable(str(path), "no such file")
    if p.stat().st_size == 0:
        raise SourceUnreadable(str(path), "the file is empty (0 bytes), not a SQLite database")
    try:
        conn = sqlite3.connect(p.resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False)
        conn.text_factory = decode_text
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise SourceUnreadable(str(path), str(exc)) from None
    return conn


def list_tables(conn: sqlite3.Connection) -> list[SourceTable]:
    """Every table of the main schema, with a kind, and a skip reason for those not copied."""
    rows = conn.execute(
        "SELECT l.name, l.type, l.wr, m.sql FROM pragma_table_list AS l LEFT JOIN sqlite_master AS m "
        "ON m.type = 'table' AND m.name = l.name WHERE l.schema = 'main' "
        "AND l.name NOT IN ('sqlite_schema', 'sqlite_master')"
    ).fetchall()
    virtual = {str(r[0]) for r in rows if r[1] == "virtual"}
    out = []
    for name, kind, without_rowid, ddl in sorted(rows, key=lambda r: str(r[0])):
        name, ddl = str(name), str(ddl or "")
        if kind == "virtual":
            out.append(_virtual(conn, name, ddl))
            continue
        if kind == "shadow" or any(name == v + s for v in virtual for s in _SHADOW_SUFFIXES):
            out.append(SourceTable(name, (), None, "shadow table of a virtual table", "shadow", definition=ddl))
        elif name.startswith("sqlite_"):
            out.append(SourceTable(name, (), None, "SQLite internal table (sequences are reset from max(id) "
                                   "after the load)", "internal", definition=ddl))
        elif kind == "table":
            cols = _columns(conn, name)
            out.append(SourceTable(name, cols, None if without_rowid else _rowid_alias(cols), definition=ddl))
    return out


def _virtual(conn: sqlite3.Connection, name: str, ddl: str) -> SourceTable:
    """A virtual table: a contentful FTS table is copied (rowid + text columns), any other one is skipped."""
    info = parse_fts(name, ddl)
    if info is None or info.kind != CONTENTFUL:
        why = ("virtual table (e.g. FTS5): rebuild it in PostgreSQL (tsvector, pg_trgm)" if info is None else
               f"{info.module} index ({info.kind}): rebuild it in PostgreSQL as a tsvector column and a GIN index")
        return SourceTable(name, (), None, why, "virtual", info, ddl)
    info = replace(info, columns=tuple(c.name for c in _columns(conn, name)))  # SQLite's own reading of the names
    cols = (SourceColumn("rowid", "INTEGER", True, 1),
            *(SourceColumn(c, "TEXT", False, 0) for c in info.columns))
    return SourceTable(name, cols, _rowid_alias(cols), None, "virtual", info, ddl)


def views_and_triggers(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    """``(type, name, table, CREATE statement)`` of every view and trigger, in the order they were created."""
    rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('view', 'trigger') "
                        "ORDER BY rowid").fetchall()
    return [(str(k), str(n), str(t), str(d or "")) for k, n, t, d in rows]


def _columns(conn: sqlite3.Connection, table: str) -> tuple[SourceColumn, ...]:
    rows = conn.execute("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)", (table,)).fetchall()
    return tuple(SourceColumn(str(r[0]), str(r[1] or ""), bool(r[2]), int(r[3])) for r in rows)


def _rowid_alias(cols: Sequence[SourceColumn]) -> str | None:
    names = {c.name.lower() for c in cols}
    return next((a for a in ("rowid", "_rowid_", "oid") if a not in names), None)


def count_rows(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(sq("SELECT count(*) FROM {}", table)).fetchone()[0])


def storage_profile(conn: sqlite3.Connection, table: SourceTable) -> dict[str, dict[str, int]]:
    """Per column, how many values of each storage class are present.

    One ``typeof()`` per value: the classes of up to 8 columns make one number
    (a base-5 digit each) and the rows are counted per number (``GROUP BY``,
    a handful of groups in practice), half the cost of a sum per column and class.
    """
    if not table.columns:
        return {}
    out: dict[str, dict[str, int]] = {c.name: {} for c in table.columns}
    for start in range(0, len(table.columns), _PROFILE_COLUMNS):
        cols = table.columns[start : start + _PROFILE_COLUMNS]
        digits = [sq("CASE typeof({}) " + _CLASS_WHENS + " END * " + str(5**j), c.name) for j, c in enumerate(cols)]
        q = sq("SELECT {}, count(*) FROM {} GROUP BY 1", Raw(" + ".join(digits)), table.name)
        for code, n in conn.execute(q):
            for j, c in enumerate(cols):
                cls = STORAGE_CLASSES[(int(code) // 5**j) % 5]
                out[c.name][cls] = out[c.name].get(cls, 0) + int(n)
    return {name: {cls: counts[cls] for cls in STORAGE_CLASSES if counts.get(cls)} for name, counts in out.items()}


def epoch_unit(conn: sqlite3.Connection, table: str, column: str) -> str:
    """How the column's epoch numbers are read: ``s``, ``ms``, or ``mixed`` (each by its own magnitude).

    ``ms`` when every nonzero number is at or above ``MS_THRESHOLD``; ``s``
    when none is; ``mixed`` when both occur (seconds and milliseconds in one
    column): read as one unit, one of the two groups would silently move
    (1700000001 -> 1970-01-20), so each number is read by its own magnitude.
    """
    return epoch_counts(conn, table, column)[0]


def epoch_counts(conn: sqlite3.Connection, table: str, column: str) -> tuple[str, int, int]:
    """``(unit, numbers read as seconds, numbers read as milliseconds)`` of a time column (one scan)."""
    # substr(x, 5, 1) <> '-' skips ISO dates before the two GLOBs: they are most of a date column's text,
    # and this scan is part of the planning every worker waits for (0.29 -> 0.17 s on 1 M rows)
    q = sq("SELECT coalesce(sum(a >= {t}), 0), coalesce(sum(a > 0 AND a < {t}), 0) FROM ("
           "SELECT abs(CAST({} AS REAL)) AS a FROM {} WHERE typeof({}) IN ('integer', 'real') "
           "OR (typeof({}) = 'text' AND substr({}, 5, 1) <> '-' AND {} GLOB '[0-9]*' AND {} NOT GLOB '*[^0-9.]*'))"
           .replace("{t}", str(MS_THRESHOLD)), column, table, column, column, column, column, column)
    ms, secs = (int(x) for x in conn.execute(q).fetchone())
    return epoch_unit_of(secs, ms), secs, ms


def epoch_unit_of(secs: int, ms: int) -> str:
    """The unit of a time column holding ``secs`` numbers under ``MS_THRESHOLD`` and ``ms`` at or above it.

    >>> epoch_unit_of(0, 0), epoch_unit_of(5, 0), epoch_unit_of(0, 5), epoch_unit_of(5, 5)
    ('s', 's', 'ms', 'mixed')
    """
    return "mixed" if ms and secs else "ms" if ms else "s"


def key_ranges(conn: sqlite3.Connection, table: SourceTable, range_rows: int) -> list[tuple[int, int, int]]:
    """Split the table into ``(lo, hi, rows)`` key ranges covering every possible key.

    The first range starts at the smallest int64 and the last ends at the
    largest, so a row can never fall between ranges. Tables without a rowid
    are one range. Each boundary is the ``range_rows``-th key from the
    previous one (``LIMIT 1 OFFSET n``, stepped in SQLite, not in Python).
    """
    total = count_rows(conn, table.name)
    if table.key is None:
        return [(KEY_MIN, KEY_MAX, total)]
    k = Raw(table.key)
    q = sq("SELECT {} FROM {} WHERE {} >= ? ORDER BY {} LIMIT 1 OFFSET ?", k, table.name, k, k)
    bounds: list[tuple[int, int, int]] = []
    lo = KEY_MIN
    while total - range_rows * len(bounds) > range_rows:
        hi = int(conn.execute(q, (lo, range_rows - 1)).fetchone()[0])
        bounds.append((lo, hi, range_rows))
        lo = hi + 1
    bounds.append((lo, KEY_MAX, total - range_rows * len(bounds)))
    return bounds


def _fetch(conn: sqlite3.Connection, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Fetch with SQLite's own UTF-8 decoding (C speed); only a batch holding invalid UTF-8 is read again
    through ``decode_text``, which keeps such text as ``BadUtf8`` for the text policy."""
    conn.text_factory = str
    try:
        return conn.execute(query, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "decode" not in str(exc):
            raise
        conn.text_factory = decode_text
        return conn.execute(query, params).fetchall()
    finally:
        conn.text_factory = decode_text


def read_batches(
    conn: sqlite3.Connection, table: str, key: str | None, columns: Sequence[str], lo: int, hi: int,
    batch_rows: int,
) -> Iterator[list[tuple[Any, ...]]]:
    """Yield rows ``(key, *columns)`` of the key range in keyset batches of ``batch_rows``.

    Each batch is its own query (``key >= next AND key <= hi ORDER BY key
    LIMIT n``) so no SQLite statement stays open between batches.
    """
    cols = Raw(", ".join(qi(c) for c in columns))
    if key is None:
        cur = conn.execute(sq("SELECT NULL, {} FROM {}", cols, table))
        while batch := cur.fetchmany(batch_rows):
            yield batch
        return
    if key not in ("rowid", "_rowid_", "oid"):
        raise ValueError(f"not a rowid alias: {key!r}")
    k = Raw(key)
    q = sq("SELECT {}, {} FROM {} WHERE {} >= ? AND {} <= ? ORDER BY {} LIMIT ?", k, cols, table, k, k, k)
    nxt = lo
    while True:
        batch = _fetch(conn, q, (nxt, hi, batch_rows))
        if not batch:
            return
        yield batch
        if len(batch) < batch_rows or batch[-1][0] >= hi:
            return
        nxt = batch[-1][0] + 1


def range_select(table: str, key: str, columns: Sequence[str]) -> str:
    """One statement reading a whole key range in key order (``?`` lo, ``?`` hi), for the C row codec."""
    if key not in ("rowid", "_rowid_", "oid"):
        raise ValueError(f"not a rowid alias: {key!r}")
    k = Raw(key)
    cols = Raw(", ".join(qi(c) for c in columns))
    return sq("SELECT {}, {} FROM {} WHERE {} >= ? AND {} <= ? ORDER BY {}", k, cols, table, k, k, k)


def integrity_check(conn: sqlite3.Connection, quick: bool = False) -> list[str]:
    """``PRAGMA integrity_check``'s (``quick``: ``quick_check``'s) lines; a file too damaged to check reports
    why instead of raising.

    The check exists to report damage, so damage must never be what stops it.
    """
    pragma = "quick_check" if quick else "integrity_check"
    try:
        return [str(r[0]) for r in conn.execute("PRAGMA " + pragma).fetchall()]
    except sqlite3.DatabaseError as exc:
        return [f"{pragma} could not finish: {exc}"]


@contextmanager
def damage_as_unreadable(path: str | Path, integrity: Sequence[str] = ()) -> Iterator[None]:
    """Turn SQLite's own errors while reading the source (a damaged page, a truncated file) into
    ``SourceUnreadable``, which names the file and what to do, instead of a bare ``sqlite3.DatabaseError``.

    :param integrity: what ``integrity_check`` found, if it ran, quoted in the message.
    """
    try:
        yield
    except sqlite3.DatabaseError as exc:
        found = " ".join("; ".join(i for i in integrity if i != "ok").split())
        detail = f"; integrity_check: {found[:300]}{'...' if len(found) > 300 else ''}" if found else ""
        raise SourceUnreadable(str(path), f"the file is damaged ({exc}){detail}") from None


def _foreign_key_check(conn: sqlite3.Connection) -> Iterator[tuple[Any, ...]]:
    """``PRAGMA foreign_key_check`` rows, in its order (``orphans``: by index where that is provably the same);
    a table whose foreign key points at non-unique columns ("foreign key mismatch") is left out (its key cannot
    be created in PostgreSQL either, and ``create`` names it), the others are still checked."""
    return orphans.foreign_key_rows(conn)


def foreign_key_orphans(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """``PRAGMA foreign_key_check`` grouped per (table, parent): orphan counts and a sample."""
    groups: dict[tuple[str, str, int], dict[str, Any]] = {}
    for table, rowid, parent, fkid in _foreign_key_check(conn):
        g = groups.setdefault((str(table), str(parent), int(fkid)),
                              {"table": str(table), "parent": str(parent), "orphans": 0, "sample_rowids": []})
        g["orphans"] += 1
        if len(g["sample_rowids"]) < 5:
            g["sample_rowids"].append(rowid)
    return list(groups.values())


# --- the declared schema, for tables created in the target (create.py) -------------------------------


def column_default(conn: sqlite3.Connection, table: str, column: str) -> str | None:
    """The column's DEFAULT as written in the CREATE TABLE (None if it has none)."""
    row = conn.execute("SELECT dflt_value FROM pragma_table_info(?) WHERE name = ?", (table, column)).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def autoincrement_seq(conn: sqlite3.Connection, table: str) -> int | None:
    """The table's ``sqlite_sequence`` value: for AUTOINCREMENT, the largest id ever handed out (None otherwise)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").fetchone() is None:
        return None
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def master_sql(conn: sqlite3.Connection, kind: str, name: str) -> str:
    """The CREATE statement SQLite kept for a table or index ('' for automatic indexes)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = ? AND name = ?", (kind, name)).fetchone()
    return str(row[0]) if row and row[0] else ""


def index_list(conn: sqlite3.Connection, table: str) -> list[tuple[str, bool, str, bool]]:
    """``(name, unique, origin, partial)`` of the table's indexes; origin ``pk``, ``u`` (UNIQUE) or ``c``."""
    rows = conn.execute('SELECT name, "unique", origin, partial FROM pragma_index_list(?) ORDER BY name', (table,))
    return [(str(n), bool(u), str(o), bool(p)) for n, u, o, p in rows]


def index_columns(conn: sqlite3.Connection, index: str) -> list[tuple[int, str | None, bool, str]]:
    """``(cid, column, descending, collation)`` of an index's key columns in order (cid < 0: expression, rowid)."""
    rows = conn.execute('SELECT cid, name, "desc", coll FROM pragma_index_xinfo(?) WHERE key ORDER BY seqno',
                        (index,))
    return [(int(c), None if n is None else str(n), bool(d), str(coll)) for c, n, d, coll in rows]


def foreign_key_list(conn: sqlite3.Connection, table: str) -> list[tuple[int, str, str, str | None, str, str]]:
    """``(id, parent, column, parent column or None, on_update, on_delete)`` per column of each foreign key."""
    rows = conn.execute('SELECT id, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?) '
                        "ORDER BY id, seq", (table,))
    return [(int(i), str(p), str(f), None if to is None else str(to), str(u), str(d)) for i, p, f, to, u, d in rows]
