"""The C row codec sends exactly the bytes the Python converters send, or hands the row back to Python.

Two levels: value by value (every edge value of every kind the codec covers,
its field bytes against ``typemap.converter`` + psycopg's binary dumper), and
whole copies of the nasty billing file with the codec and with
``MOP_COPY_CODEC=python``, compared row for row with their rejects.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from pathlib import Path
from typing import Any

import psycopg
import pytest
from copy_helpers import pg, pg_exec
from psycopg import pq, sql
from psycopg.adapt import PyFormat, Transformer

from migrations_ops.copy import CopyOptions, compiled, copy_database, list_rejects
from migrations_ops.copy.options import ColumnPlan, RangeSpec
from migrations_ops.copy.typemap import BadUtf8, Reject, TargetType, converter

TEXTS: list[Any] = ["", "a", "日本語 🎉", "tab\there", "line\nbreak", "back\\slash", "\\N", "x" * 5000, "a\x00b",
                    BadUtf8(b"caf\xe9"), BadUtf8(b"\xed\xa0\x80"), BadUtf8(b"\xc0\xaf"), BadUtf8(b"\xf4\x90\x80\x80"),
                    42, 0.5, b"blob", b"\xff", None]
STAMPS: list[Any] = [
    "2024-03-01", "2024-03-01T10:00", "2024-03-01 10:00:00", "2024-03-01T10:00:00Z", "2024-03-01T10:00:00.5",
    "2024-03-01T10:00:00.123456Z", "2024-03-01T10:00:00.1234567", "2024-03-01T19:00:00+09:00",
    "2024-03-01T01:00:00-05:30", "2024-03-01T10:00:00+0900", "2024-03-01T10", "2024-02-29T00:00:00",
    "2023-02-29T00:00:00", "2024-04-31", "2024-03-01T24:00:00", "2024-03-01T10:60", "2024-03-01T10:00:60",
    "0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "0001-01-01T00:00:00+09:00", "1999-12-31T23:59:59.999999Z",
    "1969-07-20T20:17:40Z", "2024-03-01T10:00:00+24:00", "2024-03-01T10:00:00+23:59", "2024-03-01T10:00:00+09:60",
    "2024-03-01T10:00:00-24:00", "2024-03-01T10:00:00+99:99", " 2024-03-01", "2024-03-01 ", "2024-03-01X10:00", "2024-03-01t10:00:00z", "yesterday",
    "20240301", "2024-3-01", 0, 1709287200, -1, 253402300799, 253402300800, -62135596800, -62135596801,
    1709287200000, 1.5, "1709287200", b"\x00", None,
    99_999_999_999, 100_000_000_000, -99_999_999_999, -100_000_000_000, 253402300799999, 253402300800000,
    -62135596800000, -62135596800001,  # both sides of the milliseconds threshold and of each unit's range
]
JSONS: list[Any] = [
    '{"a": [1, "日本"]}', "12", "-0.5e-3", "true", "null", '"s"', "[]", "{}", '{"a":{"b":[{"c":null}]}}',
    '{"esc": "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83c\\udf89"}', '{"lone": "\\ud800"}', '{"lone": "\\udc00"}', '{"lone": "\\ud800\\u0041"}', '"\\ud83c"',
    '"\\ud83c\\udf89 \\uD83C\\uDF89"', '{"nul": "\\u0000"}',
    '{"a": 1', "", " 1", "1 ", "01", "1.", ".5", "-", "NaN", "Infinity", "-Infinity", "[1,]", '{"a" 1}',
    '{"a": "ctl\x01"}', "tru", "[1] x", "9" * 5000, '"\\x"', 12, 1.5, b"{}", BadUtf8(b'"\xff"'), None,
]
INTS: list[Any] = [0, 1, -1, 2**15 - 1, -(2**15), 2**15, 2**31 - 1, -(2**31), 2**31, 2**63 - 1, -(2**63), 3.0,
                   3.5, "7", " 8 ", "x", b"1", None]
FLOATS: list[Any] = [0.0, -0.0, 0.1, 1e308, 5e-324, float("inf"), float("-inf"), 16777217.0, 2**53, 2**53 + 1,
                     -(2**53), 7, "2.5e3", "x", b"", None]
BOOLS: list[Any] = [0, 1, 2, -1, 0.0, 1.0, "t", "f", "true", "FALSE", "1", "yes", b"\x01", None]
UUIDS: list[Any] = ["12345678-1234-5678-1234-567812345678", "ABCDEF01-ABCD-ABCD-ABCD-ABCDEF012345",
                    "{12345678-1234-5678-1234-567812345678}", "12345678123456781234567812345678", "nope",
                    "12345678-1234-5678-1234-56781234567g", b"0123456789abcdef", 5, None]
BYTEAS: list[Any] = [b"", b"\x00\x01\xff", "é", BadUtf8(b"\xff"), 5, 1.5, None]
NUMERICS: list[Any] = [  # every storage class; the codec must give psycopg's bytes or hand the value back
    0, 1, -1, 7, 9999, 10000, -10000, 123456789, 2**63 - 1, -(2**63), 10**18,
    0.0, -0.0, 0.1, -0.1, 19.99, 12.5, 1.005, 3.0, 100.0, 1e15, 1e16, 1.5e16, 123456789012345678.0, 0.0001, 1e-05,
    -2.5e-300, 1.7976931348623157e308, 5e-324, 2.0**52, 2.0**53, 2.0**70, 0.5, 2.0**-20, 2.0**-21, 1e22,
    float("inf"), float("-inf"),
    "0", "-0", "+0.00", "1.", ".5", "-.5e1", "1e5", "1E-5", "1e+2", " 7 ", "\t-3.25\n", "00012.3400", "0e10",
    "0.000", "12.50", "1.500", "1.505", "123.450000", "99999.99", "9999999999.99", "10000000000.00", "0.005",
    "1e16383", "1e-16383", "1e-16384", "1e131071", "1e131072", "1e999999999", "1e9999999999", "1" + "0" * 30 + ".000",
    "12345678901234567890123456789012345678901234567890.123456789", "9" * 1000, "9" * 1001, "0." + "0" * 2000 + "1",
    "NaN", "Infinity", "-Infinity", "nan", "inf", "1_000", "\u0661\u0662", "\u00a01", "1\x1c", "1\x00", "1.2.3", "",
    " ", "e5", "1e", "-", "+-1", "0x10", "1 2", BadUtf8(b"1\xff"), b"1", b"", None,
]
DATES: list[Any] = ["2024-03-01", "2024-02-30", "2024-03-01T00:00:00", "2024-03-01T10:00:00", "0001-01-01",
                    "9999-12-31", 0, None]

CASES = [
    (TargetType("text"), "s", TEXTS), (TargetType("varchar", length=3), "s", ["abc", "日本語", "abcd", "日本語x", None]),
    (TargetType("timestamptz"), "s", STAMPS), (TargetType("timestamptz"), "ms", STAMPS),
    (TargetType("timestamp"), "s", STAMPS), (TargetType("date"), "s", DATES),
    (TargetType("timestamptz"), "mixed", STAMPS), (TargetType("timestamp"), "mixed", STAMPS),
    (TargetType("timestamp"), "ms", STAMPS), (TargetType("date"), "mixed", DATES + [1709287200, 1709287200000]),
    (TargetType("jsonb"), "s", JSONS), (TargetType("json"), "s", JSONS),
    (TargetType("int2"), "s", INTS), (TargetType("int4"), "s", INTS), (TargetType("int8"), "s", INTS),
    (TargetType("float8"), "s", FLOATS), (TargetType("bool"), "s", BOOLS), (TargetType("uuid"), "s", UUIDS),
    (TargetType("bytea"), "s", BYTEAS), (TargetType("int4", not_null=True), "s", [1, None]),
    (TargetType("numeric"), "s", NUMERICS), (TargetType("numeric", precision=12, scale=2), "s", NUMERICS),
    (TargetType("numeric", precision=5, scale=0), "s", NUMERICS),
    (TargetType("numeric", precision=3, scale=3), "s", NUMERICS),
    (TargetType("numeric", precision=40, scale=10), "s", NUMERICS),
    (TargetType("numeric", precision=1000, scale=1000), "s", NUMERICS),
    (TargetType("numeric", precision=12, scale=2, not_null=True), "s", [19.99, None]),
]


def _store(path: Path, values: list[Any]) -> None:
    """One row per value, stored with the storage class a SQLite app would leave (invalid UTF-8 as TEXT)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")
    with conn:
        for i, v in enumerate(values, 1):
            if isinstance(v, BadUtf8):
                conn.execute("INSERT INTO t VALUES (?, CAST(? AS TEXT))", (i, bytes(v)))
            else:
                conn.execute("INSERT INTO t VALUES (?, ?)", (i, v))
    conn.close()


