"""The per-type hash checksum: for every kind, PostgreSQL's own ``*_hash_extended`` of the target value
(through ``pghash.pg_hash``, the SQL the checksum runs) equals what the C extension computes from the raw
SQLite value that ``canonical.py`` reads as that value; and verification stays right around it."""

from __future__ import annotations

import json
import random
import sqlite3
import struct
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from psycopg import sql
from verify_dataset import pg_connect

from migrations_ops.verify import VerifyOptions, pghash, verify
from migrations_ops.verify.bisect import BisectOptions, diff_table
from migrations_ops.verify.canonical import ColumnType, Unconvertible, adapt_sqlite, canonical
from migrations_ops.verify.checksum import PgSide, SqliteSide, Summary, open_sqlite
from migrations_ops.verify.schema import open_session


def test_the_extension_is_built_in_the_test_environment():
    """CI builds it (``pip install -e .``); without it every table falls back to the md5 text checksum."""
    from migrations_ops.verify import _pghash  # noqa: F401

    assert pghash.AVAILABLE


@pytest.fixture
def pg(target_db):
    with pg_connect(target_db) as conn:
        open_session(conn, 30_000, 1_000)
        yield conn


CATALOG = {"bigint": ("int8", -1), "integer": ("int4", -1), "smallint": ("int2", -1), "boolean": ("bool", -1),
           "double precision": ("float8", -1), "real": ("float4", -1),
           "numeric(12,2)": ("numeric", (12 << 16 | 2) + 4), "numeric": ("numeric", -1), "text": ("text", -1),
           "varchar": ("varchar", -1), "bytea": ("bytea", -1), "timestamptz": ("timestamptz", -1),
           "timestamp": ("timestamp", -1), "date": ("date", -1), "jsonb": ("jsonb", -1), "json": ("json", -1),
           "uuid": ("uuid", -1)}
"""Each type as the catalog names it (``pg_type.typname``, ``atttypmod``)."""


def column_type(pg_type: str) -> ColumnType:
    return ColumnType.from_pg(*CATALOG[pg_type])


def pg_input(ct: ColumnType, raw: object) -> str:
    """The target value of a correct copy: the canonical text of the raw value (checked against PostgreSQL's
    own output in test_canonical_form), as PostgreSQL input."""
    text = canonical(adapt_sqlite(raw, ct), ct)
    assert text is not None
    return "\\x" + text if ct.kind == "bytea" else text


def assert_same_hashes(pg, pg_type: str, raws: list[object], pg_texts: list[str] | None = None) -> None:
    """PostgreSQL's hash of each value (as column i, seeds vary) == the C extension's hash of the raw value."""
    ct = column_type(pg_type)
    texts = pg_texts if pg_texts is not None else [pg_input(ct, r) for r in raws]
    typname = CATALOG[pg_type][0]
    for i, hints in ((0, ()), (3, ()), (0, (typname, True)), (3, (typname, True))):
        # the kind's own form, and the column's: its type's own hash function, no NULL branch (NOT NULL)
        expr = pghash.pg_hash(sql.SQL("CAST(x AS {})").format(sql.SQL(pg_type)), ct, i, *hints)  # constant type names
        got = pg.execute(sql.SQL("SELECT array_agg({} ORDER BY n) FROM unnest(%s::text[]) WITH ORDINALITY AS u(x, n)"
                                 ).format(expr), (texts,)).fetchone()[0]
        mine = [pghash.value_hash(ct, r, i) for r in raws]
        bad = [(r, t, g, m) for r, t, g, m in zip(raws, texts, got, mine, strict=True) if g != m]
        assert not bad, bad[:5]


RND = random.Random(20261124)
INT64 = [0, 1, -1, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1, 2**32, -(2**32), 2**63 - 1, -(2**63), 4242]


def test_integers(pg):
    raws = INT64 + [RND.getrandbits(64) - 2**63 for _ in range(400)] + [RND.randint(-(2**31), 2**31) for _ in range(200)]
    assert_same_hashes(pg, "bigint", raws + [3.0, -7.0, "42", "-7", "007", " 5 ", "+8", 1e18])
    assert_same_hashes(pg, "integer", [0, 1, -1, 2**31 - 1, -(2**31), 77, -5.0])
    assert_same_hashes(pg, "smallint", [0, 1, -1, 32767, -32768])


def test_booleans(pg):
    assert_same_hashes(pg, "boolean", [0, 1, 0.0, 1.0, "true", "f", "TRUE", " 1 "])
    for word in ("yes", "OFF", "on", "n"):  # the copy rejects them (not_boolean): so does the verifier's reading
        with pytest.raises(Unconvertible, match="not_boolean"):
            adapt_sqlite(word, column_type("boolean"))


