"""abandon_copy: a stopped copy is closed, its dropped DDL comes back, its rows and rejects stay."""

from __future__ import annotations

import pytest
from copy_helpers import pg_exec
from test_copy_defer_constraints import INDEXES_Q, SCHEMA_Q

from migrations_ops.copy import (
    CopyAbandoned,
    CopyInProgress,
    CopyNotAbandonable,
    CopyOptions,
    TargetNotEmpty,
    TooManyRejects,
    UnknownCopy,
    abandon_copy,
    copy_database,
    copy_range,
    finish_copy,
    list_rejects,
    plan_ranges,
)

STOPPING = CopyOptions(defer_constraints=True, max_rejects=2, range_rows=700, batch_rows=200)


def test_it_abandons_a_stopped_copy_and_makes_the_schema_whole(billing_sqlite, billing_target) -> None:
    path, _ = billing_sqlite
    keys_before = [r[:4] for r in pg_exec(billing_target, SCHEMA_Q) if r[2] != "f"]
    fks_before = {r[1] for r in pg_exec(billing_target, SCHEMA_Q) if r[2] == "f"}
    indexes_before = pg_exec(billing_target, INDEXES_Q)
    with pytest.raises(TooManyRejects):
        copy_database(path, billing_target, STOPPING, copy_id="stopped")
    loaded = pg_exec(billing_target, "SELECT sum(rows_copied) FROM mop.copy_checkpoint WHERE copy_id = 'stopped'")[0][0]
    assert loaded > 0, "some ranges committed before the stop"
    kept = list_rejects(billing_target, "stopped")
    with pytest.raises(CopyInProgress):
        plan_ranges(path, billing_target, "next")

    report = abandon_copy(billing_target, "stopped", "dba@example: source to be fixed first")

    assert report.previous_status == "running" and report.failed == ()
    assert report.rows_loaded == loaded and report.reject_records == len(kept)
    assert len(report.restored) == 11 + 11 + 2 + 4 and len(report.foreign_keys_not_valid) == 4
    assert [r[:4] for r in pg_exec(billing_target, SCHEMA_Q) if r[2] != "f"] == keys_before
    assert pg_exec(billing_target, INDEXES_Q) == indexes_before
    fks = {r[1]: r[4] for r in pg_exec(billing_target, SCHEMA_Q) if r[2] == "f"}
    assert set(fks) == fks_before and not any(fks.values()), "foreign keys back, NOT VALID"
    assert pg_exec(billing_target, "SELECT status, note FROM mop.copy_run WHERE copy_id = 'stopped'") == [
        ("abandoned", "dba@example: source to be fixed first")]
    assert sum(pg_exec(billing_target, f"SELECT count(*) FROM {t}")[0][0] for t in (
        "users", "device_auth", "credits", "token_balances", "token_pricing", "transactions")) == loaded
    assert list_rejects(billing_target, "stopped") == kept
    with pytest.raises(TargetNotEmpty):  # the rows the stopped copy loaded stay: a new copy must choose
        plan_ranges(path, billing_target, "next")
    assert plan_ranges(path, billing_target, "next", options=CopyOptions(if_not_empty="truncate")), "a new copy can start"


def test_it_keeps_an_abandoned_copy_from_running_or_finishing(billing_sqlite, billing_target) -> None:
    path, _ = billing_sqlite
    specs = plan_ranges(path, billing_target, "late", options=CopyOptions(tables=("token_pricing",)))
    abandon_copy(billing_target, "late", "ops: replaced by another copy")
    with pytest.raises(CopyAbandoned):
        copy_range(path, billing_target, specs[0])
    with pytest.raises(CopyAbandoned):
        finish_copy(billing_target, "late")
    with pytest.raises(CopyAbandoned):
        plan_ranges(path, billing_target, "late")
    again = abandon_copy(billing_target, "late", "ops: retry")
    assert again.previous_status == "abandoned" and again.restored == ()


def test_it_refuses_finished_and_unknown_copies(billing_sqlite, billing_target) -> None:
    path, _ = billing_sqlite
    with pytest.raises(UnknownCopy):
        abandon_copy(billing_target, "nope", "ops")
    copy_database(path, billing_target, CopyOptions(tables=("token_pricing",)), copy_id="done")
    with pytest.raises(CopyNotAbandonable):
        abandon_copy(billing_target, "done", "ops")
    with pytest.raises(ValueError):
        abandon_copy(billing_target, "done", "  ")


def test_abandon_reports_an_index_it_cannot_rebuild_and_retries_it(make_sqlite, target_db) -> None:
    from test_copy_defer_constraints import keys

    path = make_sqlite("CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);", {"tags": [(1, "a"), (2, "b"), (3, "a")]})
    pg_exec(target_db, "CREATE TABLE tags (id int PRIMARY KEY, label text CONSTRAINT tags_label_key UNIQUE)")
    for spec in plan_ranges(path, target_db, "dup-abandon", options=CopyOptions(defer_constraints=True)):
        copy_range(path, target_db, spec, CopyOptions(defer_constraints=True))
    report = abandon_copy(target_db, "dup-abandon", "dba: duplicates to sort out")
    assert [f[:3] for f in report.failed] == [("constraint_index", "tags", "tags_label_key"),
                                              ("constraint", "tags", "tags_label_key")]
    assert "could not create unique index" in report.failed[0][3]
    assert keys(target_db) == {("tags", "tags_pkey")}, "the other key was rebuilt"
    pg_exec(target_db, "DELETE FROM tags WHERE id = 3")
    again = abandon_copy(target_db, "dup-abandon", "dba: duplicates removed")
    assert again.failed == () and keys(target_db) == {("tags", "tags_pkey"), ("tags", "tags_label_key")}