def _fields(data: bytes) -> list[bytes | None]:
    """The single field of each binary COPY tuple in ``data``."""
    out, i = [], 0
    while i < len(data):
        (n,) = struct.unpack_from(">h", data, i)
        assert n == 1
        (size,) = struct.unpack_from(">i", data, i + 2)
        i += 6
        out.append(None if size == -1 else data[i:i + size])
        i += max(size, 0)
    return out


def _python_bytes(target: TargetType, unit: str, v: Any, conn: psycopg.Connection) -> bytes | None:
    """What the Python path sends for ``v``; raises Reject when it rejects the value."""
    if v is None:
        if target.not_null:
            raise Reject("null_in_not_null")
        return None
    out = converter(target, epoch_unit=unit, notes=(notes := []))(v)
    if notes:
        raise Reject("replaced")
    if target.name in ("json", "jsonb"):
        out, name = (b"\x01" if target.name == "jsonb" else b"") + out.encode(), "bytea"
    else:
        name = target.name
    tx = Transformer(conn)
    tx.set_dumper_types([conn.adapters.types.get_oid(name)], pq.Format.BINARY)
    return bytes(tx.dump_sequence([out], [PyFormat.BINARY])[0])


def test_the_codec_is_built_here() -> None:
    assert compiled._rowcodec is not None, "scripts/lib.sh builds migrations_ops/copy/_rowcodec.c"
    assert compiled.available()


