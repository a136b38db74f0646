"""Reject keys: the primary key, else the SQLite rowid (``rowid:N``), also for rows the server refuses."""

from __future__ import annotations

from copy_helpers import pg_exec

from migrations_ops.copy import CopyOptions, copy_database, list_rejects


def test_it_keys_rejects_of_a_table_without_primary_key_by_rowid(make_sqlite, target_db) -> None:
    rows = [(i, f"item {i}") for i in range(1, 501)]
    rows[99] = ("many", "client reject")  # row 100: not an integer, refused by our conversion
    rows[349] = (-5, "server reject")  # row 350: passes conversion, refused by the target's CHECK
    path = make_sqlite("CREATE TABLE lines (qty INTEGER, label TEXT);", {"lines": rows})
    pg_exec(target_db, "CREATE TABLE lines (qty integer CHECK (qty > 0), label text)")
    summary = copy_database(path, target_db, CopyOptions(batch_rows=64), copy_id="nokey")
    got = sorted((r.key, r.column, r.code) for r in list_rejects(target_db, "nokey"))
    assert got == [("rowid:100", "qty", "not_integer"), ("rowid:350", None, "server_refused")]
    assert summary.rows_imported == 498 and summary.rows_rejected == 2
    assert pg_exec(target_db, "SELECT count(*), count(DISTINCT qty) FROM lines") == [(498, 498)]


def test_it_keys_a_row_the_server_refuses_by_its_primary_key(make_sqlite, target_db) -> None:
    path = make_sqlite("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
                       {"users": [(1, "a@x"), (2, "b@x"), (3, "A@X"), (4, "c@x")]})
    pg_exec(target_db, "CREATE TABLE users (id int PRIMARY KEY, email text)")
    pg_exec(target_db, "CREATE UNIQUE INDEX users_email_ci ON users (lower(email))")
    summary = copy_database(path, target_db, CopyOptions(), copy_id="dupkey")
    [r] = list_rejects(target_db, "dupkey")
    assert (r.key, r.code) == ("3", "server_refused") and "duplicate key" in r.reason
    assert summary.rows_imported == 3


def test_it_keys_a_reject_whose_primary_key_is_null_by_rowid(make_sqlite, target_db) -> None:
    # SQLite accepts NULL in a non-INTEGER primary key column; such a key names no row.
    path = make_sqlite("CREATE TABLE codes (code TEXT PRIMARY KEY, qty INTEGER);",
                       {"codes": [("a", 1), (None, 2), ("c", 3), (None, "lots")]})
    pg_exec(target_db, "CREATE TABLE codes (code text PRIMARY KEY, qty integer)")
    summary = copy_database(path, target_db, CopyOptions(), copy_id="nullkey")
    got = sorted((r.key, r.column, r.code) for r in list_rejects(target_db, "nullkey"))
    assert got == [("rowid:2", "code", "null_in_not_null"), ("rowid:4", "code", "null_in_not_null"),
                   ("rowid:4", "qty", "not_integer")]
    assert all(r.key != "None" and "None" not in r.key for r in list_rejects(target_db, "nullkey"))
    assert summary.rows_imported == 2 and summary.rows_rejected == 2
    assert pg_exec(target_db, "SELECT code, qty FROM codes ORDER BY code") == [("a", 1), ("c", 3)]
