"""Plans are computed from the target's live revision, as `alembic` would run them."""

from __future__ import annotations

import hashlib

import pytest

from migrations_ops.errors import MultipleHeads, PlanError, ProjectNotFound, RevisionNotFound
from migrations_ops.schema.plan import make_plan
from migrations_ops.schema.project import ProjectSource
from migrations_ops.schema.runner import run_plan
from tests.engine.alembic_factory import Factory, branched, linear


def steps(plan):
    return [(s.revision, s.direction) for s in plan.steps]


def test_it_plans_upgrade_head_from_base_with_sql(tmp_path, target_db):
    project = linear(tmp_path, 3).resolved()
    plan = make_plan(target_db, project, "upgrade", "head")
    assert plan.from_heads == () and plan.to_heads == ("r3",)
    assert steps(plan) == [("r1", "upgrade"), ("r2", "upgrade"), ("r3", "upgrade")]
    assert plan.steps[0].message == "create t1" and plan.steps[1].down_revisions == ("r1",)
    assert "CREATE TABLE alembic_version" in plan.sql and "CREATE TABLE t3" in plan.sql
    assert plan.sql.count("BEGIN;") == 3  # one transaction per revision
    assert plan.sql_hash == hashlib.sha256(plan.sql.encode()).hexdigest()
    assert plan.sql_error is None


def test_it_renders_sql_from_the_live_revision_not_from_base(tmp_path, target_db):
    """alembic#935: offline SQL must start where the target is."""
    project = linear(tmp_path, 3).resolved()
    run_plan(target_db, project, "upgrade", "r1", run_id="p1")
    plan = make_plan(target_db, project, "upgrade", "head")
    assert plan.from_heads == ("r1",)
    assert steps(plan) == [("r2", "upgrade"), ("r3", "upgrade")]
    assert "CREATE TABLE t1" not in plan.sql and "CREATE TABLE alembic_version" not in plan.sql
    assert "UPDATE alembic_version SET version_num='r2' WHERE alembic_version.version_num = 'r1'" in plan.sql


@pytest.mark.parametrize(
    ("start", "operation", "revision", "expected", "to_heads"),
    [
        (None, "upgrade", "+1", [("r1", "upgrade")], ("r1",)),
        ("r1", "upgrade", "+2", [("r2", "upgrade"), ("r3", "upgrade")], ("r3",)),
        ("r3", "downgrade", "-1", [("r3", "downgrade")], ("r2",)),
        ("r3", "downgrade", "base", [("r3", "downgrade"), ("r2", "downgrade"), ("r1", "downgrade")], ()),
        ("r3", "downgrade", "r1", [("r3", "downgrade"), ("r2", "downgrade")], ("r1",)),
        (None, "upgrade", "r2", [("r1", "upgrade"), ("r2", "upgrade")], ("r2",)),
        (None, "stamp", "r2", [("r2", "stamp")], ("r2",)),
        ("r3", "stamp", "base", [("r3", "stamp")], ()),
        ("r3", "upgrade", "head", [], ("r3",)),
    ],
)
def test_it_resolves_revision_arguments(tmp_path, target_db, start, operation, revision, expected, to_heads):
    project = linear(tmp_path, 3).resolved()
    if start:
        run_plan(target_db, project, "upgrade", start, run_id="setup")
    plan = make_plan(target_db, project, operation, revision)
    assert steps(plan) == expected
    assert plan.to_heads == to_heads


def test_it_accepts_prefixes_and_branch_labels(tmp_path, target_db):
    f = branched(tmp_path)
    project = f.resolved()
    with pytest.raises(RevisionNotFound, match="four characters"):
        make_plan(target_db, project, "upgrade", "b2")
    plan = make_plan(target_db, project, "upgrade", "right@head")
    assert plan.to_heads == ("b3",)
    plan = make_plan(target_db, project, "upgrade", "b2r")
    assert steps(plan) == [("b1", "upgrade"), ("b2r", "upgrade")]
    run_plan(target_db, project, "upgrade", "heads", run_id="setup")
    plan = make_plan(target_db, project, "downgrade", "left@b1")
    assert plan.from_heads == ("b3",) and plan.to_heads == ("b2r",)


def test_it_accepts_a_unique_prefix(tmp_path, target_db):
    f = Factory(tmp_path)
    f.table_rev("ae1027a6acf0", None, "one")
    f.table_rev("27c6a30d7c24", "ae1027a6acf0", "two")
    plan = make_plan(target_db, f.resolved(), "upgrade", "ae10")
    assert steps(plan) == [("ae1027a6acf0", "upgrade")]