@pytest.mark.parametrize(("target", "unit", "values"), CASES,
                         ids=[f"{t.name}{t.length or ''}{f'({t.precision},{t.scale})' if t.precision else ''}"
                              f"{'-nn' if t.not_null else ''}-{u}" for t, u, _ in CASES])
def test_each_value_gets_the_python_bytes_or_goes_back_to_python(target, unit, values, tmp_path, target_db) -> None:
    path = tmp_path / "v.sqlite"
    _store(path, values)
    spec = RangeSpec("c", "t", "public", "t", "rowid", ("id",), (ColumnPlan("v", "v", target, unit),), 1, len(values))
    cols = compiled.range_specs(spec)
    assert cols is not None
    taken, slow_ids = [], set()
    for data, n, slow in compiled.read_range(path, spec, cols, chunk_rows=7):
        slow_ids |= {r[0] for r in slow}
        taken += _fields(data)
        assert n >= len(slow)
    fast_ids = [i for i in range(1, len(values) + 1) if i not in slow_ids]
    assert len(taken) == len(fast_ids)
    with pg(target_db) as conn:
        for i, got in zip(fast_ids, taken, strict=True):
            v = values[i - 1]
            try:
                want = _python_bytes(target, unit, v, conn)
            except Reject as r:
                pytest.fail(f"codec accepted {v!r} for {target}, Python rejects it: {r}")
            assert got == want, (target, unit, v)
    clean = [v for v in values if v is not None and not isinstance(v, BadUtf8)]
    assert len(fast_ids) >= min(2, len(clean)), f"the codec took too few values of {target}: {fast_ids}"


def test_slow_rows_come_back_as_read_batches_reads_them(tmp_path) -> None:
    path = tmp_path / "v.sqlite"
    _store(path, ["ok", "a\x00b", BadUtf8(b"caf\xe9"), 7, 1.5, b"\x00", None])
    spec = RangeSpec("c", "t", "public", "t", "rowid", ("id",),
                     (ColumnPlan("v", "v", TargetType("text", not_null=True)),), 1, 7)
    slow = [r for _, _, rows in compiled.read_range(path, spec, compiled.range_specs(spec), 100) for r in rows]
    assert slow == [(2, "a\x00b"), (3, BadUtf8(b"caf\xe9")), (4, 7), (5, 1.5), (6, b"\x00"), (7, None)]
    assert type(slow[1][1]) is BadUtf8


