"""Foreign-key orphans by index equal ``PRAGMA foreign_key_check``, row for row and in its order.

Random schemas of many tables (more than SQLite's hash keeps as a plain list)
with keys of every affinity, COLLATE NOCASE columns and indexes, partial and
non-unique parent indexes, rowid parents, composite keys, WITHOUT ROWID
tables and missing parents; random values of every storage class on both
sides. Whatever the fast path takes or leaves to the pragma, the rows must be
the pragma's own.
"""

from __future__ import annotations

import random
import sqlite3

import pytest

from migrations_ops.copy import orphans, source
from migrations_ops.copy.source import Raw, sq

TYPES = ("INTEGER", "INT", "TEXT", "VARCHAR(10)", "REAL", "NUMERIC", "DATETIME", "BLOB", "")
TEXT_TYPES = ("TEXT", "VARCHAR(10)", "CLOB")
"""Half the schemas: text keys only and no COLLATE on columns, so that most keys take the fast path."""
VALUES = (1, 2, 3, "1", "2", "01", 1.0, 2.5, "a", "A", "a ", b"a", b"1", None, "x", 10**12)


def _schema(rng: random.Random, tables: int, text_only: bool) -> tuple[list[str], list[str]]:
    """(DDL statements, table names): each table may reference earlier ones (and itself, and a missing one)."""
    ddl, names, uniques = [], [], []  # uniques: (table, column) with a unique index usable or not
    types, nocase = (TEXT_TYPES, 0.0) if text_only else (TYPES, 0.1)
    for i in range(tables):
        name = "t" + str(i) + "_" + rng.choice("abcxyz")
        cols = [sq("{} " + rng.choice(types) + (" COLLATE NOCASE" if rng.random() < nocase else ""), "c" + str(j))
                for j in range(3)]
        without = rng.random() < 0.1
        key = "k TEXT PRIMARY KEY" if without else "id INTEGER PRIMARY KEY"
        fks = []
        for j in range(rng.randint(0, 3)):
            kind, col = rng.random(), "c" + str(j)
            if kind < 0.1:
                fks.append(sq("FOREIGN KEY ({}) REFERENCES {} (x)", col, "missing_" + str(i)))
            elif kind < 0.2 and names:
                fks.append(sq("FOREIGN KEY ({}) REFERENCES {}", col, rng.choice(names)))  # the parent's primary key
            elif kind < 0.3 and len(uniques) > 1:
                (p1, a), (_p2, b) = rng.sample(uniques, 2)
                fks.append(sq("FOREIGN KEY (c0, c1) REFERENCES {} ({}, {})", p1, a, b))
            elif uniques:
                parent, to = rng.choice(uniques)
                fks.append(sq("FOREIGN KEY ({}) REFERENCES {} ({})", col, parent, to.upper() if rng.random() < 0.2 else to))
        body = Raw(", ".join([key, *cols, *fks]))
        ddl.append(sq("CREATE TABLE {} ({})" + (" WITHOUT ROWID" if without else ""), name, body))
        for j in range(3):
            if rng.random() < 0.5:
                coll = " COLLATE NOCASE" if rng.random() < 0.15 else ""
                uniq = "UNIQUE " if rng.random() < 0.9 else ""
                where = " WHERE c0 IS NOT NULL" if rng.random() < 0.1 else ""
                ddl.append(sq("CREATE " + uniq + "INDEX {} ON {} ({}" + coll + ")" + where,
                              "ix_" + name + "_" + str(j), name, "c" + str(j)))
                uniques.append((name, "c" + str(j)))
        if not without:
            uniques.append((name, "id"))
        names.append(name)
    return ddl, names


def _fill(conn: sqlite3.Connection, rng: random.Random, names: list[str]) -> None:
    for name in names:
        without = conn.execute("SELECT wr FROM pragma_table_list WHERE name = ?", (name,)).fetchone()[0]
        for r in range(rng.randint(0, 25)):
            key = "k" + str(r) if without else r + 1
            values = [rng.choice(VALUES) for _ in range(3)]
            try:
                conn.execute(sq("INSERT INTO {} VALUES (?, ?, ?, ?)", name), (key, *values))
            except sqlite3.IntegrityError:
                continue  # a unique index refused a repeated value


def _pragma(conn: sqlite3.Connection, mismatched: list[str] | None = None) -> list[tuple]:
    """SQLite's own answer; with a "foreign key mismatch" somewhere, table by table in its walk, those left out
    (and named in ``mismatched``)."""
    try:
        return conn.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.OperationalError as exc:
        assert "foreign key mismatch" in str(exc)
    rows: list[tuple] = []
    for (name,) in conn.execute("SELECT name FROM pragma_table_list WHERE schema = 'main'").fetchall():
        try:
            rows += conn.execute("SELECT * FROM pragma_foreign_key_check(?)", (name,)).fetchall()
        except sqlite3.OperationalError:
            if mismatched is not None:
                mismatched.append(name)
    return rows


