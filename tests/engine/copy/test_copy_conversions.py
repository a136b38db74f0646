"""Each conversion rule, end to end: SQLite value -> COPY -> the value PostgreSQL holds, or a reject."""

from __future__ import annotations

import datetime as dt
import doctest
import sqlite3
import uuid
from decimal import Decimal

import pytest
from copy_helpers import pg, pg_exec

from migrations_ops.copy import CopyOptions, copy_database, list_rejects, typemap

UTC = dt.UTC
T0 = dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC)

# Exact decimals live in TEXT columns: SQLite's NUMERIC affinity itself turns long decimals into REAL.
COLUMNS = {  # column: (SQLite declaration, target type)
    "i4": ("INTEGER", "integer"), "i8": ("BIGINT", "bigint"), "f8": ("REAL", "double precision"),
    "f4": ("REAL", "real"), "num": ("TEXT", "numeric"), "numr": ("NUMERIC", "numeric"), "num52": ("NUMERIC", "numeric(5,2)"),
    "b": ("BOOLEAN", "boolean"), "tstz": ("DATETIME", "timestamptz"), "tstz_ms": ("DATETIME", "timestamptz"),
    "ts": ("DATETIME", "timestamp"), "d": ("DATE", "date"), "js": ("JSON", "json"), "jsb": ("JSON", "jsonb"),
    "u": ("TEXT", "uuid"), "by": ("BLOB", "bytea"), "t": ("TEXT", "text"), "vc": ("TEXT", "varchar(3)"),
}
U = uuid.UUID("12345678-1234-5678-1234-567812345678")
BAD_UTF8 = b"caf\xe9"
CASES = [  # (column, SQLite value, expected target value | ("reject", code))
    ("i4", 5, 5), ("i4", 3.0, 3), ("i4", 2**31, ("reject", "integer_out_of_range")),
    ("i4", "abc", ("reject", "not_integer")), ("i4", 3.5, ("reject", "not_integer")),
    ("i8", 2**40, 2**40), ("i8", 2**63 - 1, 2**63 - 1),
    ("f8", 16777217.0, 16777217.0), ("f8", 0.1, 0.1), ("f8", 7, 7.0), ("f8", "x", ("reject", "not_number")),
    ("f4", 0.5, 0.5), ("f4", 16777217.0, ("reject", "precision_loss")),
    ("num", "12345678901234567890.123456789", Decimal("12345678901234567890.123456789")),
    ("numr", 0.1, Decimal("0.1")), ("numr", 42, Decimal(42)),  # NUMERIC affinity stores REAL/INTEGER
    ("num52", "123.45", Decimal("123.45")), ("num52", "1.005", ("reject", "numeric_rounding")),
    ("num52", 12345, ("reject", "numeric_overflow")),
    ("b", 0, False), ("b", 1, True), ("b", "t", True), ("b", "false", False), ("b", "TRUE", True),
    ("b", 2, ("reject", "not_boolean")), ("b", "yes", ("reject", "not_boolean")),
    ("tstz", "2024-03-01T10:00:00Z", T0), ("tstz", "2024-03-01T19:00:00+09:00", T0),
    ("tstz", "2024-03-01 10:00:00", T0), ("tstz", "2024-03-01T10:00:00.250000", T0 + dt.timedelta(milliseconds=250)),
    ("tstz", "2024-03-01", dt.datetime(2024, 3, 1, tzinfo=UTC)), ("tstz", 1709287200, T0),
    ("tstz", "2024-02-30T10:00:00", ("reject", "invalid_timestamp")), ("tstz", "soon", ("reject", "invalid_timestamp")),
    ("tstz_ms", 1709287200000, T0), ("tstz_ms", 1709287200250, T0 + dt.timedelta(milliseconds=250)),
    ("ts", "2024-03-01T19:00:00+09:00", dt.datetime(2024, 3, 1, 10, 0)), ("ts", "2024-03-01 10:00:00", dt.datetime(2024, 3, 1, 10)),
    ("d", "2024-03-01", dt.date(2024, 3, 1)), ("d", "2024-03-01T10:30:00", ("reject", "timestamp_not_date")),
    ("js", '{"a": 1}', {"a": 1}), ("js", "[1,", ("reject", "invalid_json")),
    ("jsb", '{"a": "日本 🎉"}', {"a": "日本 🎉"}), ("jsb", 12, 12), ("jsb", '{"a":', ("reject", "invalid_json")),
    ("jsb", '{"a": "\\u0000"}', ("reject", "json_nul")), ("jsb", "NaN", ("reject", "invalid_json")),
    ("u", str(U), U), ("u", str(U).replace("-", "").upper(), U), ("u", U.bytes, U), ("u", "zzz", ("reject", "invalid_uuid")),
    ("by", b"\x00\xff\x01", b"\x00\xff\x01"), ("by", "é", "é".encode()),
    ("t", "日本語 🎉", "日本語 🎉"), ("t", "", ""), ("t", 42, "42"), ("t", "a\x00b", ("reject", "nul_in_text")),
    ("t", BAD_UTF8, ("reject", "invalid_utf8")),
    ("vc", "abc", "abc"), ("vc", "abcd", ("reject", "too_long")),
]


