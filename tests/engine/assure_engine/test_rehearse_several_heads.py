"""Rehearsals of plans that start at several heads (a branched history), on real PostgreSQL."""

from __future__ import annotations

import psycopg

from migrations_ops.rehearse import rehearse_plan
from migrations_ops.schema.plan import make_plan
from migrations_ops.schema.runner import run_plan
from tests.engine.alembic_factory import Factory


def _branched(tmp_path, merge_downgrade: str = 'op.drop_table("merged_t")') -> Factory:
    """b1 -> (b2l, b2r) -> merge b3 (creates merged_t) -> b4 (creates t4)."""
    f = Factory(tmp_path / "p")
    f.table_rev("b1", None, "base_t")
    f.table_rev("b2l", "b1", "left_t", branch_labels=("left",))
    f.table_rev("b2r", "b1", "right_t", branch_labels=("right",))
    f.rev("b3", ("b2l", "b2r"), "merge, and a table of its own",
          upgrade='op.create_table("merged_t", sa.Column("id", sa.Integer, primary_key=True))',
          downgrade=merge_downgrade)
    f.table_rev("b4", "b3", "t4")
    return f


def _heads(target) -> list[str]:
    with psycopg.connect(**target.connect_kwargs("t")) as c:
        return sorted(r[0] for r in c.execute("SELECT version_num FROM alembic_version"))


def test_it_rehearses_an_upgrade_from_two_heads_back_to_both(tmp_path, target_db, pg_admin):
    project = _branched(tmp_path).resolved()
    run_plan(target_db, project, "upgrade", "b2l", run_id="setup-l")
    run_plan(target_db, project, "upgrade", "b2r", run_id="setup-r")
    plan = make_plan(target_db, project, "upgrade", "head", with_sql=False)
    assert sorted(plan.from_heads) == ["b2l", "b2r"]
    report = rehearse_plan(target_db, pg_admin, project, "upgrade", "head", plan.from_heads, rehearsal_id="mh1")
    assert report.passed, report.problems
    first, back, again = report.phases
    assert [s.revision for s in first.steps] == ["b3", "b4"]
    assert (back.operation, back.revision) == ("downgrade", "b2l b2r")
    assert [(s.revision, s.direction) for s in back.steps] == [("b4", "down"), ("b3", "down")]
    assert [s.revision for s in again.steps] == ["b3", "b4"]
    assert report.down_vs_before == [] and report.up_again_vs_up == []
    assert _heads(target_db) == ["b2l", "b2r"], "the target itself was not touched"


def test_it_rehearses_a_downgrade_from_two_heads_and_back_up_to_both(tmp_path, target_db, pg_admin):
    project = _branched(tmp_path).resolved()
    run_plan(target_db, project, "upgrade", "b2l", run_id="setup-l")
    run_plan(target_db, project, "upgrade", "b2r", run_id="setup-r")
    report = rehearse_plan(target_db, pg_admin, project, "downgrade", "b1", ("b2l", "b2r"), rehearsal_id="mh2")
    assert report.passed, report.problems
    first, back, _again = report.phases
    assert sorted(s.revision for s in first.steps) == ["b2l", "b2r"]
    assert (back.operation, back.revision) == ("upgrade", "b2l b2r")
    assert sorted(s.revision for s in back.steps) == ["b2l", "b2r"]


def test_it_names_the_merge_revision_whose_downgrade_leaves_its_table(tmp_path, target_db, pg_admin):
    project = _branched(tmp_path, merge_downgrade="pass").resolved()
    run_plan(target_db, project, "upgrade", "b2l", run_id="setup-l")
    run_plan(target_db, project, "upgrade", "b2r", run_id="setup-r")
    report = rehearse_plan(target_db, pg_admin, project, "upgrade", "head", ("b2l", "b2r"), rehearsal_id="mh3")
    assert not report.passed
    back = report.phases[1]
    assert back.steps[1].revision == "b3" and "table public.merged_t added" in back.steps[1].not_undone
    assert any("revision b3 does not undo it" in p for p in report.problems)
