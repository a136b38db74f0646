"""Runs move the target exactly as the real `alembic` commands would, on the chosen target only."""

from __future__ import annotations

import psycopg
import pytest

from migrations_ops.errors import RevisionImportError, TargetMoved, VersionMismatch
from migrations_ops.schema.plan import make_plan
from migrations_ops.schema.runner import application_name, run_plan
from migrations_ops.target import connect
from tests.engine.alembic_factory import (
    ENV_EXPLODES,
    ENV_FROM_ENVVAR,
    Factory,
    alembic_current,
    branched,
    concurrently,
    linear,
    sa_url,
)


def tables(target) -> set[str]:
    with connect(target, "mop-tests") as c:
        rows = c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        ([("upgrade", "head")], {"r3"}),
        ([("upgrade", "+1")], {"r1"}),
        ([("upgrade", "head"), ("downgrade", "-1")], {"r2"}),
        ([("upgrade", "head"), ("downgrade", "base")], set()),
        ([("upgrade", "r2")], {"r2"}),
        ([("upgrade", "head"), ("downgrade", "r1")], {"r1"}),
        ([("stamp", "r2")], {"r2"}),
        ([("upgrade", "head"), ("downgrade", "base"), ("upgrade", "head")], {"r3"}),
    ],
)
def test_it_leaves_the_target_where_alembic_current_says(tmp_path, target_db, sequence, expected):
    f = linear(tmp_path, 3)
    project = f.resolved()
    result = None
    for operation, revision in sequence:
        result = run_plan(target_db, project, operation, revision, run_id="t")
    assert set(result.to_heads) == expected
    assert alembic_current(tmp_path, target_db) == expected
    made = {f"t{i}" for i in (1, 2, 3) if f"r{i}" in {"r1", "r2", "r3"} and _applied(f"r{i}", expected)}
    if sequence[-1][0] != "stamp":
        assert tables(target_db) - {"alembic_version"} == made


def _applied(rev: str, heads: set[str]) -> bool:
    return bool(heads) and int(rev[1:]) <= max(int(h[1:]) for h in heads)


def test_it_merges_branches_like_alembic(tmp_path, target_db):
    project = branched(tmp_path).resolved()
    run_plan(target_db, project, "upgrade", "left@head", run_id="t")
    run_plan(target_db, project, "downgrade", "b1", run_id="t")
    assert alembic_current(tmp_path, target_db) == {"b1"}
    result = run_plan(target_db, project, "upgrade", "heads", run_id="t")
    assert result.to_heads == ("b3",) and alembic_current(tmp_path, target_db) == {"b3"}


def test_it_reports_progress_per_step_with_timings_and_alembic_log(tmp_path, target_db):
    project = linear(tmp_path, 3).resolved()
    seen = []
    result = run_plan(target_db, project, "upgrade", "head", run_id=5, progress=seen.append)
    assert {p.total for p in seen} == {3}
    assert [p.done for p in seen if p.data.get("event") == "step_committed"] == [1, 2, 3]
    assert "Running upgrade  -> r1, create t1" in [p.message for p in seen]
    assert "Running upgrade r2 -> r3, create t3" in [p.message for p in seen]
    assert [(s.revision, s.direction) for s in result.steps] == [("r1", "upgrade"), ("r2", "upgrade"),
                                                                  ("r3", "upgrade")]
    assert all(0 < s.seconds < 5 for s in result.steps)


def test_it_runs_create_index_concurrently_in_an_autocommit_block(tmp_path, target_db):
    project = concurrently(tmp_path).resolved()
    run_plan(target_db, project, "upgrade", "head", run_id="t")
    with connect(target_db, "mop-tests") as c:
        assert c.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_ct_name'::regclass").fetchone()[0]
    run_plan(target_db, project, "downgrade", "base", run_id="t")
    assert alembic_current(tmp_path, target_db) == set()


def test_it_sets_timeouts_and_application_name_on_the_session(tmp_path, target_db):
    f = Factory(tmp_path)
    f.rev("s1", None, "record session settings", upgrade='''
        op.execute("CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lt, "
                   "current_setting('statement_timeout') AS st, current_setting('application_name') AS app, "
                   "current_setting('client_connection_check_interval') AS cci")
        ''')
    run_plan(target_db, f.resolved(), "upgrade", "head", run_id=77, lock_timeout_ms=1500,
             statement_timeout_ms=60000)
    with connect(target_db, "mop-tests") as c:
        assert c.execute("SELECT lt, st, app, cci FROM seen").fetchone() == ("1500ms", "1min", "mop:run:77", "1s")
    assert application_name(77) == "mop:run:77"


