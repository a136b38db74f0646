"""Rehearsals on a scratch clone (real PostgreSQL): a good plan passes, bad downgrades and data fail by name."""

from __future__ import annotations

import psycopg

from migrations_ops.rehearse import rehearse_plan
from migrations_ops.schema.plan import make_plan
from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.runner import run_plan
from migrations_ops.scratch import SCRATCH_PREFIX
from tests.engine.alembic_factory import Factory
from tests.factories import BILLING


def _scratch_left(admin) -> list[str]:
    with psycopg.connect(**admin.connect_kwargs("t"), autocommit=True) as c:
        return [r[0] for r in c.execute("SELECT datname FROM pg_database WHERE datname LIKE 'mop\\_scratch\\_%'")]


def test_it_passes_the_example_projects_full_plan_with_equal_schemas(target_db, pg_admin):
    project = resolve_project(ProjectSource(location=str(BILLING)))
    plan = make_plan(target_db, project, "upgrade", "head", with_sql=False)
    report = rehearse_plan(target_db, pg_admin, project, "upgrade", "head", plan.from_heads, rehearsal_id="t1")
    assert report.passed, report.problems
    assert [p.name for p in report.phases] == ["first", "back", "again"]
    assert report.down_vs_before == [] and report.up_again_vs_up == []
    assert len(report.phases[0].steps) == len(plan.steps)
    assert all(s.seconds is not None for p in report.phases for s in p.steps)
    assert report.scratch not in _scratch_left(pg_admin), "the scratch database was not dropped"
    with psycopg.connect(**target_db.connect_kwargs("t")) as c:  # the target itself was never touched
        assert c.execute("SELECT to_regclass('alembic_version')").fetchone()[0] is None


def _project(tmp_path, downgrade_of_r2: str):
    f = Factory(tmp_path / "p")
    f.table_rev("r1", None, "accounts")
    f.rev("r2", "r1", "add email and its index",
          upgrade='op.add_column("accounts", sa.Column("email", sa.Text))\n'
                  'op.create_index("ix_accounts_email", "accounts", ["email"])',
          downgrade=downgrade_of_r2)
    return f.resolved()


def test_it_fails_a_pass_downgrade_naming_the_objects_left_behind(tmp_path, target_db, pg_admin):
    project = _project(tmp_path, "pass")
    report = rehearse_plan(target_db, pg_admin, project, "upgrade", "head", (), rehearsal_id="t2")
    assert not report.passed
    text = " ".join(report.problems)
    assert "revision r2 does not undo it" in text
    assert "column public.accounts.email added" in text and "index public.ix_accounts_email added" in text


def test_it_fails_a_downgrade_that_forgets_an_index_naming_it(tmp_path, target_db, pg_admin):
    f = Factory(tmp_path / "p")
    f.rev("r1", None, "accounts with an index",
          upgrade='op.create_table("accounts", sa.Column("id", sa.Integer, primary_key=True), sa.Column("code", sa.Text))\n'
                  'op.create_index("ix_accounts_code", "accounts", ["code"])',
          downgrade='op.drop_index("ix_accounts_code")\nop.drop_table("accounts")')
    f.rev("r2", "r1", "drop the index", upgrade='op.drop_index("ix_accounts_code")', downgrade="pass")
    project = f.resolved()
    run_plan(target_db, project, "upgrade", "r1", run_id="setup")
    report = rehearse_plan(target_db, pg_admin, project, "upgrade", "head", ("r1",), rehearsal_id="t3")
    assert not report.passed
    assert report.phases[1].steps[0].not_undone == ["index public.ix_accounts_code removed"]
    assert any("revision r2" in p and "index public.ix_accounts_code removed" in p for p in report.problems)


