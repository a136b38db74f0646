"""Copy and verification read each SQLite value by one set of rules.

The same edge cases (epoch seconds vs milliseconds, boolean spellings, ISO
dates with and without zone, numerics, text encodings, NULL, BLOBs, integers
out of range) are copied by the real copy into real PostgreSQL; then every
reading the verifier has of the SQLite value (Python ``sqlite_field``, the
SQLite SQL expression ``sqlite_field_sql``, the C per-type hash ``pghash``) is
compared with what PostgreSQL holds. A value the copy loaded must read back
identically on every path; a value the copy rejected must be unreadable to the
verifier as well, unless the rejection comes from a limit of the column
(width, length, scale) that the verifier's kinds do not carry, where the
missing row already makes the difference.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from migrations_ops.copy import CopyOptions, copy_database, list_rejects
from migrations_ops.target import TargetConn
from migrations_ops.verify import pghash
from migrations_ops.verify.canonical import ColumnType, Unconvertible, adapt_sqlite, pg_field, sqlite_field
from migrations_ops.verify.checksum import open_sqlite, source_column_types
from migrations_ops.verify.schema import open_session

U = uuid.UUID("12345678-1234-5678-1234-567812345678")
EDGES: dict[str, tuple[str, list[Any]]] = {  # table: (target type, raw SQLite values)
    "b": ("boolean", [0, 1, 0.0, 1.0, 2, "t", "f", "true", "FALSE", "True", "1", "0", " true ", "yes", "no", "on",
                      "off", "y", "n", b"\x01"]),
    "i8": ("bigint", [5, -7, 3.0, 3.5, "12", " 12 ", "1_000", "1e3", "abc", 2**63 - 1, 9.3e18, b"\x01", "+4"]),
    "i4": ("integer", [2**31 - 1, 2**31, -(2**31), "-2147483649"]),
    "f8": ("double precision", [0.1, 7, 2**53 + 1, "2.5e3", " 1.5 ", "nan", "inf", "Infinity", "1_0", "x", 1e308, -0.0]),
    "f4": ("real", [0.5, 12.5, 0.05, 16777217, 1e39, "0.25"]),
    "num": ("numeric", [0.1, 42, "12345678901234567890.123456789", "NaN", "1_000", " 1.5 ", "abc", 1e300, "1e5"]),
    "num2": ("numeric(10,2)", [0.05, 19.99, 1.005, 123456789.5, 12, "7.1"]),
    "tz": ("timestamptz", ["2024-03-01T10:00:00Z", "2024-03-01T19:00:00+09:00", "2024-03-01 10:00:00", "2024-03-01",
                           1709287200, "1709287200", 12345, "12345", 1709287200.5, "2024-02-30T10:00:00", "soon",
                           "2024-03-01T10:00:00.123", "2024-03-01T10:00:00.123456-05:30", "2024-03-01T24:00:00"]),
    "tzms": ("timestamptz", [1709287200000, 86400000, "1709287200250", 1709287200250.0]),
    "tzmix": ("timestamptz", [1700000001, 1700000001000, "1700000002", "1700000002500", 1700000003.5, 0]),
    "dmix": ("date", [1700006400, 1700006400000, "2023-11-15"]),
    "ts": ("timestamp", ["2024-03-01T19:00:00+09:00", 1709287200, "2024-03-01", "0001-01-01T00:00:00+09:00"]),
    "d": ("date", ["2024-03-01", "2024-03-01T00:00:00", "2024-03-01T10:30:00", "2024-02-30", 1709251200, 1709287200,
                   "2024-03-01T00:00:00+09:00", "2024-03-01T09:00:00+09:00"]),
    "js": ("jsonb", ['{"a": 1}', "[1,", "NaN", '{"b":1,"a":[1.10, null]}', 12, '{"a": "\\u0000"}', "null", " [1] ",
                     '{"a": "日本"}']),
    "u": ("uuid", [str(U), str(U).replace("-", "").upper(), U.bytes, "zzz", "{" + str(U) + "}", f"urn:uuid:{U}",
                   b"\x01\x02", 7]),
    "by": ("bytea", [b"\x00\xff", "é", 12, 1.5]),
    "tx": ("text", ["日本語 🎉", "", 42, 0.1, b"abc", b"\xff", "a\x00b", None]),
    "vc": ("varchar(3)", ["abc", "abcd", "日本語"]),
}
LIMITS = {"integer_out_of_range", "too_long", "numeric_rounding", "numeric_overflow", "precision_loss",
          "float4_out_of_range", "nul_in_text"}
"""Reject codes from the column's width, length or scale: the verifier's kinds do not carry them."""


@pytest.fixture
def copied(tmp_path: Path, target_db: TargetConn) -> tuple[Path, TargetConn, dict[tuple[str, int], str]]:
    """Every edge case in its own table (no declared type: SQLite keeps each value as given), copied."""
    path = tmp_path / "edges.sqlite"
    lite = sqlite3.connect(path)
    with psycopg.connect(**target_db.connect_kwargs("mop-tests"), autocommit=True) as pg:
        for table, (pg_type, values) in EDGES.items():
            lite.execute(sql.SQL("CREATE TABLE {} (id INTEGER PRIMARY KEY, v)").format(sql.Identifier(table)).as_string(pg))
            for i, v in enumerate(values, start=1):
                cast = "CAST(? AS TEXT)" if v == b"\xff" and table == "tx" else "?"
                lite.execute(sql.SQL("INSERT INTO {} VALUES (?, " + cast + ")").format(  # noqa: S608 - constant
                    sql.Identifier(table)).as_string(pg), (i, v))
            pg.execute(sql.SQL("CREATE TABLE {} (id integer PRIMARY KEY, v " + pg_type + ")").format(  # type: ignore[operator]
                sql.Identifier(table)))
    lite.commit()
    lite.close()
    copy_database(path, target_db, CopyOptions(), copy_id="agree")
    codes = {(r.table, int(r.key)): r.code for r in list_rejects(target_db, "agree", include_warnings=False)}
    return path, target_db, codes


def test_it_reads_every_edge_case_as_the_copy_loaded_it(copied) -> None:
    path, target, codes = copied
    lite = open_sqlite(str(path))
    disagreements: list[str] = []
    with psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True) as pg:
        open_session(pg, 10_000, 1_000)
        for table, (_pg_type, values) in EDGES.items():
            typname, typmod = pg.execute(
                "SELECT t.typname, a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = %s::regclass AND a.attname = 'v'", (table,)).fetchone()
            [(_, ct)] = source_column_types(lite, table, [("v", ColumnType.from_pg(typname, typmod))])
            for i, raw in enumerate(values, start=1):
                disagreements += _compare(pg, lite, table, i, raw, ct, codes.get((table, i)))
    assert disagreements == [], "\n".join(disagreements)


def _compare(pg: psycopg.Connection, lite: sqlite3.Connection, table: str, i: int, raw: Any, ct: ColumnType,
             code: str | None) -> list[str]:
    """The disagreements of one value: loaded, every reading equals PostgreSQL's; rejected, the verifier refuses it."""
    where = f"{table}[{i}] {raw!r} ({ct.kind}, unit {ct.epoch_unit})"
    row = pg.execute(sql.SQL("SELECT {}, {} FROM {} WHERE id = %s").format(
        pg_field(sql.Identifier("v"), ct), pghash.pg_hash(sql.Identifier("v"), ct, 0), sql.Identifier(table)),
        (i,)).fetchone()
    if row is None:
        assert code is not None, where
        if code in LIMITS:
            return []
        try:
            adapt_sqlite(raw, ct)
        except Unconvertible:
            return []
        return [f"{where}: the copy rejects it ({code}), the verifier reads it"]
    out = []
    py = sqlite_field(raw, ct)
    in_sql = lite.execute(sql.SQL("SELECT {} FROM {} WHERE id = ?").format(
        sql.SQL(_sqlite_expr(ct)), sql.Identifier(table)).as_string(None), (i,)).fetchone()[0]
    if py != row[0]:
        out.append(f"{where}: Python reads {py!r}, PostgreSQL holds {row[0]!r}")
    if in_sql != row[0]:
        out.append(f"{where}: SQLite SQL reads {in_sql!r}, PostgreSQL holds {row[0]!r}")
    if pghash.AVAILABLE and raw is not None and pghash.value_hash(ct, raw) != row[1]:
        out.append(f"{where}: the C hash differs from PostgreSQL's")
    return out