def _table_digest(target, table: str) -> str:
    with pg(target) as c:
        rows = c.execute(sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(sql.Identifier(table))).fetchall()
    return hashlib.md5("\n".join(r[0] for r in rows).encode()).hexdigest()


def test_a_whole_copy_is_the_same_with_and_without_the_codec(billing_sqlite, billing_target, monkeypatch) -> None:
    path, manifest = billing_sqlite
    results = {}
    for mode in ("c", "python"):
        monkeypatch.setenv("MOP_COPY_CODEC", mode)
        with pg(billing_target) as c:
            c.execute("TRUNCATE users, device_auth, credits, token_balances, token_pricing, transactions")
        copy_database(path, billing_target, CopyOptions(range_rows=900, batch_rows=150), copy_id=f"eq-{mode}")
        tables = ("users", "device_auth", "credits", "token_balances", "token_pricing", "transactions")
        rejects = sorted((r.table, r.key, r.column, r.code, r.value_hex) for r in list_rejects(billing_target, f"eq-{mode}"))
        results[mode] = ({t: _table_digest(billing_target, t) for t in tables}, rejects)
    assert results["c"] == results["python"]
    assert {(t, k, c, code) for t, k, c, code, _ in results["c"][1]} == set(manifest.rejects)


MUST_BE_FAST = [  # the clean forms a SQLite app leaves everywhere: the codec must take them, or it is slow for nothing
    (TargetType("jsonb"), "s", ['{"a": [1, "日本"]}', '"\\ud83c\\udf89"', '{"k": "\\u30a2"}', "12", "null"]),
    (TargetType("timestamptz"), "s", ["2024-03-01T10:00:00Z", "2024-03-01 10:00:00.123456", "2024-03-01",
                                      "2024-03-01T19:00:00+09:00", 1709287200]),
    (TargetType("timestamptz"), "ms", [1709287200000]),
    (TargetType("text"), "s", ["日本語 🎉", "", "line\nbreak"]), (TargetType("int8"), "s", [2**63 - 1]),
    (TargetType("float8"), "s", [0.1, 7]), (TargetType("bool"), "s", [0, 1]),
    (TargetType("numeric", precision=12, scale=2), "s", [19.99, 0.5, 16.0, 7, "12.50", " 3.1 ", -0.0, 1.0]),
    (TargetType("numeric"), "s", [0.1, 1e-05, 1e22, 2**63 - 1, "1e-300", "-12345678901234567890.5"]),
]


@pytest.mark.parametrize(("target", "unit", "values"), MUST_BE_FAST, ids=[f"{t.name}-{u}" for t, u, _ in MUST_BE_FAST])
def test_the_codec_takes_the_common_clean_values(target, unit, values, tmp_path) -> None:
    path = tmp_path / "v.sqlite"
    _store(path, values)
    spec = RangeSpec("c", "t", "public", "t", "rowid", ("id",), (ColumnPlan("v", "v", target, unit),), 1, len(values))
    chunks = list(compiled.read_range(path, spec, compiled.range_specs(spec), chunk_rows=100))
    assert [r for _, _, slow in chunks for r in slow] == []
    assert len(_fields(b"".join(d for d, _, _ in chunks))) == len(values)


def test_the_helpers_pass_their_doctests() -> None:
    import doctest

    from migrations_ops.copy import restore

    assert doctest.testmod(restore).failed == 0


def _mutants(seeds: list[str], rng, n: int) -> list[str]:
    """Random edits (insert, delete, replace) of valid values, with the characters their grammars turn on."""
    alphabet = '0123456789-:T Z+.eE{}[]",\\u/tfnrabx\x00\x01\x7f日🎉\t٣\xa0_'
    out = []
    for _ in range(n):
        s = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(s) + 1)
            op = rng.random()
            if op < 0.4:
                s.insert(i, rng.choice(alphabet))
            elif op < 0.7 and s:
                del s[min(i, len(s) - 1)]
            elif s:
                s[min(i, len(s) - 1)] = rng.choice(alphabet)
        out.append("".join(s))
    return out


