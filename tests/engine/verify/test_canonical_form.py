"""The canonical form is the same whichever side prints it: PostgreSQL's SQL, Python on the typed
value psycopg returns, SQLite's SQL, and Python on SQLite's raw value."""

from __future__ import annotations

import functools
import json
import random
import sqlite3
import struct
from decimal import Decimal

import pytest
from psycopg import sql
from psycopg.types.json import set_json_loads
from verify_dataset import pg_connect

from migrations_ops.verify.canonical import (
    JSON_NULL,
    ColumnType,
    canonical,
    field,
    pg_field,
    pg_float_text,
    pg_text,
    sqlite_field,
    sqlite_field_sql,
    sqlite_sql,
    unfield,
)
from migrations_ops.verify.checksum import open_sqlite
from migrations_ops.verify.schema import open_session

# (target type, raw SQLite value, the same value as PostgreSQL input text or None to reuse the raw text)
NASTY = [
    ("text", "日本語のテキスト", None), ("text", "🎉👍🏽 emoji", None), ("text", "", None),
    ("text", "tab\t nl\n quote ' \" back\\slash", None), ("text", "N", None), ("text", "1:x|y", None),
    ("text", None, None),
    ("boolean", 1, "true"), ("boolean", 0, "false"), ("boolean", "true", None), ("boolean", "f", None),
    ("boolean", None, None),
    ("bigint", 9223372036854775807, "9223372036854775807"), ("bigint", -1, "-1"), ("integer", 3.0, "3"),
    ("double precision", 0.1, "0.1"), ("double precision", 16777217.0, "16777217"),
    ("double precision", 1e20, "1e20"), ("double precision", 1e15, "1e15"), ("double precision", 1e-5, "1e-5"),
    ("double precision", 0.0001, "0.0001"), ("double precision", 1 / 3, "0.3333333333333333"),
    ("double precision", 5e-324, "5e-324"), ("double precision", 1.7976931348623157e308, "1.7976931348623157e308"),
    ("double precision", 123456789012345.6, "123456789012345.6"), ("double precision", -2.5, "-2.5"),
    ("double precision", float("inf"), "Infinity"), ("double precision", 7, "7"),
    ("real", 0.1, "0.1"), ("real", 16777217.0, "16777217"),
    ("numeric(12,2)", 12.5, "12.5"), ("numeric(12,2)", 0.125, "0.125"), ("numeric(12,2)", 7, "7"),
    ("numeric(12,2)", "100.10", None), ("numeric", "1.50", None), ("numeric", 100, "100"),
    ("numeric", 0.1, "0.1"),
    ("timestamptz", "2024-01-01T00:00:00Z", None), ("timestamptz", "2024-01-01 09:00:00+09:00", None),
    ("timestamptz", "2024-01-01 00:00:00", "2024-01-01 00:00:00+00"), ("timestamptz", "2024-02-29", "2024-02-29Z"),
    ("timestamptz", 1704067200, "2024-01-01 00:00:00Z"), ("timestamptz", 1704067200123, "2024-01-01 00:00:00.123Z"),
    ("timestamptz", "2024-01-01T00:00:00.000001Z", None), ("timestamptz", "2024-06-01 00:00:00.5-03:30", None),
    ("timestamptz", "2024-06-01T12:00:00.123456", "2024-06-01T12:00:00.123456Z"),
    ("timestamp", "2024-01-01 12:34:56", None), ("timestamp", "2024-01-01T12:34:56.123456", None),
    ("date", "2024-02-29", None), ("time", "12:34:56.5", None),
    ("jsonb", '{"b":1,"a":2}', '{"a": 2, "b": 1}'), ("jsonb", '{"日本":{"z":[1,2.50,1e2]},"aa":true,"a":null}', None),
    ("jsonb", '{"s":"caf\\u00e9 \\n \\u0001 \\" /","a":{"b":"c","a":"d"}}', None), ("jsonb", "[]", None),
    ("jsonb", "null", None), ("jsonb", "1.0", None), ("json", '{"b": 1, "a": 2, "b": 3}', None),
    ("bytea", b"\x00\xff", "\\x00ff"), ("bytea", b"", "\\x"), ("bytea", None, None),
    ("uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
]


def column_type(conn, pg_type: str) -> ColumnType:
    row = conn.execute("SELECT t.typname, %s::regtype::oid, format_type(t.oid, NULL) FROM pg_type t "
                       "WHERE t.oid = %s::regtype", (pg_type, pg_type)).fetchone()
    typmod = 0
    if "(" in pg_type:
        p, s = pg_type[pg_type.index("(") + 1:-1].split(",")
        typmod = ((int(p) << 16) | int(s)) + 4
    return ColumnType.from_pg(row[0], typmod if typmod else -1)


@pytest.fixture
def pg(target_db):
    with pg_connect(target_db) as conn:
        open_session(conn, 10_000, 1_000)
        # canonical() reads JSON numbers as Decimal: a float would lose the literal's scale (2.50)
        set_json_loads(functools.partial(json.loads, parse_float=Decimal), conn)
        yield conn


@pytest.fixture
def lite(tmp_path):
    path = tmp_path / "v.sqlite"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE v (i INTEGER PRIMARY KEY, t_text TEXT, t_int INTEGER, t_real REAL, t_num NUMERIC, "
                  "t_blob BLOB)")
    conn = open_sqlite(str(path))
    yield path, conn
    conn.close()


SQLITE_COLUMN = {"text": "t_text", "boolean": "t_int", "bigint": "t_int", "integer": "t_int",
                 "double precision": "t_real", "real": "t_real", "numeric(12,2)": "t_num", "numeric": "t_num",
                 "bytea": "t_blob"}


@pytest.mark.parametrize(("pg_type", "raw", "pg_input"), NASTY, ids=[f"{t}-{r!r}"[:40] for t, r, _ in NASTY])
def test_it_prints_every_nasty_value_the_same_on_both_sides(pg, lite, pg_type, raw, pg_input):
    ct = column_type(pg, pg_type)
    literal = pg_input if pg_input is not None else (raw if not isinstance(raw, bytes) else None)
    src = sql.SQL("(SELECT CAST(%s AS {}) AS v) AS s").format(sql.SQL(pg_type))  # constant type names
    v = sql.Identifier("v")
    pg_sql_text, typed, field_sql = pg.execute(sql.SQL("SELECT {}, v, {} FROM {}").format(
        pg_text(v, ct), pg_field(v, ct), src), (literal,)).fetchone()
    path, conn = lite
    col = SQLITE_COLUMN.get(pg_type, "t_text")
    with sqlite3.connect(path) as w:
        w.execute(f"INSERT INTO v (i, {col}) VALUES (1, ?)", (raw,))  # noqa: S608 (constant column names)
    lite_field = conn.execute(sqlite_sql(sql.SQL("SELECT {} FROM v").format(
        sqlite_field_sql(col, ct)))).fetchone()[0]
    stored = conn.execute(f"SELECT {col} FROM v").fetchone()[0]  # noqa: S608
    if not (ct.kind == "json" and typed is None):  # JSON null comes back as None, like SQL NULL
        assert canonical(typed, ct) == pg_sql_text
    assert unfield(field_sql) == pg_sql_text
    assert unfield(lite_field) == pg_sql_text, (stored, lite_field)
    assert unfield(sqlite_field(stored, ct)) == pg_sql_text


def test_it_prints_random_floats_as_postgresql_does(pg):
    rnd = random.Random(4)
    values = [struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0] for _ in range(20000)]
    values += [rnd.uniform(-1e6, 1e6) for _ in range(1000)] + [10.0 ** e for e in range(-20, 25)]
    values = [v for v in values if v == v]
    got = pg.execute("SELECT array_agg(x::text ORDER BY i) FROM unnest(%s::float8[]) WITH ORDINALITY AS u(x, i)",
                     (values,)).fetchone()[0]
    assert [pg_float_text(v) for v in values] == got


