"""The report lists what the copy did not carry as "skipped", and a skipped contentful FTS table is no PASS."""

from __future__ import annotations

import sqlite3

from migrations_ops.copy import CopyOptions, copy_database
from migrations_ops.verify import FAIL, PASS, WARN, Report, VerifyOptions, verify
from tests.engine.copy.copy_helpers import pg_exec

DDL = """
CREATE TABLE docs (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);
CREATE VIEW v_titles AS SELECT title FROM docs;
CREATE TRIGGER docs_log AFTER INSERT ON docs BEGIN INSERT INTO audit (what) VALUES ('added ' || new.title); END;
CREATE VIRTUAL TABLE notes_fts USING fts5(subject, body);
"""
TARGET = """
CREATE TABLE docs (id bigserial PRIMARY KEY, title text NOT NULL);
CREATE TABLE audit (id bigserial PRIMARY KEY, what text);
"""


def _source(tmp_path):
    path = tmp_path / "search.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(DDL)
    with conn:
        conn.executemany("INSERT INTO docs (title) VALUES (?)", [("a",), ("b",)])
        conn.executemany("INSERT INTO notes_fts VALUES (?, ?)", [("x", "zebra"), ("y", "lion"), ("z", "emu")])
    conn.close()
    return path


def test_it_lists_skipped_objects_and_warns_on_a_skipped_contentful_fts_table(tmp_path, target_db) -> None:
    src = _source(tmp_path)
    pg_exec(target_db, TARGET)
    copy_database(src, target_db, CopyOptions(skip_tables=("notes_fts",)))
    report = verify(target_db, src)
    skipped = {o["name"]: o for o in report.skipped}
    assert skipped["v_titles"]["kind"] == "view" and "SELECT title FROM docs" in skipped["v_titles"]["definition"]
    assert skipped["docs_log"]["kind"] == "trigger"
    assert (skipped["notes_fts"]["kind"], skipped["notes_fts"]["rows"]) == ("fts index (contentful)", 3)
    assert skipped["sqlite_sequence"]["rows"] == 1
    warn = [f for f in report.findings if f.check == "skipped"]
    assert [(f.status, f.table, f.figures["not_copied"]) for f in warn] == [(WARN, "notes_fts", 3)]
    assert report.status == WARN, [f.message for f in report.problems()]
    again = Report.from_json(report.to_json())
    assert again.skipped == report.skipped and again.status == WARN


def test_a_copied_contentful_fts_table_is_compared_row_by_row(tmp_path, target_db) -> None:
    src = _source(tmp_path)
    pg_exec(target_db, TARGET)
    copy_database(src, target_db)
    report = verify(target_db, src)
    table = {t.name: t for t in report.tables}["notes_fts"]
    assert (table.status, table.source_rows, table.target_rows) == (PASS, 3, 3), table
    assert "notes_fts" not in {o["name"] for o in report.skipped}
    assert {"v_titles", "docs_log"} <= {o["name"] for o in report.skipped}
    assert report.status == PASS, [f.message for f in report.problems()]

    # A changed text and a deleted row are found and located (by rowid), as in any table.
    pg_exec(target_db, "UPDATE notes_fts SET body = 'tiger' WHERE rowid = 2; DELETE FROM notes_fts WHERE rowid = 3")
    changed = verify(target_db, src)
    table = {t.name: t for t in changed.tables}["notes_fts"]
    assert table.status == FAIL and changed.status == FAIL
    samples = {f.message: f.samples for f in table.findings}
    assert samples["1 row(s) of the source missing in the target"] == (3,), samples
    assert samples["1 row(s) differ in body"] == ({"key": 2, "columns": ["body"]},), samples


def test_a_contentful_fts_table_missing_from_the_target_is_not_blamed_on_the_dba(tmp_path, target_db) -> None:
    src = _source(tmp_path)
    pg_exec(target_db, TARGET)
    copy_database(src, target_db, CopyOptions(tables=("docs", "audit")))
    report = verify(target_db, src)
    skipped = {o["name"]: o for o in report.skipped}
    assert skipped["notes_fts"]["advice"].startswith("not in the target (no table for it there)"), skipped["notes_fts"]
    assert report.status == WARN


def test_each_tables_last_progress_line_counts_all_its_rows(tmp_path, target_db) -> None:
    src = _source(tmp_path)
    pg_exec(target_db, TARGET)
    copy_database(src, target_db)
    lines: list[str] = []
    # one row a batch: each table in ranges (a table of one batch is checksummed whole, in one line)
    verify(target_db, src, options=VerifyOptions(batch_rows=1), progress=lambda p: lines.append(p.message))
    last = {}
    for line in lines:
        if "rows checksummed" in line:
            name, _, rest = line.partition(": ")
            last[name] = rest
    assert last == {"audit": "2 of 2 rows checksummed", "docs": "2 of 2 rows checksummed",
                    "notes_fts": "3 of 3 rows checksummed"}, lines
    assert "docs: 1 of 2 rows checksummed" in lines  # a line read mid-table says how far along it is


def test_a_small_table_that_differs_is_counted_once_in_progress(tmp_path, target_db) -> None:
    """A table of one batch is checksummed whole first; when it differs it is cut into ranges, and the progress
    lines do not count its rows again from zero (a bar that went back would tell the DBA something false)."""
    src = _source(tmp_path)
    pg_exec(target_db, TARGET)
    copy_database(src, target_db)
    pg_exec(target_db, "UPDATE docs SET title = 'changed' WHERE id = 2")
    lines: list[str] = []
    report = verify(target_db, src, progress=lambda p: lines.append(p.message))
    docs = [line.partition(": ")[2] for line in lines if line.startswith("docs: ")]
    assert docs == ["2 of 2 rows checksummed"], lines
    table = {t.name: t for t in report.tables}["docs"]
    assert table.status == FAIL and any(f.message == "1 row(s) differ in title" for f in table.findings), table
