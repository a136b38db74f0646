"""The pre-flight predicts the copy's rejects exactly: per table, column and reason, before anything is written.

Each test builds a SQLite file, asks the pre-flight, then runs the real copy
into real PostgreSQL and compares the prediction with the rejects the copy
stored (``mop.copy_reject``): equal, per column and reason code.
"""

from __future__ import annotations

import sqlite3
import struct
from collections import Counter
from pathlib import Path

from copy_helpers import pg_exec
from test_copy_conversions import BAD_UTF8, CASES, COLUMNS

from migrations_ops.copy import CopyOptions, copy_database, list_rejects, preflight
from migrations_ops.target import TargetConn
from migrations_ops.verify import PASS, verify

MONEY_DDL = """
CREATE TABLE money (id INTEGER PRIMARY KEY, qty INTEGER, price REAL, weight REAL, big INTEGER, note TEXT NOT NULL);
CREATE TABLE keyless (code TEXT, amount REAL);
"""
MONEY_TARGET = """
CREATE TABLE money (id integer PRIMARY KEY, qty integer, price numeric(10,2), weight real, big integer,
                    note varchar(8) NOT NULL);
CREATE TABLE keyless (code uuid, amount numeric(6,2));
"""


def _money_rows() -> list[tuple[object, ...]]:
    """684 rows of REAL money, text in an integer column, out-of-range ints and long text, as seen on public SQLite files."""
    rows = []
    for i in range(1, 685):
        qty: object = i if i % 7 else f"{i} pcs"
        price = (0.05, 12.5, 1.005, 19.99, 123456789.5)[i % 5]
        big = 2**31 + i if i % 50 == 0 else i
        note = "日本語" if i % 3 else ("too long for eight" if i % 9 == 0 else "ok")
        rows.append((i, qty, price, price, big, note))
    return rows


def _actual(target: TargetConn, copy_id: str) -> dict[str, Counter[tuple[str, str]]]:
    out: dict[str, Counter[tuple[str, str]]] = {}
    for r in list_rejects(target, copy_id, include_warnings=False):
        out.setdefault(r.table, Counter())[(r.column or "", r.code)] += 1
    return out


def _predicted(report) -> dict[str, Counter[tuple[str, str]]]:
    return {t.name: Counter(t.predicted.counts()) for t in report.tables if t.predicted and t.predicted.rejects}


def _money_file(make_sqlite, target_db: TargetConn) -> Path:
    keyless = [("12345678-1234-5678-1234-567812345678", 1.5), ("nope", 2.25), (None, 0.001), ("{x}", 9999.5)]
    path = make_sqlite(MONEY_DDL, {"money": _money_rows(), "keyless": keyless})
    pg_exec(target_db, MONEY_TARGET)
    return path


def test_it_predicts_each_conversion_rule_as_the_copy_rejects_it(make_sqlite, target_db) -> None:
    cols = ", ".join(f"{c} {decl}" for c, (decl, _) in COLUMNS.items())
    path = make_sqlite(f"CREATE TABLE cases (id INTEGER PRIMARY KEY, {cols});")
    conn = sqlite3.connect(path)
    with conn:
        for i, (col, value, _) in enumerate(CASES, start=1):
            cast = "CAST(? AS TEXT)" if value == BAD_UTF8 else "?"
            conn.execute(f"INSERT INTO cases (id, {col}) VALUES (?, {cast})", (i, value))  # noqa: S608 - test columns
    conn.close()
    pg_exec(target_db, "CREATE TABLE cases (id integer PRIMARY KEY, "
            + ", ".join(f"{c} {t}" for c, (_, t) in COLUMNS.items()) + ")")
    report = preflight(path, target_db)
    expected = Counter((col, e[1]) for col, _, e in CASES if isinstance(e, tuple))
    assert Counter(report.table("cases").predicted.counts()) == expected
    summary = copy_database(path, target_db, CopyOptions(), copy_id="predcases")
    assert _actual(target_db, "predcases") == _predicted(report) == {"cases": expected}
    assert report.table("cases").predicted.rows_rejected == summary.rows_rejected


def test_it_predicts_money_text_in_integers_and_long_text(make_sqlite, target_db) -> None:
    path = _money_file(make_sqlite, target_db)
    report = preflight(path, target_db)
    money = report.table("money").predicted
    counts = money.counts()
    assert counts[("weight", "precision_loss")] == 684 - 137  # only 12.5 is exact as real
    assert counts[("qty", "not_integer")] == 684 // 7
    assert counts[("price", "numeric_rounding")] == 137 and counts[("price", "numeric_overflow")] == 137
    assert counts[("big", "integer_out_of_range")] == 684 // 50
    weight = next(p for p in money.rejects if p.column == "weight")
    assert (weight.example_key, weight.example_value) == ("2", "1.005")
    assert weight.example_reason.startswith("precision_loss: 1.005 is not exact as real (float4)")
    assert any("money.weight: 547 value(s) will be rejected (precision_loss)" in p for p in report.problems)
    assert report.table("keyless").predicted.counts() == {("code", "invalid_uuid"): 2, ("amount", "numeric_rounding"): 1}
    assert report.table("keyless").predicted.rejects[0].example_key.startswith("rowid:")
    summary = copy_database(path, target_db, CopyOptions(), copy_id="predmoney")
    assert _actual(target_db, "predmoney") == _predicted(report)
    assert summary.rows_rejected == money.rows_rejected + report.table("keyless").predicted.rows_rejected
    assert pg_exec(target_db, "SELECT count(*) FROM mop.copy_reject")[0][0] == sum(
        p.values for t in report.tables for p in t.predicted.rejects)