def test_it_refuses_to_run_when_the_target_moved(tmp_path, target_db):
    project = linear(tmp_path, 3).resolved()
    plan = make_plan(target_db, project, "upgrade", "head")
    run_plan(target_db, project, "upgrade", "+1", run_id="someone-else")
    with pytest.raises(TargetMoved) as exc:
        run_plan(target_db, project, "upgrade", "head", run_id="t", expected_from=plan.from_heads)
    assert exc.value.fields == {"expected": [], "actual": ["r1"]}
    assert alembic_current(tmp_path, target_db) == {"r1"}
    assert run_plan(target_db, project, "upgrade", "head", run_id="t", expected_from=("r1",)).to_heads == ("r3",)


def test_it_names_a_revision_that_cannot_be_imported_before_anything_runs(tmp_path, target_db):
    f = linear(tmp_path, 1)
    f.rev("r2", "r1", "needs a package", imports="import not_a_real_package_mop", upgrade="pass")
    with pytest.raises(RevisionImportError) as exc:
        run_plan(target_db, f.resolved(), "upgrade", "head", run_id="t")
    assert exc.value.fields["revision"] == "r2"
    assert exc.value.fields["path"].endswith("r2_.py")
    assert "No module named 'not_a_real_package_mop'" in str(exc.value)
    assert tables(target_db) == set()


def test_it_never_executes_the_project_env_py_in_portal_mode(tmp_path, target_db):
    project = linear(tmp_path, 2, env=ENV_EXPLODES).resolved()
    assert run_plan(target_db, project, "upgrade", "head", run_id="t").to_heads == ("r2",)


def test_it_migrates_the_chosen_target_even_when_env_py_names_another(tmp_path, make_database, monkeypatch):
    """Seed 003: the project's env.py reads its URL from the environment; we still migrate ours."""
    chosen, other = make_database("chosen"), make_database("other")
    # env.py sees none of this process's variables (project_env), so the other URL is written into it.
    env = ENV_FROM_ENVVAR.replace('os.environ["FACTORY_OTHER_DATABASE_URL"]', repr(sa_url(other)))
    project = linear(tmp_path, 2, env=env).resolved(env_mode="project")
    result = run_plan(chosen, project, "upgrade", "head", run_id="t")
    assert result.to_heads == ("r2",)
    assert tables(chosen) == {"alembic_version", "t1", "t2"}
    assert tables(other) == set()


def test_it_runs_the_project_env_py_on_a_shared_connection(tmp_path, target_db):
    f = linear(tmp_path, 2)
    project = f.resolved(env_mode="project", version_table="mop_versions")
    assert run_plan(target_db, project, "upgrade", "head", run_id="t").to_heads == ("r2",)
    with connect(target_db, "mop-tests") as c:
        assert c.execute("SELECT version_num FROM mop_versions").fetchall() == [("r2",)]


def test_it_checks_the_version_table_after_the_run(tmp_path, target_db):
    f = linear(tmp_path, 1, env="pass  # an env.py that never runs migrations\n")
    with pytest.raises(VersionMismatch) as exc:
        run_plan(target_db, f.resolved(env_mode="project"), "upgrade", "head", run_id="t")
    assert exc.value.fields == {"expected": ["r1"], "actual": []}


def test_it_uses_the_projects_version_table_and_schema(tmp_path, target_db):
    with connect(target_db, "mop-tests") as c:
        c.execute("CREATE SCHEMA ops")
    project = linear(tmp_path, 2).resolved(version_table="schema_rev", version_table_schema="ops")
    run_plan(target_db, project, "upgrade", "head", run_id="t")
    with connect(target_db, "mop-tests") as c:
        assert c.execute("SELECT version_num FROM ops.schema_rev").fetchall() == [("r2",)]
        with pytest.raises(psycopg.errors.UndefinedTable):
            c.execute("SELECT 1 FROM alembic_version")
    assert make_plan(target_db, project, "downgrade", "-1").from_heads == ("r2",)
