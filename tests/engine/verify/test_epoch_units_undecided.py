"""The native pass reads time columns without first scanning each one for its epoch unit.

Integers and reals read the same by their own magnitude as by the column's unit
(``SqliteSide``); text holding a number may not (the unit scan does not see
``' 1709287200 '``): such a table is compared again with the units decided, so the
report is the one the scan gave, and a real difference is still found.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from verify_dataset import pg_connect

from migrations_ops.copy import CopyOptions, copy_database
from migrations_ops.target import TargetConn
from migrations_ops.verify import VerifyOptions, pghash, verify
from migrations_ops.verify import run as verify_run
from migrations_ops.verify.canonical import ColumnType
from migrations_ops.verify.checksum import SqliteSide, open_sqlite

pytestmark = pytest.mark.skipif(not pghash.AVAILABLE, reason="the per-type hash extension is not built")

DDL = "CREATE TABLE ev (id bigint PRIMARY KEY, at timestamptz, day date)"


def _source(path: Path, rows: list[tuple[int, object, object]]) -> None:
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE ev (id INTEGER PRIMARY KEY, at, day)")
        c.executemany("INSERT INTO ev VALUES (?, ?, ?)", rows)


def _copied(make_database: Callable[..., TargetConn], src: Path) -> TargetConn:
    target = make_database("units")
    with pg_connect(target) as c:
        c.execute(DDL)
    summary = copy_database(src, target, CopyOptions())
    assert summary.rows_rejected == 0
    return target


def _problems(target: TargetConn, src: Path) -> list[tuple[str, str, str]]:
    report = verify(target, src, options=VerifyOptions(integrity_check="off", hash_source=False))
    return [(f.check, f.status, f.message) for t in report.tables for f in t.findings if f.status != "pass"]


@pytest.fixture
def lazy_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The ``lazy_units`` of every table comparison verify() makes (True: no unit scan first)."""
    calls: list[bool] = []
    once = verify_run._compare_source_once

    def spy(r, table, sides, lazy_units):  # noqa: ANN001, ANN202
        calls.append(lazy_units)
        return once(r, table, sides, lazy_units)

    monkeypatch.setattr(verify_run, "_compare_source_once", spy)
    return calls


def test_millisecond_integers_hash_natively_by_magnitude_when_the_unit_is_undecided():
    """No Python fallback for an undecided column's millisecond integers, and the same hash as when decided."""
    from migrations_ops.verify import _pghash

    for kind, raw in (("timestamptz", 1709287200250), ("timestamptz", 1700000001), ("date", 1709251200000)):
        undecided, decided = ColumnType(kind), ColumnType(kind, None, "ms" if raw >= 10**11 else "s")
        code, scale, s, sn = pghash.spec([("c", undecided)])[0]
        native = _pghash.hash_value(code, scale, s, sn, raw, lambda _i, _r: pytest.fail("fell back to Python"))
        assert native == pghash.value_hash(decided, raw) is not None


def test_a_table_of_iso_text_and_epoch_integers_is_compared_once_without_a_scan(make_database, tmp_path, lazy_calls):
    src = tmp_path / "units.sqlite"
    _source(src, [(1, "2024-03-01T10:00:00Z", "2024-03-01"), (2, 1709287200000, 1709251200000),
                  (3, 1709287200250, None), (4, 0, 86400000), (5, None, "2024-02-29")])
    target = _copied(make_database, src)
    assert _problems(target, src) == []
    assert lazy_calls == [True]  # no second comparison: nothing the unit could change


def test_text_numbers_the_scan_misses_are_read_by_the_columns_unit(make_database, tmp_path, lazy_calls):
    """' 1709287200 ' in a millisecond column: the copy reads 1970-01-20, the magnitude says 2024."""
    src = tmp_path / "units.sqlite"
    _source(src, [(1, 1709287200000, 1709251200000), (2, " 1709287200 ", "2024-03-01"), (3, "1709287200250", None)])
    target = _copied(make_database, src)
    with pg_connect(target) as c:
        assert c.execute("SELECT at::text FROM ev WHERE id = 2").fetchone()[0].startswith("1970-01-20")
    lite = open_sqlite(str(src))
    try:
        lazy = SqliteSide(lite, "ev", [("at", ColumnType("timestamptz"))], "id", str(src), native=True,
                          lazy_units=True)
        decided = SqliteSide(lite, "ev", [("at", ColumnType("timestamptz"))], "id", str(src), native=True)
        assert decided.columns[0][1].epoch_unit == "ms"
        assert lazy.summary(None, None) != decided.summary(None, None)  # by magnitude alone it would differ
        assert lazy.unit_read == {0}
    finally:
        lite.close()
    assert _problems(target, src) == []
    assert lazy_calls == [True, False]  # compared again with the units decided: the copy's reading


def test_a_real_difference_in_a_time_column_is_still_located(make_database, tmp_path, lazy_calls):
    src = tmp_path / "units.sqlite"
    _source(src, [(i, 1709287200000 + i, "2024-03-01") for i in range(1, 50)])
    target = _copied(make_database, src)
    with pg_connect(target) as c:
        c.execute("UPDATE ev SET at = at + interval '1 second' WHERE id = 7")
    problems = _problems(target, src)
    assert [(c, s) for c, s, _ in problems] == [("checksum", "fail"), ("changed", "fail")]
    assert "at" in problems[1][2]
    assert lazy_calls == [True]