def test_it_agrees_with_the_copy_engines_conversions():
    """Where the copy accepts a nasty value, what it sends prints as the verifier's own reading of the
    raw value (the verifier keeps its own adapter so a conversion bug cannot hide itself)."""
    typemap = pytest.importorskip("migrations_ops.copy.typemap")
    names = {"text": ("text", -1), "boolean": ("bool", -1), "bigint": ("int8", -1), "integer": ("int4", -1),
             "double precision": ("float8", -1), "real": ("float4", -1), "numeric(12,2)": ("numeric", (12 << 16 | 2) + 4),
             "numeric": ("numeric", -1), "timestamptz": ("timestamptz", -1), "timestamp": ("timestamp", -1),
             "date": ("date", -1), "jsonb": ("jsonb", -1), "json": ("json", -1), "bytea": ("bytea", -1),
             "uuid": ("uuid", -1)}
    compared = 0
    for pg_type, raw, _ in NASTY:
        if raw is None or pg_type not in names:
            continue
        ct = ColumnType.from_pg(*names[pg_type])
        unit = "ms" if isinstance(raw, int) and raw >= typemap.MS_THRESHOLD else "s"
        conv = typemap.converter(typemap.TargetType.from_typmod(*names[pg_type]), epoch_unit=unit, notes=[])
        try:
            sent = conv(raw)
        except typemap.Reject:
            continue  # the copy rejects the row: the verifier reports it missing
        if ct.kind == "json":
            sent = json.loads(sent, parse_float=Decimal)
            sent = JSON_NULL if sent is None else sent
        assert field(canonical(sent, ct), ct) == sqlite_field(raw, ct), (pg_type, raw, sent)
        compared += 1
    assert compared > 40


def test_it_prints_random_doubles_in_sqlite_sql_as_in_python():
    """The SQL fast paths (``%.15g`` for float, ``%.2f`` for numeric(12,2)) print what the Python rules
    print (themselves checked against PostgreSQL above), and leave the rest to Python."""
    rnd = random.Random(7)
    values = [struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0] for _ in range(5000)]
    values += [rnd.uniform(-1e6, 1e6) for _ in range(5000)] + [round(rnd.uniform(-1e9, 1e9), 2) for _ in range(5000)]
    values += [i * 0.1 for i in range(2000)] + [0.0, -0.0, 0.125, 1e-300, 5e-324, 1e15, 1e20]
    values = [v for v in values if v == v]
    conn = open_sqlite(":memory:")
    float_ct, num_ct = ColumnType("float"), ColumnType("numeric", 2)
    stmt = sql.SQL("SELECT {}, {} FROM (SELECT ? AS v)").format(sqlite_field_sql("v", float_ct),
                                                                 sqlite_field_sql("v", num_ct))
    for v in values:
        got = conn.execute(sqlite_sql(stmt), (v,)).fetchone()
        assert got == (sqlite_field(v, float_ct), sqlite_field(v, num_ct)), v
