"""Backups (real pg_dump, real PostgreSQL): touched tables only, exact counts, restore test, bad directory."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from migrations_ops.backup import BackupFailed, restore_test, take_backup, touched_tables
from migrations_ops.schema.plan import make_plan
from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.runner import run_plan
from migrations_ops.scratch import pg_tool
from tests.factories import BILLING


def _billing_at_first_revision(conn):
    project = resolve_project(ProjectSource(location=str(BILLING)))
    run_plan(conn, project, "upgrade", "+1", run_id="setup")
    return project


def test_it_dumps_exactly_the_touched_tables_and_the_restore_verifies(target_db, pg_admin, tmp_path):
    project = _billing_at_first_revision(target_db)
    plan = make_plan(target_db, project, "upgrade", "head", with_sql=True)
    touched = touched_tables(plan.sql)
    with psycopg.connect(**target_db.connect_kwargs("t"), autocommit=True) as c:
        existing = {f"public.{r[0]}" for r in c.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")}
    result = take_backup(target_db, "touched", tmp_path / "b", "run-1", touched)
    assert set(result.tables) == set(touched) & existing and result.tables
    assert result.size > 0 and len(result.sha256) == 64 and "pg_restore" in result.restore_command
    listing = subprocess.run([pg_tool("pg_restore", 150000), "-l", result.path], capture_output=True, text=True,
                             check=True).stdout
    dumped = {f"{line.split()[-3]}.{line.split()[-2]}" for line in listing.splitlines()
              if " TABLE DATA " in line}
    assert dumped == set(result.tables)
    check = restore_test(tmp_path / "b" / "run-1.dump", result.sha256, pg_admin, result.row_counts, partial=True)
    assert check.passed, check.problems
    assert set(check.tables) == set(result.tables)


def test_it_fails_when_the_directory_cannot_be_made(target_db, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BackupFailed, match="cannot create the backup directory"):
        take_backup(target_db, "full", blocker / "sub", "run-3")


def test_it_notices_a_changed_file_in_the_restore_test(target_db, pg_admin, tmp_path):
    _billing_at_first_revision(target_db)
    result = take_backup(target_db, "full", tmp_path, "run-4")
    with open(result.path, "ab") as f:
        f.write(b"x")
    check = restore_test(tmp_path / "run-4.dump", result.sha256, pg_admin, result.row_counts)
    assert not check.passed and "sha256" in check.problems[0]


def test_it_restores_a_child_table_without_its_parent_and_says_which_keys_it_left_out(target_db, pg_admin, tmp_path):
    with psycopg.connect(**target_db.connect_kwargs("t"), autocommit=True) as c:
        c.execute("CREATE TABLE parent (id int PRIMARY KEY)")
        c.execute("CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent)")
        c.execute("INSERT INTO parent SELECT generate_series(1, 20)")
        c.execute("INSERT INTO child SELECT g, g FROM generate_series(1, 20) g")
    result = take_backup(target_db, "touched", tmp_path, "child-only", ["public.child"])
    assert result.tables == ("public.child",) and result.row_counts == {"public.child": 20}
    check = restore_test(tmp_path / "child-only.dump", result.sha256, pg_admin, result.row_counts, partial=True)
    assert check.passed, check.problems
    assert check.tables == {"public.child": 20}
    assert any("1 foreign key(s) left out" in n for n in check.notes)