def test_it_plans_a_merge_of_two_branches(tmp_path, target_db):
    project = branched(tmp_path).resolved()
    plan = make_plan(target_db, project, "upgrade", "heads")
    assert [s for s, _ in steps(plan)][-1] == "b3" and plan.steps[-1].down_revisions == ("b2l", "b2r")
    assert plan.to_heads == ("b3",)


def test_it_refuses_head_when_the_project_has_multiple_heads(tmp_path, target_db):
    project = branched(tmp_path, merged=False).resolved()
    with pytest.raises(MultipleHeads) as exc:
        make_plan(target_db, project, "upgrade", "head")
    assert exc.value.fields["heads"] and set(exc.value.fields["heads"]) == {"b2l", "b2r"}
    assert "Multiple head revisions are present" in str(exc.value)
    assert make_plan(target_db, project, "upgrade", "heads").to_heads == ("b2l", "b2r")


def test_it_names_an_unknown_revision(tmp_path, target_db):
    project = linear(tmp_path, 2).resolved()
    with pytest.raises(RevisionNotFound, match="Can't locate revision identified by 'nope'"):
        make_plan(target_db, project, "upgrade", "nope")
    with pytest.raises(RevisionNotFound):
        make_plan(target_db, project, "stamp", "nope")


def test_it_names_a_version_table_revision_the_scripts_lack(tmp_path, target_db):
    f = linear(tmp_path, 2)
    run_plan(target_db, f.resolved(), "upgrade", "head", run_id="setup")
    (tmp_path / "versions" / "r2_.py").unlink()
    with pytest.raises(RevisionNotFound) as exc:
        make_plan(target_db, f.resolved(), "upgrade", "head")
    assert exc.value.fields["revision"] == "r2" and "version table" in str(exc.value)


@pytest.mark.parametrize(
    ("start", "operation", "revision", "words"),
    [
        (None, "downgrade", "r2", "not a valid downgrade target"),
        ("r1", "downgrade", "r3", "not a valid downgrade target"),
        ("r1", "downgrade", "-3", "Relative revision -3 didn't produce 3 migrations"),
        ("r3", "upgrade", "+1", r"Relative revision \+1 didn't produce 1 migrations"),
        (None, "upgrade", "base:head", "Range revision not allowed"),
        (None, "sideways", "head", "Unknown operation"),
        (None, "upgrade", " ", "No revision given"),
    ],
)
def test_it_refuses_unreachable_ranges(tmp_path, target_db, start, operation, revision, words):
    project = linear(tmp_path, 3).resolved()
    if start:
        run_plan(target_db, project, "upgrade", start, run_id="setup")
    with pytest.raises(PlanError, match=words):
        make_plan(target_db, project, operation, revision)


def test_it_refuses_a_missing_project_or_one_without_scripts(tmp_path, target_db):
    with pytest.raises(ProjectNotFound, match="is not a directory"):
        make_plan(target_db, ProjectSource(str(tmp_path / "nowhere")), "upgrade", "head")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProjectNotFound, match="no alembic.ini, env.py or versions"):
        make_plan(target_db, ProjectSource(str(tmp_path / "empty")), "upgrade", "head")
    Factory(tmp_path / "noscripts")
    with pytest.raises(ProjectNotFound, match="no revision files"):
        make_plan(target_db, ProjectSource(str(tmp_path / "noscripts")), "upgrade", "head")


def test_it_keeps_partial_sql_when_a_revision_needs_a_live_connection(tmp_path, target_db):
    f = linear(tmp_path, 1)
    f.rev("r2", "r1", "reads rows", upgrade='''
        rows = op.get_bind().execute(sa.text("SELECT id FROM t1")).fetchall()
        for row in rows:
            op.execute(sa.text("SELECT 1"))
        ''')
    plan = make_plan(target_db, f.resolved(), "upgrade", "head")
    assert "CREATE TABLE t1" in plan.sql and plan.sql_error
    assert "SQL preview stopped" in plan.sql


def test_a_relative_step_back_from_a_merge_point_says_to_name_a_parent(tmp_path, target_db):
    project = branched(tmp_path).resolved()
    run_plan(target_db, project, "upgrade", "heads", run_id="setup")
    with pytest.raises(PlanError) as exc:
        make_plan(target_db, project, "downgrade", "-1")
    assert "Ambiguous walk" in str(exc.value) and "merge point" in str(exc.value)
    assert "name the revision to go to" in str(exc.value)
