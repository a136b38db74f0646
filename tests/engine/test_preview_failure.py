"""A plan whose offline SQL cannot render says why, at which revision, file and line."""

from __future__ import annotations

from migrations_ops.schema.plan import make_plan
from tests.engine.alembic_factory import linear


def test_the_preview_names_the_revision_that_stopped_it(tmp_path, target_db):
    f = linear(tmp_path, 2)
    f.rev("r3", "r2", "uses a removed name", upgrade='''
        op.add_column("t1", sa.Column("blob", sa.Binary()))
        ''')
    f.table_rev("r4", "r3", "t4")
    plan = make_plan(target_db, f.resolved(), "upgrade", "head")
    assert plan.sql_error_revision == "r3"
    assert plan.sql_error.startswith("AttributeError:") and "(revision r3, versions/r3_.py:" in plan.sql_error
    assert plan.sql_failure["revision_file"] == "versions/r3_.py"
    assert plan.sql_failure["source_line"].startswith('op.add_column("t1"')
    assert "CREATE TABLE t2" in plan.sql and "CREATE TABLE t4" not in plan.sql
    assert plan.to_json()["sql_error_revision"] == "r3"


def test_a_downgrade_preview_names_the_revision_being_downgraded(tmp_path, target_db):
    f = linear(tmp_path, 1)
    f.rev("r2", "r1", "bad downgrade", downgrade="op.no_such_operation()")
    from migrations_ops.schema.runner import run_plan

    run_plan(target_db, f.resolved(), "upgrade", "head", run_id="pf")
    plan = make_plan(target_db, f.resolved(), "downgrade", "base")
    assert plan.sql_error_revision == "r2" and plan.sql_failure["revision_function"] == "downgrade"
