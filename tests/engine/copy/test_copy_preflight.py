"""The pre-flight report: what a copy would meet, with nothing written."""

from __future__ import annotations

import json

from copy_helpers import pg_exec

from migrations_ops.copy import preflight

DDL = """
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE child (id INTEGER PRIMARY KEY AUTOINCREMENT, parent_id INTEGER REFERENCES parent(id),
                    qty INTEGER, note TEXT NOT NULL DEFAULT '', legacy TEXT);
CREATE VIRTUAL TABLE docs_fts USING fts5(title, body);
"""


def test_it_reports_profiles_nulls_orphans_and_skipped_tables(make_sqlite, target_db) -> None:
    path = make_sqlite(DDL, {
        "parent": [(1, "a"), (2, None)],
        "child": [(1, 1, 5, "x", None), (2, 9, "many", "y", None), (3, 2, 7.5, "z", "old")],
        "docs_fts": [("t", "body")],
    })
    pg_exec(target_db, "CREATE TABLE parent (id bigint PRIMARY KEY, name text NOT NULL, extra text)")
    pg_exec(target_db, "CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint, qty integer, note text)")
    report = preflight(path, target_db)
    assert report.integrity_ok
    assert {t.name: t.rows for t in report.tables} == {"parent": 2, "child": 3, "docs_fts": 1}  # contentful FTS: copied
    child = report.table("child")
    assert child.storage_classes["qty"] == {"integer": 1, "text": 1, "real": 1}
    assert child.source_only_columns == ("legacy",)
    assert child.target_types["qty"] == "integer"
    parent = report.table("parent")
    assert parent.nulls_in_not_null == {"name": 1} and parent.target_only_columns == ("extra",)
    assert report.fk_orphans == ({"table": "child", "parent": "parent", "orphans": 1, "sample_rowids": [2]},)
    skipped = dict(report.skipped)
    assert "docs_fts" not in skipped and [n for n, _ in report.fts_tables] == ["docs_fts"]
    assert {"docs_fts_data", "docs_fts_idx", "docs_fts_content", "docs_fts_docsize", "docs_fts_config"} <= set(skipped)
    assert "sqlite_sequence" in skipped
    assert any("child.legacy" in p for p in report.problems) and any("parent.name" in p for p in report.problems)
    json.loads(report.to_json())
    assert pg_exec(target_db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'mop'")[0][0] == 0
    assert pg_exec(target_db, "SELECT count(*) FROM parent")[0][0] == 0


def test_it_names_missing_target_tables(make_sqlite, target_db) -> None:
    path = make_sqlite("CREATE TABLE lonely (id INTEGER PRIMARY KEY);")
    report = preflight(path, target_db)
    assert report.table("lonely").target_table is None
    assert report.problems == ("target table public.lonely does not exist",)