def test_doubles(pg):
    bits = [struct.unpack("d", struct.pack("Q", RND.getrandbits(64)))[0] for _ in range(2000)]
    raws = [x for x in bits if x == x] + [RND.uniform(-1e6, 1e6) for _ in range(300)] + [i * 0.1 for i in range(300)]
    raws += [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 5e-324, -5e-324, 1.7976931348623157e308, 2.5,
             16777217.0, 1e15, 1e-7, 7, -3, 2**53, "1.5", "-0", "1e300", " 2.5"]
    assert_same_hashes(pg, "double precision", raws)


def test_reals(pg):
    singles = [struct.unpack("f", struct.pack("I", RND.getrandbits(32)))[0] for _ in range(1000)]
    raws = [x for x in singles if x == x] + [0.1, 16777217.0, -0.0, 3.4028234663852886e38, 1e-45, 7, "0.1"]
    assert_same_hashes(pg, "real", raws)


def test_numerics_at_a_scale(pg):
    raws: list[object] = [round(RND.uniform(-1e9, 1e9), 2) for _ in range(500)] + [i / 100 for i in range(-300, 300)]
    raws += [12.5, 0.125, 0.005, -0.005, 7, -42, 0, 0.0, -0.0, 16777217.0, 999999999.99, 1e-9,
             "100.10", "0.125", "-1.5", "0", "-0.00", "12", "1e2", " 3.14 ", "NaN"]
    assert_same_hashes(pg, "numeric(12,2)", raws)


def test_numerics_unconstrained(pg):
    raws: list[object] = [RND.uniform(-1e6, 1e6) for _ in range(300)] + [i * 0.1 for i in range(200)]
    raws += [1.5, 100, -100, 0.1, 1e20, 1e-20, 123456789012345.6, 2**63 - 1, -(2**63), 0, -0.0, 1e300,
             "1.500", "-0.0001000", "100000000000000000000", "12345678901234567890.123456789", "1E+2", "-1.5e-3",
             "0.00000000000000000000000000000000000000000000000000000000000000000000000001", "NaN", "-Infinity"]
    assert_same_hashes(pg, "numeric", raws)


TEXTS = ["", "a", "日本語のテキスト", "🎉👍🏽 emoji", "tab\t nl\n quote ' \" back\\slash", "x" * 1000, "Ω" * 333,
         "mixed 名前 and ascii " * 7, "12 bytes ok!", "eleven char", "thirteen char"]


def test_texts(pg):
    raws: list[object] = TEXTS + [t.encode() for t in TEXTS] + [42, -7, 2.5, 1e20]
    assert_same_hashes(pg, "text", raws)
    assert_same_hashes(pg, "varchar", TEXTS)


def test_byteas(pg):
    raws: list[object] = [b"", b"\x00", b"\x00\xff", bytes(range(256)), RND.randbytes(1000), "text as bytes", "日本"]
    assert_same_hashes(pg, "bytea", raws)


TIMESTAMPS = [
    "2024-01-01T00:00:00Z", "2024-01-01 09:00:00+09:00", "2024-06-01 00:00:00.5-03:30", "2024-01-01 00:00:00",
    "2024-02-29", "2024-01-01T00:00:00.000001Z", "2024-06-01T12:00:00.123456", "1999-12-31T23:59:59.999999Z",
    "1969-07-20 20:17:40Z", "1900-01-01 00:00:00+01", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
    "2000-01-01T00:00:00Z", "1970-01-01T00:00:00.1Z", "2024-01-01T00:00:00.12", "2024-01-01T00:00:00+0530",
    "2024-01-01T10:00", "2024-01-01T00:00:00,5", "20240101T000000", "2024-01-01T00:00:00.1234567Z",
    1704067200, -1, 0, 1700000000123, 1704067200.5, "1709294400", "1709294400.25", " 2024-01-01T00:00:00Z ",
]


def test_timestamps(pg):
    raws = TIMESTAMPS + [RND.randint(-2_000_000_000, 4_000_000_000) for _ in range(300)]
    assert_same_hashes(pg, "timestamptz", raws)
    assert_same_hashes(pg, "timestamp", raws)
    hand = ["2024-01-01 00:00:00+00", "2023-12-31 23:00:00-01", "1969-07-20 20:17:40.5+00"]
    assert_same_hashes(pg, "timestamptz", ["2024-01-01T09:00:00+09:00", "2024-01-01T00:00:00Z",
                                           "1969-07-20T20:17:40.5Z"], hand)


def test_dates(pg):
    raws: list[object] = ["2024-02-29", "1999-12-31", "2000-01-01", "0001-01-01", "9999-12-31", "1969-07-20",
                          "2024-01-01T00:00:00", 1704067200, -86400, "2024-W01-1"]
    assert_same_hashes(pg, "date", raws)