def test_it_passes_the_typemap_doctests() -> None:
    result = doctest.testmod(typemap)
    assert result.attempted > 20 and result.failed == 0


@pytest.fixture
def cases_copy(make_sqlite, target_db):
    cols = ", ".join(f"{c} {decl}" for c, (decl, _) in COLUMNS.items())
    path = make_sqlite(f"CREATE TABLE cases (id INTEGER PRIMARY KEY, {cols});")
    conn = sqlite3.connect(path)
    with conn:
        for i, (col, value, _) in enumerate(CASES, start=1):
            if col == "t" and value == BAD_UTF8:  # text (not BLOB) holding invalid UTF-8
                conn.execute(f"INSERT INTO cases (id, {col}) VALUES (?, CAST(? AS TEXT))", (i, value))
            else:
                conn.execute(f"INSERT INTO cases (id, {col}) VALUES (?, ?)", (i, value))
    conn.close()
    pg_exec(target_db, "CREATE TABLE cases (id integer PRIMARY KEY, "
            + ", ".join(f"{c} {t}" for c, (_, t) in COLUMNS.items()) + ")")
    return path, target_db


def test_it_converts_each_rule_or_rejects_the_row(cases_copy) -> None:
    path, target = cases_copy
    summary = copy_database(path, target, CopyOptions(), copy_id="conv")
    rejects = {int(r.key): r for r in list_rejects(target, "conv")}
    with pg(target) as c:
        for i, (col, value, expected) in enumerate(CASES, start=1):
            row = c.execute(f"SELECT {col} FROM cases WHERE id = %s", (i,)).fetchone()
            if isinstance(expected, tuple):
                assert row is None, (col, value)
                assert rejects[i].code == expected[1], (col, value, rejects[i].reason)
                assert rejects[i].column == col
                assert rejects[i].value_hex == typemap.hex_of(value)
            else:
                assert row is not None, (col, value, rejects.get(i))
                assert row[0] == expected and type(row[0]) is type(expected), (col, value, row[0])
    bad = sum(isinstance(e, tuple) for _, _, e in CASES)
    assert summary.rows_rejected == bad and summary.rows_imported == len(CASES) - bad


def test_it_replaces_and_reports_bad_text_under_the_replace_policy(make_sqlite, target_db) -> None:
    path = make_sqlite("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);", {"notes": [(1, "a\x00b"), (2, "ok")]})
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO notes VALUES (3, CAST(? AS TEXT))", (BAD_UTF8,))
    conn.close()
    pg_exec(target_db, "CREATE TABLE notes (id integer PRIMARY KEY, body text)")
    summary = copy_database(path, target_db, CopyOptions(text_policy="replace"), copy_id="repl")
    assert summary.rows_imported == 3 and summary.rows_rejected == 0
    assert pg_exec(target_db, "SELECT id, body FROM notes ORDER BY id") == [(1, "a\ufffdb"), (2, "ok"), (3, "caf\ufffd")]
    warnings = list_rejects(target_db, "repl")
    assert [(w.key, w.code, w.value_hex) for w in warnings] == [("1", "replaced", "610062"), ("3", "replaced", "636166e9")]
    assert list_rejects(target_db, "repl", include_warnings=False) == []


@pytest.mark.parametrize("with_null", [False, True])
def test_it_rejects_non_text_values_of_a_json_column_without_crashing(make_sqlite, target_db, with_null) -> None:
    # JSON declares NUMERIC affinity: '1e400' is stored as REAL inf; a BLOB stays a BLOB
    rows = [(1, '{"a": 1}'), (2, "1e400"), (3, b"\xff\xfe"), (4, "[1, 2]")] + ([(5, None)] if with_null else [])
    path = make_sqlite("CREATE TABLE docs (id INTEGER PRIMARY KEY, body JSON);", {"docs": rows})
    pg_exec(target_db, "CREATE TABLE docs (id integer PRIMARY KEY, body jsonb)")
    summary = copy_database(path, target_db, CopyOptions(), copy_id="jsn")
    assert summary.rows_rejected == 2
    assert {(r.key, r.code) for r in list_rejects(target_db, "jsn")} == {("2", "invalid_json"), ("3", "blob_not_text")}
    assert [r[0] for r in pg_exec(target_db, "SELECT id FROM docs ORDER BY id")] == [1, 4] + ([5] if with_null else [])
