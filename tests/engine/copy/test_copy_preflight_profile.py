"""The pre-flight's storage-class profile counted by the C codec on the prediction's own read.

The profile must be what SQL's ``typeof()`` says, value for value, whichever
way it was counted: on the prediction's read (codec tables), by a C pass of its
own (tables without a target or with a type the codec does not take), or in
SQL (no rowid, or ``MOP_COPY_CODEC=python``). And the report as a whole must
not depend on the way.
"""

from __future__ import annotations

import sqlite3
import sys

import pytest
from copy_helpers import pg_exec

from migrations_ops.copy import compiled, preflight, source
from migrations_ops.copy.options import ColumnPlan, RangeSpec
from migrations_ops.copy.typemap import BadUtf8, TargetType

pytestmark = pytest.mark.skipif(not compiled.available(), reason="the C row codec is not built")

DDL = """
CREATE TABLE mixed (id INTEGER PRIMARY KEY, n INTEGER, r REAL, t TEXT, b BLOB, anything, legacy TEXT,
                    at DATETIME NOT NULL);
CREATE TABLE keyed (code TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
CREATE TABLE money (id INTEGER PRIMARY KEY, amount REAL);
CREATE TABLE orphan_table (id INTEGER PRIMARY KEY, x, y);
"""
MIXED = [
    (1, 5, 1.5, "a", b"\x00", None, "old", "2024-03-01T10:00:00Z"),
    (2, "five", 2, 3, "not a blob", 7.25, None, 1709287200),
    (3, 5.5, None, 4.5, None, b"\xff", "x", "2024-03-01"),
    (4, None, "n/a", None, 12, "text", None, "yesterday"),
    (5, b"1", 3.0, "日本語 🎉", b"", "", "", "2024-02-30"),
]


def _sql_profiles(path, names) -> dict:
    conn = source.open_source(path)
    try:
        tables = {t.name: t for t in source.list_tables(conn)}
        return {n: source.storage_profile(conn, tables[n]) for n in names}
    finally:
        conn.close()


def _target(target_db) -> None:
    pg_exec(target_db, "CREATE TABLE mixed (id bigint PRIMARY KEY, n integer, r float8, t text, b bytea, "
                       "anything text, at timestamptz NOT NULL)")  # no "legacy": counted as an extra column
    pg_exec(target_db, "CREATE TABLE keyed (code text PRIMARY KEY, v integer)")
    pg_exec(target_db, "CREATE TABLE money (id bigint PRIMARY KEY, amount numeric(10, 2))")  # not a codec type


def test_every_way_of_counting_gives_what_typeof_gives(make_sqlite, target_db, monkeypatch) -> None:
    path = make_sqlite(DDL, {"mixed": MIXED, "keyed": [("a", 1), ("b", "x"), ("c", None)],
                             "money": [(1, 1.5), (2, 3), (3, "x")], "orphan_table": [(1, 1, "y"), (2, 2.5, None)]})
    _target(target_db)
    names = ("mixed", "keyed", "money", "orphan_table")
    want = _sql_profiles(path, names)
    assert want["mixed"]["r"] == {"real": 3, "text": 1, "null": 1}  # REAL affinity: the 2 stored is read as a real
    report = preflight(path, target_db)
    assert {n: report.table(n).storage_classes for n in names} == want
    monkeypatch.setenv("MOP_COPY_CODEC", "python")
    by_sql = preflight(path, target_db)
    assert {n: by_sql.table(n).storage_classes for n in names} == want
    for n in names:
        a, b = report.table(n), by_sql.table(n)
        assert (a.nulls_in_not_null, a.target_types, a.predicted and a.predicted.counts()) == (
            b.nulls_in_not_null, b.target_types, b.predicted and b.predicted.counts())
    assert report.problems == by_sql.problems


def test_the_prediction_read_counts_every_source_column(make_sqlite, target_db) -> None:
    path = make_sqlite(DDL, {"mixed": MIXED})
    _target(target_db)
    conn = source.open_source(path)
    st = next(t for t in source.list_tables(conn) if t.name == "mixed")
    conn.close()
    plans = (ColumnPlan("n", "n", TargetType("int4")), ColumnPlan("t", "t", TargetType("text", not_null=True)))
    spec = RangeSpec("p", "mixed", "", "mixed", "rowid", ("id",), plans, source.KEY_MIN, source.KEY_MAX)
    codec = compiled.range_specs(spec)
    slow, figures = compiled.scan_range(path, spec, codec, [c.name for c in st.columns])
    profile = figures.profile
    assert profile == _sql_profiles(path, ["mixed"])["mixed"]
    assert list(profile) == [c.name for c in st.columns]
    # the slow rows are the copy's own, shaped (key, *copied columns): the extra columns never show
    copied = [r for _, _, rows in compiled.read_range(path, spec, codec, 100) for r in rows]
    assert slow == copied == [(2, "five", "3"), (3, 5.5, "4.5"), (4, None, None), (5, b"1", "日本語 🎉")]


