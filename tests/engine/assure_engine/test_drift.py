"""Drift (real PostgreSQL): expected schema by replay, changes behind Alembic's back named, revision drift."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from migrations_ops.drift import ReplayFailed, expected_schema, revision_drift, schema_drift
from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.revisions import list_revisions
from migrations_ops.schema.runner import run_plan
from tests.engine.alembic_factory import Factory
from tests.factories import BILLING


def test_it_finds_an_added_column_and_a_dropped_index(target_db, pg_admin):
    project = resolve_project(ProjectSource(location=str(BILLING)))
    result = run_plan(target_db, project, "upgrade", "head", run_id="setup")
    expected = expected_schema(pg_admin, project, result.to_heads)
    assert schema_drift(target_db, expected).diff.equal
    with psycopg.connect(**target_db.connect_kwargs("t"), autocommit=True) as c:
        index = c.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'ix_%' "
                          "ORDER BY 1 LIMIT 1").fetchone()[0]
        c.execute(f'DROP INDEX "{index}"')
        c.execute("ALTER TABLE users ADD COLUMN nickname text")
    lines = schema_drift(target_db, expected).diff.lines()
    assert lines == ["column public.users.nickname added", f"index public.{index} removed"]


def test_it_says_when_history_cannot_be_replayed_from_empty(tmp_path, pg_admin):
    f = Factory(tmp_path / "p")
    f.rev("r1", None, "assumes a table made by create_all()", upgrade='op.add_column("legacy", sa.Column("x", sa.Text))',
          downgrade='op.drop_column("legacy", "x")')
    with pytest.raises(ReplayFailed, match="r1"):
        expected_schema(pg_admin, f.resolved(), ("r1",))


def test_it_reports_unknown_revisions_multiple_rows_and_old_pending_ones(tmp_path):
    f = Factory(tmp_path / "p")
    f.table_rev("r1", None, "a")
    f.table_rev("r2", "r1", "b")
    path = tmp_path / "p" / "versions" / "r2_.py"
    path.write_text(path.read_text().replace("Revision ID: r2\n", "Revision ID: r2\nCreate Date: 2026-01-01 00:00:00\n"))
    listing = list_revisions(f.resolved())
    assert [x.code for x in revision_drift(("gone",), listing, behind_days=7)] == ["unknown_revision"]
    assert [x.code for x in revision_drift(("r1", "r2"), listing, behind_days=7)] == ["multiple_heads"]
    assert revision_drift(("r2",), listing, behind_days=7) == []
    later = datetime(2026, 1, 11, tzinfo=UTC)
    behind = revision_drift(("r1",), listing, behind_days=7, now=later)
    assert [x.code for x in behind] == ["behind_head"] and "r2" in behind[0].message
    assert revision_drift(("r1",), listing, behind_days=30, now=later) == []