FUZZ = [
    (TargetType("timestamptz"), ["2024-03-01T10:00:00Z", "2024-02-29 23:59:59.999999+09:00", "1999-12-31", "0001-01-01T00:00"]),
    (TargetType("timestamp"), ["2024-03-01T10:00:00-05:30", "9999-12-31T23:59:59Z", "0001-01-01T00:30+01:00"]),
    (TargetType("date"), ["2024-02-29", "0001-01-01", "9999-12-31"]),
    (TargetType("jsonb"), ['{"a": [1, -2.5e-3, true, null], "b": {"c": "\\u00e9\\ud83c\\udf89"}}', '[0, "x\\\\y", {}]']),
    (TargetType("json"), ['{"a": [1, 2e10], "k": "v\\"w"}', '"\\u0000"']),
    (TargetType("uuid"), ["12345678-1234-5678-1234-567812345678"]),
    (TargetType("varchar", length=5), ["abcde", "日本語🎉"]),
    (TargetType("numeric", precision=12, scale=2), ["19.99", "-0.5", "+100", "1.50e1", " 7.25 "]),
    (TargetType("numeric"), ["123456789.000123", "-1e-7", ".5E+3", "0.00"]),
]


@pytest.mark.parametrize(("target", "seeds"), FUZZ,
                         ids=[f"{t.name}{t.length or ''}{f'({t.precision},{t.scale})' if t.precision else ''}"
                              for t, _ in FUZZ])
def test_the_codec_is_never_looser_than_python_on_random_edits(target, seeds, tmp_path, target_db) -> None:
    import random

    rng = random.Random(f"codec-{target.name}")  # fixed: a failure reproduces
    values = seeds + _mutants(seeds, rng, 1500)
    path = tmp_path / "fuzz.sqlite"
    _store(path, values)
    spec = RangeSpec("c", "t", "public", "t", "rowid", ("id",), (ColumnPlan("v", "v", target, "s"),), 1, len(values))
    slow_ids, taken = set(), []
    for data, _, slow in compiled.read_range(path, spec, compiled.range_specs(spec), chunk_rows=500):
        slow_ids |= {r[0] for r in slow}
        taken += _fields(data)
    fast_ids = [i for i in range(1, len(values) + 1) if i not in slow_ids]
    assert len(fast_ids) > len(seeds), "the codec took no edited value at all: the test would prove nothing"
    with pg(target_db) as conn:
        for i, got in zip(fast_ids, taken, strict=True):
            try:
                want = _python_bytes(target, "s", values[i - 1], conn)
            except Reject as r:
                pytest.fail(f"codec accepted {values[i - 1]!r} for {target}, Python rejects it: {r}")
            assert got == want, (target, values[i - 1])


def _doubles() -> list[float]:
    """REALs as apps leave them (prices, whole numbers) and random bit patterns over the whole double range."""
    import math
    import random

    rng = random.Random("codec-doubles")
    out = [round(rng.uniform(0.5, 500), 2) for _ in range(4000)] + [float(i) for i in range(-300, 300)]
    out += [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(12000)]
    out += [2.0**k for k in range(-1074, 1024)] + [-(2.0**k) for k in range(-30, 60)]
    out += [10.0**k for k in range(-30, 30)] + [math.nextafter(2.0**k, 0) for k in range(-30, 60)]
    # amounts at every scale the fast path takes, their neighbours (which it must not), and 15/16/17 digits
    scaled = [round(rng.uniform(-1e9, 1e9), k) for k in range(0, 16) for _ in range(200)]
    out += scaled + [math.nextafter(x, math.inf) for x in scaled[::7]] + [rng.uniform(-1, 1) for _ in range(500)]
    out += [1.005, 0.1 + 0.2, 123456789012345.6, 999999999999999.9, 0.000123, 1e15, 1e15 - 1, 4503599627370497.0]
    return [x for x in out if not math.isnan(x)]  # SQLite stores NaN as NULL


