"""Rejects explain differences: rows a copy rejected are "explained", not a bare FAIL.

A real copy (``copy_database``) loads a SQLite file with values the target
cannot take, and records them in ``mop.copy_reject``; the verification that
follows must name those rows with their reasons, keep the verdict off FAIL
while nothing else differs, and fail as soon as an unexplained row is missing.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from verify_dataset import pg_connect

from migrations_ops.copy import CopyOptions, copy_database
from migrations_ops.verify import FAIL, WARN, VerifyOptions, verify

ROWS = 400
BAD_INT = {17, 233}  # text in an integer column: rejected as not_integer


@pytest.fixture
def copied(make_database, tmp_path):
    """A target loaded by a real copy that rejected rows of a text-keyed, an integer-keyed and a keyless table."""
    target = make_database("rejects")
    path = tmp_path / "stock.sqlite"
    lite = sqlite3.connect(path)
    lite.executescript("""
        CREATE TABLE item (code TEXT PRIMARY KEY, qty INTEGER);
        CREATE TABLE batch (id INTEGER PRIMARY KEY, qty INTEGER);
        CREATE TABLE reading (sensor TEXT, value INTEGER);
        CREATE TABLE shipment (day TEXT PRIMARY KEY, qty INTEGER);
    """)
    qty = [("lots" if i in BAD_INT else i) for i in range(ROWS)]
    lite.executemany("INSERT INTO item VALUES (?, ?)", [(f"I{i:04d}", q) for i, q in enumerate(qty)])
    lite.executemany("INSERT INTO batch VALUES (?, ?)", [(i + 1, q) for i, q in enumerate(qty)])
    lite.executemany("INSERT INTO reading VALUES (?, ?)", [(f"s{i % 5}", q) for i, q in enumerate(qty)])
    days = [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(ROWS)]
    lite.executemany("INSERT INTO shipment VALUES (?, ?)", list(zip(days, qty, strict=True)))
    lite.commit()
    lite.close()
    with pg_connect(target) as pg:
        pg.execute("CREATE TABLE item (code text PRIMARY KEY, qty integer)")
        pg.execute("CREATE TABLE batch (id integer PRIMARY KEY, qty integer)")
        pg.execute("CREATE TABLE reading (sensor text, value integer)")
        pg.execute("CREATE TABLE shipment (day date PRIMARY KEY, qty integer)")  # a key ranges cannot order
    summary = copy_database(path, target, CopyOptions(batch_rows=100), copy_id="stock-1")
    assert summary.rows_rejected == 4 * len(BAD_INT)
    return target, path


def only(report, check, table):
    [f] = [f for f in report.table(table).findings if f.check == check]
    return f


def test_it_explains_every_missing_row_by_the_latest_copys_rejects_and_does_not_fail(copied):
    target, path = copied
    report = verify(target, path, options=VerifyOptions(leaf_rows=16, bisection_factor=4))
    assert report.status == WARN, report.problems()
    rejects = next(f for f in report.findings if f.check == "rejects")
    assert rejects.figures == {"copy_id": "stock-1", "chosen": "latest", "rejected_rows": 8}
    assert report.header.settings["copy_id"] == "stock-1"  # the report's settings name the copy it took
    assert "the latest copy of this source file into this target" in rejects.message
    item = only(report, "explained", "item")
    assert item.figures["rows"] == 2 and sorted(s["key"] for s in item.samples) == ["I0017", "I0233"]
    assert all(s["reason"].startswith("qty: not_integer") for s in item.samples)
    assert sorted(s["key"] for s in only(report, "explained", "batch").samples) == [18, 234]
    # a keyless row is named as the copy named its reject
    assert sorted(s["key"] for s in only(report, "explained", "reading").samples) == ["rowid:18", "rowid:234"]
    assert only(report, "explained", "shipment").figures["rows"] == 2  # by its date key, the copy's reject key
    for t in ("item", "batch", "reading", "shipment"):
        assert report.table(t).status == WARN
        assert not [f for f in report.table(t).findings if f.status == FAIL]
        assert only(report, "counts", t).message.endswith("(-2, all 2 rejected by the copy)")


def test_it_fails_on_an_unexplained_difference_beside_the_explained_ones(copied):
    target, path = copied
    with pg_connect(target) as pg:
        pg.execute("DELETE FROM item WHERE code = 'I0100'")
        pg.execute("DELETE FROM reading WHERE ctid = (SELECT min(ctid) FROM reading WHERE value = 101)")
    report = verify(target, path, options=VerifyOptions(copy_id="stock-1"))
    assert report.status == FAIL
    assert next(f for f in report.findings if f.check == "rejects").figures["chosen"] == "given"
    assert only(report, "missing", "item").samples == ("I0100",)
    assert only(report, "explained", "item").figures["rows"] == 2
    assert only(report, "counts", "item").status == FAIL
    assert [s["rowid"] for s in only(report, "missing", "reading").samples] == [102]
    assert only(report, "explained", "reading").figures["rows"] == 2
    assert report.table("batch").status == WARN


def test_it_leaves_differences_unexplained_when_told_to_read_no_rejects(copied):
    target, path = copied
    report = verify(target, path, options=VerifyOptions(explain_rejects=False))
    assert report.status == FAIL
    assert only(report, "missing", "batch").samples == (18, 234)
    assert not [f for f in report.findings if f.check == "rejects"]



def test_it_explains_a_keyless_row_the_copy_rejected_for_invalid_utf8(make_database, tmp_path):
    """The source row's text is not UTF-8: hashed through the safe path, missing, explained by ``rowid:N``."""
    target = make_database("rejutf8")
    path = tmp_path / "notes.sqlite"
    with sqlite3.connect(path) as lite:
        lite.execute("CREATE TABLE notes (body TEXT, n INTEGER)")
        lite.executemany("INSERT INTO notes VALUES (?, ?)", [(f"note {i}", i) for i in range(50)])
        lite.execute("INSERT INTO notes VALUES (CAST(X'ff6e6f7465' AS TEXT), 50)")  # rowid 51
    with pg_connect(target) as pg:
        pg.execute("CREATE TABLE notes (body text, n integer)")
    summary = copy_database(path, target, CopyOptions(), copy_id="utf8-1")
    assert summary.rows_rejected == 1
    report = verify(target, path)
    explained = only(report, "explained", "notes")
    assert report.table("notes").status == WARN and explained.samples[0]["key"] == "rowid:51"
    assert "invalid_utf8" in explained.samples[0]["reason"]