def test_the_check_only_read_keeps_no_bytes_and_counts_bad_text_as_text(tmp_path) -> None:
    path = tmp_path / "v.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v, w)")
    with conn:
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(1, "ok", 1), (2, "a\x00b", None), (3, 7, 2.5)])
        conn.execute("INSERT INTO t VALUES (4, CAST(? AS TEXT), x'00')", (b"caf\xe9",))
    conn.close()
    uri = path.resolve().as_uri() + "?mode=ro"
    query = source.range_select("t", "rowid", ["v", "w"])
    reader = compiled._rowcodec.RangeReader(uri, query, source.KEY_MIN, source.KEY_MAX, [(6, -1, False)], BadUtf8,
                                            100, 1 << 20, extra=1, profile=True, check_only=True)
    chunks = list(reader)
    assert [(data, n) for data, n, _ in chunks] == [(b"", 4)]
    assert chunks[0][2] == [(2, "a\x00b"), (3, 7), (4, BadUtf8(b"caf\xe9"))]
    assert reader.profile() == [(1, 0, 3, 0, 0), (1, 1, 0, 1, 1)]
    with pytest.raises(ValueError, match="extra"):
        compiled._rowcodec.RangeReader(uri, query, 0, 9, [(6, -1, False)], BadUtf8, 100, 1 << 20)
    plain = compiled._rowcodec.RangeReader(uri, source.range_select("t", "rowid", ["v"]), 0, 9, [(6, -1, False)],
                                           BadUtf8, 100, 1 << 20)
    assert plain.profile() is None and list(plain)[0][0] != b""


def test_the_billing_file_profile_is_unchanged(billing_sqlite, billing_target) -> None:
    path, _ = billing_sqlite
    report = preflight(path, billing_target)
    names = [t.name for t in report.tables]
    assert report.table("transactions").predicted is not None
    assert {t.name: t.storage_classes for t in report.tables} == _sql_profiles(path, names)


EPOCHS = [  # every shape a time column's value takes: numbers of both units, text numbers, look-alikes
    1_700_000_000, -1_700_000_000, 1_700_000_000_000, -1_700_000_000_000, 0, 0.0, 99_999_999_999,
    100_000_000_000, 1.7e9, 1.7e12, 2.5, float("inf"), "1700000000", "1700000000000", "1700000000.5",
    "1.5.3", "00000", "0.0", "1234-", "2024-03-01", "2024-03-01T10:00:00Z", " 1700000000", "17e9",
    "1700000000abc", "123\x00abc", "1700000000000\x00x", "", "-1700000000", ".5", "9" * 30, b"1700000000", None,
]


@pytest.mark.parametrize("kind", ["timestamptz", "timestamp", "date"])
def test_the_read_counts_epoch_numbers_as_the_sql_scan_does(tmp_path, kind) -> None:
    """The pre-flight decides a time column's unit on its C read: the counts must be the SQL scan's, value for
    value (an odd text number counted differently would flip a column between seconds and milliseconds)."""
    path = tmp_path / "e.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, at, other)")
    with conn:
        conn.executemany("INSERT INTO e VALUES (?, ?, ?)", [(i, v, v) for i, v in enumerate(EPOCHS, 1)])
    conn.close()
    conn = source.open_source(path)
    by_sql = {c: source.epoch_counts(conn, "e", c)[1:] for c in ("at", "other")}
    conn.close()
    plans = (ColumnPlan("at", "at", TargetType(kind)), ColumnPlan("other", "other", TargetType("text")))
    spec = RangeSpec("p", "e", "", "e", "rowid", (), plans, source.KEY_MIN, source.KEY_MAX)
    _slow, figures = compiled.scan_range(path, spec, compiled.range_specs(spec), ["at", "other"], epochs=True)
    assert figures.epochs == {"at": by_sql["at"]}  # time columns only
    assert by_sql["at"][0] >= 5 and by_sql["at"][1] >= 5  # both units present: the rule is tested both ways
    assert compiled.scan_range(path, spec, compiled.range_specs(spec), ["at"])[1].epochs == {}


def test_units_found_on_the_read_give_the_report_the_sql_scan_gives(make_sqlite, target_db, monkeypatch) -> None:
    """Seconds, milliseconds and mixed columns: the report with the units counted on the C read is the one the
    SQL scan per column gives (then the same C read), and predicts what the Python path predicts."""
    secs, ms = 1_700_000_000, 1_700_000_000_000
    rows = [(i, secs + i, ms + i, secs + i if i % 2 else ms + i, "2024-03-01", "x" if i == 3 else secs,
             -99_999_999_999 if i == 4 else ms)  # mixed; the small one is before year 1 as seconds
            for i in range(1, 41)]
    path = make_sqlite("CREATE TABLE ev (id INTEGER PRIMARY KEY, s DATETIME, m DATETIME, x DATETIME, d DATE, "
                       "bad DATETIME, neg DATETIME)", {"ev": rows})
    pg_exec(target_db, "CREATE TABLE ev (id bigint PRIMARY KEY, s timestamptz, m timestamp, x timestamptz, d date, "
                       "bad timestamptz, neg timestamptz)")
    report = preflight(path, target_db)
    preflight_mod = sys.modules["migrations_ops.copy.preflight"]
    monkeypatch.setattr(preflight_mod, "reads_compiled", lambda *_: False)
    by_sql_units = preflight(path, target_db)
    assert report.to_dict() == by_sql_units.to_dict()
    assert report.table("ev").mixed_epochs == {"x": (20, 20), "neg": (1, 39)}
    assert report.table("ev").predicted.counts() == {("bad", "invalid_timestamp"): 1, ("neg", "invalid_timestamp"): 1}
    monkeypatch.setenv("MOP_COPY_CODEC", "python")
    assert preflight(path, target_db).table("ev").predicted.counts() == report.table("ev").predicted.counts()