JSONS = [
    '{"b":1,"a":2}', '{"日本":{"z":[1,2.50,1e2]},"aa":true,"a":null}', '{"b": 1, "a": 2, "b": 3}',
    '{"s":"caf\\u00e9 \\n \\u0001 \\" \\/ \\\\ \\t \\b \\f \\r","a":{"b":"c","a":"d"}}', "[]", "{}", "null", "1.0",
    "1", "1e2", "1E-3", "-0", "-0.0", "0.00", "0e5", "1.5e300", "-12.340e-2", "123456789012345678901234567890",
    '"just a string é"', '"emoji \\ud83c\\udf89 pair"', "true", "false", ' \n {"a" : [ 1 , 2 ] } \t',
    '[[1],2]', '[[1,2]]', '[1]', '{"é":1,"ab":2,"b":3,"":4}', '{"k":{"k":{"k":{"k":[{"k":"deep"}]}}}}',
    json.dumps({f"k{i}": i for i in random.Random(3).sample(range(40), 40)}), '{"a":1,"a":{"x":1},"a":[3]}',
    '{"x":"\\u65e5\\u672c"}', '"\\u0000"', '"\\ud800"', "NaN", '{"a":Infinity}', "[1,]", "01", '{"a" 1}',
    '"raw\ttab"', "1.", '{"dup":1,"dup":2,"DUP":3}',
]


def random_json(rnd: random.Random, depth: int = 0) -> object:
    pick = rnd.randrange(9 if depth < 4 else 6)
    if pick == 0:
        return rnd.randint(-(10**12), 10**12)
    if pick == 1:
        return f"__D{rnd.uniform(-1e6, 1e6):.{rnd.randrange(0, 5)}f}e{rnd.randrange(-3, 4)}__"  # a literal, see below
    if pick == 2:
        return "".join(rnd.choice("aé日🎉\n\"\\ x") for _ in range(rnd.randrange(0, 8)))
    if pick == 3:
        return rnd.choice([True, False, None])
    if pick in (4, 5):
        return rnd.choice(["", "k", "key", "日本"])
    if pick in (6, 7):
        return {rnd.choice(["a", "b", "aa", "é", "key", "日本", "k2"]): random_json(rnd, depth + 1)
                for _ in range(rnd.randrange(0, 6))}
    return [random_json(rnd, depth + 1) for _ in range(rnd.randrange(0, 5))]


def test_json_documents(pg):
    rnd = random.Random(11)
    docs = [json.dumps(random_json(rnd), ensure_ascii=rnd.random() < 0.5,
                       separators=rnd.choice([(",", ":"), (", ", ": ")])).replace('"__D', "").replace('__"', "")
            for _ in range(400)]
    raws: list[object] = [d for d in JSONS + docs if _json_ok(d)]
    assert len(raws) > 420
    assert_same_hashes(pg, "jsonb", raws)
    assert_same_hashes(pg, "json", raws[:50])
    from migrations_ops.verify import _pghash
    printed = [(d, _pghash.json_text(d)) for d in raws]
    assert sum(t is not None for _, t in printed) > 400  # the C printer, not Python, did most of them
    assert all(t is None or t == pg_input(ColumnType("json"), d) for d, t in printed)
    # hand-written jsonb texts: the order, the numbers' literal scale, the last duplicate
    assert_same_hashes(pg, "jsonb", ['{"b":1.50,"a":1e2,"b":[1.0]}', "[1, 1.0, 1.00, 10e-1]"],
                       ['{"a": 100, "b": [1.0]}', "[1, 1.0, 1.00, 1.0]"])


def _json_ok(doc: str) -> bool:
    """Only documents jsonb can hold (the others are compared as poisoned below)."""
    try:
        pg_input(ColumnType("json"), doc)
    except (AssertionError, ValueError):
        return False
    return not any(bad in doc for bad in ("NaN", "Infinity", "\\u0000", "\\ud800\""))


def test_uuids(pg):
    raws: list[object] = [str(uuid.UUID(int=RND.getrandbits(128))) for _ in range(100)]
    raws += ["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
             "a0eebc999c0b4ef8bb6d6bb9bd380a11", uuid.UUID(int=5).bytes]
    assert_same_hashes(pg, "uuid", raws)


def test_values_no_target_can_hold_poison_their_row():
    """None: the range's figure is None, it always differs, and bisection compares its rows."""
    for ct, raw in [(ColumnType("int"), "abc"), (ColumnType("int"), 1.5), (ColumnType("int"), 2**70 * 1.0),
                    (ColumnType("bool"), 2), (ColumnType("timestamptz"), "yesterday"),
                    (ColumnType("timestamptz"), "0001-01-01T00:00:00+01:00"), (ColumnType("uuid"), "nope"),
                    (ColumnType("numeric", 2), 1e300), (ColumnType("date"), "2023-02-29"),
                    (ColumnType("json"), "{not json")]:
        assert pghash.value_hash(ct, raw) is None, (ct, raw)
    for doc in ("[1,]", "01", '{"a" 1}', '"raw\ttab"', "1.", '"\\ud800"'):
        assert pghash.value_hash(ColumnType("json"), doc) is None, doc
    assert pghash.value_hash(ColumnType("json"), "NaN") is None  # the copy rejects it (invalid_json): so does this