def test_it_says_nothing_when_nothing_will_be_rejected(make_sqlite, target_db) -> None:
    path = make_sqlite("CREATE TABLE clean (id INTEGER PRIMARY KEY, n INTEGER, t TEXT, at TEXT);",
                       {"clean": [(i, i, "日本 ok" if i % 2 else "plain", "2024-03-01T10:00:00Z") for i in range(1, 50)]})
    pg_exec(target_db, "CREATE TABLE clean (id integer PRIMARY KEY, n integer, t text, at timestamptz)")
    report = preflight(path, target_db)
    assert report.problems == () and report.table("clean").predicted.rejects == ()
    assert report.table("clean").predicted.values_checked_in_python == 0


def test_it_predicts_replacements_as_warnings_under_the_replace_policy(make_sqlite, target_db) -> None:
    path = make_sqlite("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);", {"notes": [(1, "a\x00b"), (2, "ok")]})
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO notes VALUES (3, CAST(? AS TEXT))", (BAD_UTF8,))
    conn.close()
    pg_exec(target_db, "CREATE TABLE notes (id integer PRIMARY KEY, body text)")
    strict = preflight(path, target_db).table("notes").predicted
    assert strict.counts() == {("body", "nul_in_text"): 1, ("body", "invalid_utf8"): 1}
    lenient = preflight(path, target_db, options=CopyOptions(text_policy="replace")).table("notes").predicted
    assert lenient.rejects == () and [(w.column, w.code, w.values) for w in lenient.warnings] == [("body", "replaced", 2)]


def test_it_loads_real_values_rounded_with_the_float4_option_and_verifies_them(make_sqlite, target_db) -> None:
    path = _money_file(make_sqlite, target_db)
    opts = CopyOptions(accept_float4_rounding=True)
    report = preflight(path, target_db, options=opts)
    assert ("weight", "precision_loss") not in report.table("money").predicted.counts()
    copy_database(path, target_db, opts, copy_id="predround")
    assert _actual(target_db, "predround") == _predicted(report)
    assert not any(c == "weight" for t in _actual(target_db, "predround").values() for c, _ in t)
    stored = dict(pg_exec(target_db, "SELECT id, weight::float8 FROM money WHERE id IN (3, 5)"))
    assert stored[3] == struct.unpack("f", struct.pack("f", 19.99))[0] != 19.99
    assert stored[5] == struct.unpack("f", struct.pack("f", 0.05))[0] == 0.05000000074505806



def test_it_verifies_rounded_real_values_as_postgresql_stores_them(make_sqlite, target_db) -> None:
    weights = [(i, (0.05, 1.005, 0.1, 12.5, 3.14159265358979)[i % 5]) for i in range(1, 101)]
    path = make_sqlite("CREATE TABLE weights (id INTEGER PRIMARY KEY, w REAL);", {"weights": weights})
    pg_exec(target_db, "CREATE TABLE weights (id integer PRIMARY KEY, w real)")
    assert preflight(path, target_db, options=CopyOptions(accept_float4_rounding=True)).problems == ()
    summary = copy_database(path, target_db, CopyOptions(accept_float4_rounding=True), copy_id="predw")
    assert (summary.rows_imported, summary.rows_rejected) == (100, 0)
    report = verify(target_db, str(path), tables=["weights"])
    assert report.status == PASS, report.problems()
    pg_exec(target_db, "UPDATE weights SET w = 0.05000001 WHERE id = 5")
    assert verify(target_db, str(path), tables=["weights"]).status != PASS


def test_it_predicts_the_planted_rejects_of_the_billing_file(billing_sqlite, billing_target) -> None:
    path, manifest = billing_sqlite
    report = preflight(path, billing_target)
    planted: dict[str, Counter[tuple[str, str]]] = {}
    for table, _key, column, code in manifest.rejects:
        planted.setdefault(table, Counter())[(column, code)] += 1
    assert _predicted(report) == planted
    copy_database(path, billing_target, CopyOptions(), copy_id="predbilling")
    assert _actual(billing_target, "predbilling") == planted


def test_it_predicts_the_same_without_the_c_codec(billing_sqlite, billing_target, monkeypatch) -> None:
    path, _ = billing_sqlite
    with_codec = _predicted(preflight(path, billing_target))
    monkeypatch.setenv("MOP_COPY_CODEC", "python")  # the SQL steps, as where the extension is not built
    report = preflight(path, billing_target)
    assert _predicted(report) == with_codec
    assert sum(t.predicted.values_checked_in_python for t in report.tables) < 100


def test_it_predicts_a_table_without_rowid_by_its_primary_key(make_sqlite, target_db) -> None:
    rows = [(f"c{i:03d}", i if i % 9 else "n/a", "日本" if i % 2 else "plain") for i in range(1, 60)]
    path = make_sqlite("CREATE TABLE codes (code TEXT PRIMARY KEY, n INTEGER, label TEXT) WITHOUT ROWID;", {"codes": rows})
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO codes VALUES ('zz1', 1, CAST(? AS TEXT)), ('zz2', 2, 'a' || char(0) || 'b')", (BAD_UTF8,))
    conn.close()
    pg_exec(target_db, "CREATE TABLE codes (code text PRIMARY KEY, n integer, label varchar(10))")
    predicted = preflight(path, target_db).table("codes").predicted
    assert predicted.counts() == {("n", "not_integer"): 6, ("label", "invalid_utf8"): 1, ("label", "nul_in_text"): 1}
    assert {p.example_key for p in predicted.rejects if p.column == "label"} == {"zz1", "zz2"}
    copy_database(path, target_db, CopyOptions(), copy_id="prednorowid")
    assert _actual(target_db, "prednorowid") == _predicted(preflight(path, target_db)) == {"codes": Counter(predicted.counts())}
