"""defer_constraints: keys and indexes of empty tables are dropped for the load and come back identical."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from copy_helpers import pg_exec
from test_copy_resume_after_kill import HERE, ROOT, source_checksums, target_checksums, target_url, wait_for

from migrations_ops.copy import (
    ConstraintsNotRestored,
    CopyOptions,
    copy_database,
    copy_range,
    finish_copy,
    list_rejects,
    plan_ranges,
)
from migrations_ops.errors import TargetBusy

SCHEMA_Q = """
SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), convalidated FROM pg_constraint
WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2
"""
INDEXES_Q = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2"
DEFERRED = CopyOptions(defer_constraints=True, range_rows=700, batch_rows=200)


def keys(target) -> set[tuple[str, str]]:
    return {(r[0], r[1]) for r in pg_exec(target, SCHEMA_Q) if r[2] in ("p", "u")}


def test_it_drops_keys_for_the_load_and_rebuilds_them_identical(billing_sqlite, billing_target) -> None:
    path, manifest = billing_sqlite
    before_indexes = pg_exec(billing_target, INDEXES_Q)
    before_keys = [r[:4] for r in pg_exec(billing_target, SCHEMA_Q) if r[2] in ("p", "u")]
    assert len(before_keys) == 11
    specs = plan_ranges(path, billing_target, "defer", options=DEFERRED)
    assert keys(billing_target) == set(), "every PK and UNIQUE is gone during the load"
    assert pg_exec(billing_target, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'")[0][0] == 0
    saved = dict(pg_exec(billing_target, "SELECT kind, count(*) FROM mop.copy_saved_ddl GROUP BY 1"))
    assert saved == {"constraint": 11, "constraint_index": 11, "index": 2, "fk": 4}
    for spec in specs:
        copy_range(path, billing_target, spec, DEFERRED)
    summary = finish_copy(billing_target, "defer")
    assert pg_exec(billing_target, INDEXES_Q) == before_indexes
    assert [r[:4] for r in pg_exec(billing_target, SCHEMA_Q) if r[2] in ("p", "u")] == before_keys
    assert pg_exec(billing_target, "SELECT count(*) FROM mop.copy_saved_ddl WHERE restored_at IS NULL") == [(0,)]
    assert {(r.table, r.key, r.column, r.code) for r in list_rejects(billing_target, "defer")} == set(manifest.rejects)
    assert summary.rows_imported + summary.rows_rejected == manifest.total_rows
    assert {f.table: f.validated for f in summary.foreign_keys}["credits"]


def test_it_keeps_a_key_that_a_table_outside_the_copy_depends_on(billing_sqlite, billing_target) -> None:
    path, _ = billing_sqlite
    pg_exec(billing_target, "CREATE TABLE audit (id int PRIMARY KEY, user_id text REFERENCES users (user_id))")
    plan_ranges(path, billing_target, "keep", options=CopyOptions(defer_constraints=True, tables=("users",)))
    assert keys(billing_target) >= {("users", "users_pkey"), ("audit", "audit_pkey")}
    assert ("users", "users_google_id_key") not in keys(billing_target)


def test_it_refuses_to_finish_over_duplicates_then_finishes_once_they_are_gone(make_sqlite, target_db) -> None:
    path = make_sqlite("CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);",
                       {"tags": [(1, "a"), (2, "b"), (3, "a")]})
    pg_exec(target_db, "CREATE TABLE tags (id int PRIMARY KEY, label text CONSTRAINT tags_label_key UNIQUE)")
    with pytest.raises(ConstraintsNotRestored) as exc:
        copy_database(path, target_db, CopyOptions(defer_constraints=True), copy_id="dup")
    assert exc.value.fields["failures"][0][:2] == ["tags", "tags_label_key"]
    assert keys(target_db) == {("tags", "tags_pkey")}, "the other key was rebuilt"
    pg_exec(target_db, "DELETE FROM tags WHERE id = 3")
    summary = finish_copy(target_db, "dup")
    assert keys(target_db) == {("tags", "tags_pkey"), ("tags", "tags_label_key")}
    assert summary.rows_imported == 3


def test_it_resumes_a_killed_copy_with_deferred_keys_without_duplicates(billing_sqlite, billing_target, tmp_path) -> None:
    path, manifest = billing_sqlite
    before = [r[:4] for r in pg_exec(billing_target, SCHEMA_Q) if r[2] != "f"], pg_exec(billing_target, INDEXES_Q)
    marker = tmp_path / "marker"
    env = {**os.environ, "MOP_COPY_TARGET_URL": target_url(billing_target), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(HERE / "copy_kill_script.py"), str(path), "kd", str(marker),
                             '{"defer_constraints": true}'], env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(marker, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert keys(billing_target) == set(), "killed while the keys were away"
    for _ in range(100):
        try:
            summary = copy_database(path, billing_target, CopyOptions(range_rows=500, batch_rows=100), copy_id="kd")
            break
        except TargetBusy:  # the killed backend may take a moment to go
            time.sleep(0.1)
    rejected: dict[str, set[str]] = {}
    for r in list_rejects(billing_target, "kd"):
        rejected.setdefault(r.table, set()).add(r.key)
    assert target_checksums(billing_target) == source_checksums(path, rejected)
    assert summary.rows_imported + summary.rows_rejected == manifest.total_rows
    after = [r[:4] for r in pg_exec(billing_target, SCHEMA_Q) if r[2] != "f"], pg_exec(billing_target, INDEXES_Q)
    assert after == before, "keys and indexes are back as they were"
    assert len(pg_exec(billing_target, "SELECT 1 FROM pg_constraint WHERE contype = 'f'")) == 4


def test_it_copies_with_deferred_keys_in_two_worker_processes(billing_sqlite, billing_target) -> None:
    path, manifest = billing_sqlite
    before = pg_exec(billing_target, INDEXES_Q)
    summary = copy_database(path, billing_target, CopyOptions(defer_constraints=True, workers=2, range_rows=700),
                            copy_id="two")
    assert {(r.table, r.key, r.column, r.code) for r in list_rejects(billing_target, "two")} == set(manifest.rejects)
    assert summary.rows_imported + summary.rows_rejected == manifest.total_rows
    assert pg_exec(billing_target, INDEXES_Q) == before
    assert pg_exec(billing_target, "SELECT count(*), count(DISTINCT id) FROM transactions")[0] == (
        summary.rows_imported - sum(t.imported for t in summary.tables if t.table != "transactions"),) * 2