def test_text_that_is_not_utf8_poisons_its_row(tmp_path):
    path = tmp_path / "bad.sqlite"
    with sqlite3.connect(path) as w:
        w.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, s TEXT)")
        w.execute("INSERT INTO t VALUES (1, CAST(x'636166e9' AS TEXT)), (2, 'café')")
    got = pghash.sqlite_row_hashes(str(path), "SELECT i, s FROM t ORDER BY i", [],
                                   [("i", ColumnType("int")), ("s", ColumnType("text"))])
    assert got[0] is None and isinstance(got[1], int)


def test_the_native_pass_stops_when_asked(tmp_path):
    path = tmp_path / "many.sqlite"
    with sqlite3.connect(path) as w:
        w.execute("CREATE TABLE t (i INTEGER PRIMARY KEY)")
        w.execute("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 200000) "
                  "INSERT INTO t SELECT i FROM s")
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        pghash.sqlite_summary(str(path), "SELECT i FROM t", [], [("i", ColumnType("int"))], stop=lambda: True)
    assert pghash.sqlite_summary(str(path), "SELECT i FROM t", [], [("i", ColumnType("int"))])[0] == 200_000


def test_a_clean_billing_copy_matches_by_the_per_type_hash_with_nothing_to_settle(billing):
    """The nasty values (ms epochs, offsets, REAL in numeric, JSON key order) hash alike on both sides:
    no range needs the row-by-row comparison."""
    target, src = billing
    report = verify(target, src)
    checks = [f for f in report.all_findings() if f.check == "checksum"]
    assert {f.table for f in checks} == {"users", "invoices", "invoice_lines", "line_notes"}
    for f in checks:
        assert (f.status, f.figures["method"], f.figures["settled_ranges"]) == ("pass", "pghash", 0), f
    md5 = verify(target, src, options=VerifyOptions(native_hash=False))
    assert {f.figures["method"] for f in md5.all_findings() if f.check == "checksum"} == {"md5"}
    assert md5.status == report.status


def test_a_checksum_difference_whose_rows_compare_equal_is_no_difference(billing):
    """The row-by-row comparison is the judge: a range whose source figure is poisoned but whose rows all
    compare equal passes, and says so."""
    target, src = billing

    class Poisoned(SqliteSide):
        def summary(self, lo, hi):
            s = super().summary(lo, hi)
            return Summary(s.rows, None) if lo is not None and lo <= 3 < hi else s

    from concurrent.futures import ThreadPoolExecutor

    from migrations_ops.target import connect
    from migrations_ops.verify.schema import load_schema
    conn = connect(target, "mop-tests")
    try:
        open_session(conn, 30_000, 1_000)
        table = load_schema(conn, "public").tables["users"]
        cols = [(c.name, c.type) for c in table.columns]
        pg = PgSide(conn, "public", "users", cols, "id", 30_000, 1_000, key_columns=[("id", table.column("id").type)])
        lite = Poisoned(open_sqlite(str(src)), "users", cols, "id", str(src), [("id", table.column("id").type)])
        with ThreadPoolExecutor(1) as pool:
            d = diff_table(pg, lite, [c for c, _ in cols], BisectOptions(leaf_rows=2), pool, lambda: False,
                           lambda n: None)
    finally:
        conn.close()
    assert d.checksum_match and d.settled >= 1 and d.changed_count == d.missing_count == d.extra_count == 0
    assert d.rows_compared > 0


def test_without_the_extension_verification_falls_back_to_the_md5_checksum(billing, monkeypatch):
    """The import is optional: a machine without a C compiler still verifies, by canonical text and md5."""
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.endswith('._pghash'):\n"
            "            raise ImportError('not built')\n"
            "sys.meta_path.insert(0, Block())\n"
            "from migrations_ops.verify import pghash\n"
            "from migrations_ops.verify.canonical import ColumnType\n"
            "print(pghash.AVAILABLE, pghash.supported([('i', ColumnType('int'))]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[3])
    assert out.stdout.split() == ["False", "False"]
    monkeypatch.setattr(pghash, "AVAILABLE", False)
    target, src = billing
    report = verify(target, src)
    assert {f.figures["method"] for f in report.all_findings() if f.check == "checksum"} == {"md5"}
    assert all(f.status == "pass" for f in report.all_findings() if f.check == "checksum")
