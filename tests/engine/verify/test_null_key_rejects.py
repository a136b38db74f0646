"""A row whose primary key is NULL (SQLite allows it outside INTEGER keys) is keyed ``rowid:N`` everywhere.

The copy's reject store, the pre-flight's example and the verification's
"explained by reject" all name it by its SQLite rowid, so the verification
can link it to the copy's reject instead of failing on a key ``None``.
"""

from __future__ import annotations

import sqlite3

from verify_dataset import pg_connect

from migrations_ops.copy import CopyOptions, copy_database, list_rejects, preflight
from migrations_ops.verify import FAIL, WARN, VerifyOptions, verify


def _file(tmp_path):
    path = tmp_path / "codes.sqlite"
    lite = sqlite3.connect(path)
    lite.executescript("CREATE TABLE codes (code TEXT PRIMARY KEY, qty INTEGER);"
                       "CREATE TABLE pairs (a TEXT, b INTEGER, qty INTEGER, PRIMARY KEY (a, b));")
    lite.executemany("INSERT INTO codes VALUES (?, ?)", [(f"c{i:03d}", i) for i in range(50)])
    lite.executemany("INSERT INTO codes VALUES (?, ?)", [(None, 7), (None, "lots")])  # rowids 51, 52
    lite.executemany("INSERT INTO pairs VALUES (?, ?, ?)", [(f"p{i}", i, i) for i in range(20)])
    lite.execute("INSERT INTO pairs VALUES ('p-null', NULL, 1)")  # rowid 21: half a key is no key
    lite.commit()
    lite.close()
    return path


def test_null_key_rejects_are_rowid_in_preflight_rejects_and_verification(make_database, tmp_path):
    target = make_database("nullkeys")
    path = _file(tmp_path)
    with pg_connect(target) as pg:
        pg.execute("CREATE TABLE codes (code text PRIMARY KEY, qty integer)")
        pg.execute("CREATE TABLE pairs (a text, b integer, qty integer, PRIMARY KEY (a, b))")
    report = preflight(path, target)
    codes = {p.column: p for p in report.table("codes").predicted.rejects}
    assert codes["code"].values == 2 and codes["code"].example_key == "rowid:51"
    assert codes["qty"].example_key == "rowid:52"
    assert report.table("pairs").predicted.rejects[0].example_key == "rowid:21"
    assert not [p for p in report.problems if "None" in p], report.problems
    assert any("e.g. rowid:52" in p for p in report.problems)

    summary = copy_database(path, target, CopyOptions(), copy_id="nullkeys-1")
    assert summary.rows_rejected == 3
    keys = sorted({(r.table, r.key) for r in list_rejects(target, "nullkeys-1")})
    assert keys == [("codes", "rowid:51"), ("codes", "rowid:52"), ("pairs", "rowid:21")]

    result = verify(target, path, options=VerifyOptions(leaf_rows=8, bisection_factor=4))
    assert result.status == WARN, result.problems()
    for table, rows, shown in (("codes", 2, ["rowid:51", "rowid:52"]), ("pairs", 1, ["rowid:21"])):
        assert not [f for f in result.table(table).findings if f.status == FAIL], result.problems()
        [explained] = [f for f in result.table(table).findings if f.check == "explained"]
        assert explained.figures["rows"] == rows
        assert sorted(str(s["key"]) for s in explained.samples) == shown
        assert "None" not in explained.message