def test_it_passes_not_null_on_schema_only_and_fails_with_sample_data_naming_the_revision(
        tmp_path, target_db, pg_admin):
    f = Factory(tmp_path / "p")
    f.rev("r1", None, "people", upgrade='op.create_table("people", sa.Column("id", sa.Integer, primary_key=True), '
                                        'sa.Column("nick", sa.Text))', downgrade='op.drop_table("people")')
    f.rev("r2", "r1", "nick is required", upgrade='op.alter_column("people", "nick", nullable=False)',
          downgrade='op.alter_column("people", "nick", nullable=True)')
    project = f.resolved()
    run_plan(target_db, project, "upgrade", "r1", run_id="setup")
    with psycopg.connect(**target_db.connect_kwargs("t"), autocommit=True) as c:
        c.execute("INSERT INTO people (nick) SELECT CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END "
                  "FROM generate_series(1, 300) g")
    schema_only = rehearse_plan(target_db, pg_admin, project, "upgrade", "head", ("r1",), rehearsal_id="t4")
    assert schema_only.passed, schema_only.problems
    with_data = rehearse_plan(target_db, pg_admin, project, "upgrade", "head", ("r1",), rehearsal_id="t5",
                              with_data=100)
    assert not with_data.passed
    assert with_data.sample["rows"] == {"public.people": 100}
    assert with_data.phases[0].error_revision == "r2"
    assert "revision r2" in with_data.problems[0] and "null" in with_data.problems[0].lower()
    with psycopg.connect(**target_db.connect_kwargs("t")) as c:  # the target keeps all its rows
        assert c.execute("SELECT count(*) FROM people").fetchone()[0] == 300


def test_it_copies_samples_with_foreign_keys_kept_whole(tmp_path, target_db, pg_admin):
    f = Factory(tmp_path / "p")
    f.rev("r1", None, "parents and children",
          upgrade='op.create_table("parent", sa.Column("id", sa.Integer, primary_key=True))\n'
                  'op.create_table("child", sa.Column("id", sa.Integer, primary_key=True), '
                  'sa.Column("parent_id", sa.Integer, sa.ForeignKey("parent.id")))',
          downgrade='op.drop_table("child")\nop.drop_table("parent")')
    f.rev("r2", "r1", "noop", upgrade="pass", downgrade="pass")
    project = f.resolved()
    run_plan(target_db, project, "upgrade", "r1", run_id="setup")
    with psycopg.connect(**target_db.connect_kwargs("t"), autocommit=True) as c:
        c.execute("INSERT INTO parent SELECT generate_series(1, 50)")
        c.execute("INSERT INTO child (parent_id) SELECT 1 + (g % 50) FROM generate_series(1, 50) g")
    report = rehearse_plan(target_db, pg_admin, project, "upgrade", "head", ("r1",), rehearsal_id="t6",
                           with_data=10)
    assert report.passed, report.problems
    rows = report.sample["rows"]
    assert rows["public.parent"] == 10 and 0 < rows["public.child"] <= 10
    assert report.scratch.startswith(SCRATCH_PREFIX) and report.scratch not in _scratch_left(pg_admin)


def test_it_samples_the_locks_a_step_takes_on_existing_tables(tmp_path, target_db, pg_admin):
    f = Factory(tmp_path / "p")
    f.table_rev("r1", None, "accounts")
    f.rev("r2", "r1", "slow step under a share lock",
          upgrade='op.execute("LOCK TABLE accounts IN SHARE MODE")\nop.execute("SELECT pg_sleep(0.4)")',
          downgrade='op.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")\nop.execute("SELECT pg_sleep(0.4)")')
    project = f.resolved()
    run_plan(target_db, project, "upgrade", "r1", run_id="setup")
    report = rehearse_plan(target_db, pg_admin, project, "upgrade", "head", ("r1",), rehearsal_id="t7")
    assert report.passed, report.problems
    first, back, _again = report.phases
    assert {"relation": "public.accounts", "mode": "ShareLock"} in first.steps[0].locks
    assert {"relation": "public.accounts", "mode": "AccessExclusiveLock"} in back.steps[0].locks
