"""The source side's cuts of a key range and its key bounds, read from a b-tree where the file has one.

``LiteKeyed.boundaries`` walks the key's index (each cut a short ``OFFSET`` past the one before) instead of
numbering every row with a window function; ``SqliteSide.bounds`` asks min and max one at a time when an
index (or the rowid) holds the key. Both must give what the slow forms give, on names that need quoting,
on a key repeated in the source, and on keys no index orders (uuid spellings, NOCASE).
"""

from __future__ import annotations

import random
import sqlite3
import uuid

import pytest
from psycopg import sql

from migrations_ops import queries
from migrations_ops.verify.canonical import ColumnType, sqlite_sql
from migrations_ops.verify.checksum import SqliteSide
from migrations_ops.verify.keyed import LiteKeyed, _boundary_stmt

TEXT, INT, UUID = ColumnType("text"), ColumnType("int"), ColumnType("uuid")


def _window_cuts(side: LiteKeyed, lo, hi, step: int) -> list[tuple]:
    """The cuts as the window function numbers them: every ``step``-th row of the range, by key."""
    where, params = side._where(lo, hi)
    stmt = _boundary_stmt(side.raw, side.order, side.rel, where, sql.SQL("?"), "%")
    return [tuple(r) for r in side.conn.execute(sqlite_sql(stmt), [*params, step]).fetchall()]


def _plans(side: LiteKeyed, lo, hi) -> bool:
    where, params = side._where(lo, hi)
    _first, then = side._walk_stmts(where)
    return side._walks_index(then, [*params, *([None] * len(side.raw)), 1])


@pytest.fixture
def lite(tmp_path):
    path = tmp_path / "keys.sqlite"
    conn = sqlite3.connect(path)
    rng = random.Random(7)
    conn.execute('CREATE TABLE "Line Items" ("Order ID" TEXT, "li""ne" INTEGER, qty INTEGER, '
                 'PRIMARY KEY ("Order ID", "li""ne"))')
    rows = {(rng.choice(["a", "B", "é", "ä b", "Z", "a'"]) + str(rng.randint(0, 400)), rng.randint(1, 9))
            for _ in range(5000)}
    conn.executemany('INSERT INTO "Line Items" VALUES (?, ?, 1)', sorted(rows))
    conn.execute('CREATE TABLE dup (k TEXT, v INTEGER)')  # the target's key, repeated in the source
    conn.execute('CREATE INDEX dup_k ON dup (k)')
    conn.executemany("INSERT INTO dup VALUES (?, ?)",
                     [("same", i) for i in range(300)] + [(f"k{rng.randint(0, 60):03d}", i) for i in range(900)])
    conn.execute("CREATE TABLE tok (t TEXT PRIMARY KEY, n INTEGER)")
    conn.executemany("INSERT INTO tok VALUES (?, ?)", [(str(uuid.UUID(int=rng.getrandbits(128))).upper(), i)
                                                       for i in range(700)])
    conn.execute("CREATE TABLE folded (name TEXT COLLATE NOCASE PRIMARY KEY, n INTEGER)")
    conn.executemany("INSERT INTO folded VALUES (?, ?)", [(f"{c}{i}", i) for i in range(200) for c in "aB"])
    conn.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY, n INTEGER, m INTEGER)")
    conn.executemany("INSERT INTO plain VALUES (?, ?, ?)", [(i * 3, 1000 - i, i % 7) for i in range(1, 2000)])
    conn.commit()
    yield conn
    conn.close()


def _side(conn, table, keys) -> LiteKeyed:
    return LiteKeyed(conn, table, [(c, ct) for c, ct in keys], None, None, keys, native=False)


@pytest.mark.parametrize("step", [1, 2, 7, 100, 999, 10_000])
def test_the_walk_gives_the_window_functions_cuts_on_a_unique_key(lite, step):
    side = _side(lite, "Line Items", [("Order ID", TEXT), ('li"ne', INT)])
    assert _plans(side, None, None)  # the primary key's index orders the rows: walked
    all_cuts = _window_cuts(side, None, None, step)
    assert side.boundaries(None, None, step) == all_cuts
    if len(all_cuts) >= 3:  # a range between two cuts, as bisection asks for one
        lo, hi = all_cuts[0], all_cuts[2]
        assert side.boundaries(lo, hi, max(1, step // 3)) == _window_cuts(side, lo, hi, max(1, step // 3))


@pytest.mark.parametrize("step", [1, 5, 50, 400])
def test_the_walk_moves_on_past_a_repeated_key(lite, step):
    side = _side(lite, "dup", [("k", TEXT)])
    assert _plans(side, None, None)
    cuts = side.boundaries(None, None, step)
    keys = sorted(r[0] for r in lite.execute("SELECT k FROM dup"))
    assert cuts == sorted(set(cuts)), "strictly increasing"
    assert all((c,) in {(k,) for k in keys} for (c,) in cuts)
    edges = [None, *(c for (c,) in cuts), None]
    sizes = [sum(1 for k in keys if (a is None or k >= a) and (b is None or k < b))
             for a, b in zip(edges, edges[1:], strict=False)]
    assert sum(sizes) == len(keys)
    # a cut is the step-th row past every row of the cut before: never more parts than rows / step, and no part
    # holds more than step rows besides the copies of its first key
    assert len(cuts) <= len(keys) // step
    longest = max(keys.count(k) for k in set(keys))
    assert all(n <= step + longest for n in sizes[:-1]), sizes


@pytest.mark.parametrize(("table", "keys"), [("tok", [("t", UUID)]), ("folded", [("name", TEXT)])])
def test_a_key_no_index_orders_is_numbered_by_the_window_function(lite, table, keys):
    side = _side(lite, table, keys)
    assert not _plans(side, None, None)  # uuid's hex form / BINARY order over a NOCASE index: sorted
    for step in (1, 9, 64):
        assert side.boundaries(None, None, step) == _window_cuts(side, None, None, step)


@pytest.mark.parametrize(("key", "expected"), [("id", (3, 5997)), ("n", (-999, 999)), (None, (3, 5997))])
def test_key_bounds_from_the_btree_or_one_scan(lite, key, expected):
    side = SqliteSide(lite, "plain", [("id", INT), ("n", INT), ("m", INT)], key, native=False)
    assert side.bounds() == expected
    in_btree = lite.execute(open_query(), ("plain", key or "rowid")).fetchone() is not None
    assert in_btree == (key != "n")  # n has no index: one scan for both ends


def test_key_bounds_of_an_empty_table_and_of_an_index_led_by_the_key(lite):
    lite.execute('CREATE TABLE "we ird" ("Key" INTEGER, x TEXT)')
    lite.execute('CREATE INDEX ix_we ON "we ird" ("Key", x)')
    side = SqliteSide(lite, "we ird", [("Key", INT), ("x", TEXT)], "Key", native=False)
    assert side.bounds() == (None, None)
    lite.executemany('INSERT INTO "we ird" VALUES (?, ?)', [(5, "a"), (None, "b"), (-2, "c")])
    assert side.bounds() == (-2, 5)
    assert lite.execute(open_query(), ("we ird", "key")).fetchone() is not None


def open_query() -> str:
    return queries.get("verify_sqlite_key_in_btree")