def _assert_the_pragmas_rows(path) -> None:
    """``foreign_key_rows`` gives the pragma's rows in its order, names the tables it leaves out as the
    pragma would, and its distinct-value probe agrees with its row probe."""
    src = source.open_source(path)
    try:
        want_left_out: list[str] = []
        want = _pragma(src, want_left_out)
        left_out: list[str] = []
        assert list(orphans.foreign_key_rows(src, lambda table, _msg: left_out.append(table))) == want
        assert left_out == want_left_out
        _distinct_values_agree_with_rows(src)
    finally:
        src.close()


@pytest.mark.parametrize("seed", range(60))
def test_orphans_by_index_are_the_pragmas_rows_in_its_order(seed, tmp_path) -> None:
    rng = random.Random(seed)
    ddl, names = _schema(rng, rng.choice((4, 12, 25)), text_only=seed % 2 == 0)
    path = tmp_path / "fk.sqlite"
    conn = sqlite3.connect(path)
    for stmt in ddl:
        conn.execute(stmt)
    with conn:
        _fill(conn, rng, names)
    conn.close()
    _assert_the_pragmas_rows(path)
    # the same file with every orphan deleted: the clean file most copies read, each key proven by its values
    conn = sqlite3.connect(path)
    with conn:
        while left := {r[:2] for r in _pragma(conn)}:  # a deleted parent row may leave new orphans behind it
            for table, rowid in left:
                if rowid is None:  # a WITHOUT ROWID table: its rows have no rowid to name
                    conn.execute(sq("DELETE FROM {}", table))
                else:
                    conn.execute(sq("DELETE FROM {} WHERE rowid = ?", table), (rowid,))
    conn.close()
    _assert_the_pragmas_rows(path)


def _distinct_values_agree_with_rows(src: sqlite3.Connection) -> None:
    """Where a table's keys take the NOT EXISTS rule, its distinct values find an orphan exactly when its rows do."""
    for (name,) in src.execute("SELECT name FROM pragma_table_list WHERE schema = 'main'").fetchall():
        keys = src.execute('SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?)', (name,)).fetchall()
        pairs = orphans._same_rule_keys(src, name, keys) if keys else None
        if pairs is not None:
            assert orphans._any_orphan_value(src, name, pairs) == bool(list(orphans._by_index(src, name, pairs))), name


def test_the_fast_path_is_taken_where_it_is_the_same_rule(tmp_path) -> None:
    path = tmp_path / "fk.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE users (id INTEGER PRIMARY KEY, code VARCHAR UNIQUE, nick TEXT);
        CREATE UNIQUE INDEX ix_users_nick ON users (nick COLLATE NOCASE);
        CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT COLLATE NOCASE UNIQUE);
        CREATE TABLE tagged (id INTEGER PRIMARY KEY, label TEXT REFERENCES tags (label));
        INSERT INTO tags VALUES (1, 'red');
        INSERT INTO tagged VALUES (1, 'RED'), (2, 'blue');
        CREATE TABLE orders (id INTEGER PRIMARY KEY, user_code VARCHAR REFERENCES users (code));
        CREATE INDEX ix_orders_user ON orders (user_code);
        CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));
        CREATE TABLE mixed (id INTEGER PRIMARY KEY, code INTEGER REFERENCES users (code));
        INSERT INTO users VALUES (1, 'u1', 'Ann'), (2, '2', 'bob');
        INSERT INTO orders VALUES (1, 'u1'), (2, 'U1'), (3, NULL), (4, 'ghost'), (5, 'u1'), (6, 'ghost');
        INSERT INTO notes VALUES (1, 1), (2, 3);
        INSERT INTO mixed VALUES (1, 2), (2, '2'), (3, 7);
    """)
    conn.close()
    src = source.open_source(path)
    def pairs(table: str):
        keys = src.execute('SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?)', (table,)).fetchall()
        return orphans._same_rule_keys(src, table, keys)

    assert list(orphans._by_index(src, "orders", pairs("orders"))) == [("orders", 2, "users", 0), ("orders", 4, "users", 0),
                                                                 ("orders", 6, "users", 0)]
    # a rowid parent is sought by value as the pragma seeks it
    assert pairs("notes") == [(0, "users", "user_id", "id")]
    assert list(orphans._by_index(src, "notes", pairs("notes"))) == [("notes", 2, "users", 0)]
    # a key of another affinity and a NOCASE parent column stay with the pragma
    for table in ("mixed", "tagged"):
        assert pairs(table) is None
    assert list(orphans.foreign_key_rows(src)) == src.execute("PRAGMA foreign_key_check").fetchall()
    assert {g["table"]: g["orphans"] for g in source.foreign_key_orphans(src)} == {
        "orders": 3, "notes": 1, "mixed": 1, "tagged": 1}
    src.close()