def test_reals_into_numeric_are_repr_exact(tmp_path, target_db) -> None:
    """REAL -> Decimal(repr(v)) in C: the shortest decimal that reads back, in repr's form, byte for byte."""
    import math

    values = _doubles()
    path = tmp_path / "d.sqlite"
    _store(path, values)
    for target in (TargetType("numeric"), TargetType("numeric", precision=12, scale=2),
                   TargetType("numeric", precision=30, scale=6), TargetType("numeric", precision=38, scale=15)):
        spec = RangeSpec("c", "t", "public", "t", "rowid", ("id",), (ColumnPlan("v", "v", target, "s"),), 1,
                         len(values))
        slow_ids, taken = set(), []
        for data, _, slow in compiled.read_range(path, spec, compiled.range_specs(spec), chunk_rows=5000):
            slow_ids |= {r[0] for r in slow}
            taken += _fields(data)
        fast_ids = [i for i in range(1, len(values) + 1) if i not in slow_ids]
        with pg(target_db) as conn:
            for i, got in zip(fast_ids, taken, strict=True):
                try:
                    want = _python_bytes(target, "s", values[i - 1], conn)
                except Reject as r:
                    pytest.fail(f"codec accepted {values[i - 1]!r} for {target}, Python rejects it: {r}")
                assert got == want, (target, values[i - 1])
        prices = set(range(1, 4601))  # the rounded prices and whole numbers: all in the codec
        assert not prices & slow_ids, [values[i - 1] for i in sorted(prices & slow_ids)][:10]
        if target.precision is None:  # unconstrained: only the far powers of two and infinities go back
            for i in slow_ids:
                v = abs(values[i - 1])
                assert math.isinf(v) or (math.frexp(v)[0] == 0.5 and not 2.0**-20 <= v <= 2.0**52), values[i - 1]


NUMERIC_DDL = """
CREATE TABLE prices (id INTEGER PRIMARY KEY, price REAL, amount, qty NUMERIC, cents, tag TEXT);
"""
NUMERIC_TARGET = """
CREATE TABLE prices (id bigint PRIMARY KEY, price numeric(12,2) NOT NULL, amount numeric, qty numeric(5,0),
                     cents numeric(12,2), tag text);
"""


def test_a_numeric_copy_is_the_same_with_and_without_the_codec(make_sqlite, target_db, monkeypatch) -> None:
    """Whole copies, codec and ``MOP_COPY_CODEC=python``: same rows, same rejects with the same reasons."""
    import random

    rng = random.Random("codec-numeric-copy")
    pool = [v for v in NUMERICS if not isinstance(v, BadUtf8)] + _doubles()[:3000]
    rows = [(i, rng.choice(pool), rng.choice(pool), rng.choice(pool), rng.choice(pool), f"t{i}") for i in range(1, 6001)]
    # more digits than decimal's 28-digit context, with decimals beyond the scale: a reject, not an error
    rows.append((6001, 1.5, "1" * 40 + ".5", 7, "111489364390084745378383064003.614", "long"))  # cents: no affinity
    path = make_sqlite(NUMERIC_DDL, {"prices": rows})
    pg_exec(target_db, NUMERIC_TARGET)
    results = {}
    for mode in ("c", "python"):
        monkeypatch.setenv("MOP_COPY_CODEC", mode)
        pg_exec(target_db, "TRUNCATE prices")
        summary = copy_database(path, target_db, CopyOptions(range_rows=1000, batch_rows=300), copy_id=f"num-{mode}")
        rejects = sorted((r.table, r.key, r.column, r.code, r.value_hex) for r in list_rejects(target_db, f"num-{mode}"))
        results[mode] = (_table_digest(target_db, "prices"), rejects, summary.rows_rejected)
    assert results["c"] == results["python"]
    assert 0 < results["c"][2] < 6000, "the file must hold both clean rows and rejects"
    assert [r[2:4] for r in results["c"][1] if r[1] == "6001"] == [("cents", "numeric_rounding")], [r for r in results["c"][1] if "6001" in str(r[1])]