def _sqlite_expr(ct: ColumnType) -> str:
    from migrations_ops.verify.canonical import sqlite_field_sql, sqlite_sql

    return sqlite_sql(sqlite_field_sql("v", ct))


def test_a_column_of_mixed_epoch_units_keeps_every_value(copied) -> None:
    """Seconds beside milliseconds: each number by its own magnitude in the copy and the verifier, never
    the whole column as milliseconds (1700000001 -> 1970-01-20, as both once agreed on)."""
    path, target, codes = copied
    lite = open_sqlite(str(path))
    [(_, ct)] = source_column_types(lite, "tzmix", [("v", ColumnType.from_pg("timestamptz", -1))])
    assert ct.epoch_unit == "mixed"
    with psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True) as pg:
        pg.execute("SET TimeZone = 'UTC'")
        got = [r[0].isoformat() for r in pg.execute("SELECT v FROM tzmix ORDER BY id")]
        days = [r[0].isoformat() for r in pg.execute("SELECT v FROM dmix ORDER BY id")]
    assert got == ["2023-11-14T22:13:21+00:00", "2023-11-14T22:13:21+00:00", "2023-11-14T22:13:22+00:00",
                   "2023-11-14T22:13:22.500000+00:00", "2023-11-14T22:13:23.500000+00:00", "1970-01-01T00:00:00+00:00"]
    assert days == ["2023-11-15", "2023-11-15", "2023-11-15"]
    assert not [k for k in codes if k[0] in ("tzmix", "dmix")]
