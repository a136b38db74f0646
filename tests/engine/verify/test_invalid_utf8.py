"""Source text that is not valid UTF-8 is a reported difference, never a crash.

The copy rejects such rows (tests/engine/copy), so the target lacks them; a
target that holds the row with the text repaired shows it as changed. Both in a
plain text column (printed in SQL) and in a JSON column (printed by a Python
function, which the sqlite3 module cannot hand invalid text to).
"""

from __future__ import annotations

import sqlite3

from migrations_ops.verify import FAIL, verify
from migrations_ops.verify.canonical import INVALID_UTF8, ColumnType
from migrations_ops.verify.checksum import SqliteSide, open_sqlite


def _plant(src, *rows: tuple) -> None:
    with sqlite3.connect(src) as w:
        for row in rows:  # CAST(blob AS TEXT) stores the bytes as TEXT, as a legacy application would
            w.execute("INSERT INTO users (id, email, name, is_admin, created_at, prefs) VALUES "
                      "(?, ?, CAST(? AS TEXT), 0, '2024-01-01T00:00:00Z', CAST(? AS TEXT))", row)


def test_it_reports_a_row_with_invalid_utf8_text_as_missing(billing):
    target, src = billing
    _plant(src, (7, "g@x", b"caf\xe9 latin-1", b'{"a": 1}'), (8, "h@x", b"ok", b'{"n": "caf\xe9"}'))
    report = verify(target, src, tables=["users"])
    users = report.table("users")
    assert users.status == FAIL and (users.source_rows, users.target_rows) == (8, 6)
    missing = next(f for f in users.findings if f.check == "missing")
    assert list(missing.samples) == [7, 8]


def test_it_reports_invalid_utf8_text_against_its_repair_as_changed(billing, pg_exec):
    target, src = billing
    pg_exec("UPDATE users SET name = 'café', prefs = '{\"n\": \"café\"}' WHERE id = 1")
    with sqlite3.connect(src) as w:
        w.execute("UPDATE users SET name = CAST(? AS TEXT), prefs = CAST(? AS TEXT) WHERE id = 1",
                  (b"caf\xe9", b'{"n": "caf\xe9"}'))
    report = verify(target, src, tables=["users"])
    changed = next(f for f in report.table("users").findings if f.check == "changed")
    assert changed.samples == ({"key": 1, "columns": ["name", "prefs"]},)


def test_it_prints_invalid_utf8_as_a_hex_marker(billing):
    _, src = billing
    _plant(src, (7, "g@x", b"caf\xe9", b'{"a": "\xff"}'))
    side = SqliteSide(open_sqlite(str(src)), "users", [("name", ColumnType("text")), ("prefs", ColumnType("json"))],
                      "id")
    (row,) = side.rows(7, 8)
    assert row[0] == "7"
    assert row[1] == INVALID_UTF8 + "'caf\xe9'".encode("latin-1").hex()  # the whole field, quotes included
    assert row[2] == INVALID_UTF8 + b'{"a": "\xff"}'.hex()
    assert side.safe
