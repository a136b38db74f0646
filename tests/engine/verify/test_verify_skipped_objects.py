"""The report lists what the copy did not carry as "skipped", and a skipped contentful FTS table is no PASS."""

from __future__ import annotations

import sqlite3

from migrations_ops.copy import CopyOptions, copy_database
from migrations_ops.verify import PASS, WARN, Report, verify
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


def test_it_passes_when_the_contentful_fts_table_was_copied(tmp_path, target_db) -> None:
    src = _source(tmp_path)
    pg_exec(target_db, TARGET)
    copy_database(src, target_db)
    report = verify(target_db, src)
    fts = [f for f in report.findings if f.check == "fts"]
    assert [(f.status, f.figures) for f in fts] == [(PASS, {"source": 3, "target": 3})]
    assert "notes_fts" not in {o["name"] for o in report.skipped}
    assert {"v_titles", "docs_log"} <= {o["name"] for o in report.skipped}
    assert report.status == PASS, [f.message for f in report.problems()]
