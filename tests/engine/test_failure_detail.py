"""A failed revision keeps what the Alembic CLI shows: class, statement, file and line, traceback.

Real runs on a real PostgreSQL target; bound parameters and the password never appear.
"""

from __future__ import annotations

import json

import pytest

from migrations_ops.errors import MigrationFailed
from migrations_ops.schema.failure import failure_lines
from migrations_ops.schema.runner import run_plan
from tests.engine.alembic_factory import Factory


def _failing_project(root):
    f = Factory(root)
    f.table_rev("f1", None, "sponsor_type")
    f.rev("f2", "f1", "create it again", upgrade='''
        op.add_column("sponsor_type", sa.Column("name", sa.Text))
        op.create_table("sponsor_type", sa.Column("id", sa.Integer, primary_key=True))
        ''')
    return f


def test_a_sql_error_names_class_statement_file_and_line(tmp_path, target_db):
    f = _failing_project(tmp_path)
    with pytest.raises(MigrationFailed) as caught:
        run_plan(target_db, f.resolved(), "upgrade", "head", run_id="fail")
    detail = caught.value.data()["failure"]
    json.dumps(detail)  # stored as jsonb on the run and in the audit
    assert detail["exception_class"] == "psycopg.errors.DuplicateTable"
    assert detail["wrapper_class"] == "sqlalchemy.exc.ProgrammingError"
    assert 'relation "sponsor_type" already exists' in detail["message"]
    assert detail["statement"].startswith("CREATE TABLE sponsor_type")
    assert detail["revision_file"] == "versions/f2_.py"
    source = (tmp_path / "versions" / "f2_.py").read_text().splitlines()
    assert "op.create_table(\"sponsor_type\"" in source[detail["revision_line"] - 1]
    assert detail["revision_function"] == "upgrade"
    assert "DuplicateTable" in detail["traceback"] and "f2_.py" in detail["traceback"]
    lines = failure_lines(detail)
    assert lines[0] == "Exception: psycopg.errors.DuplicateTable (raised as sqlalchemy.exc.ProgrammingError)"
    assert any(line.startswith("At versions/f2_.py:") for line in lines)


def test_bound_parameters_and_the_password_are_redacted(tmp_path, target_db):
    f = Factory(tmp_path)
    f.table_rev("p1", None, "accounts")
    f.rev("p2", "p1", "insert a secret", upgrade='''
        value = "s3cr" + "3t-value"  # a bound value (the server's own message does not echo it here)
        op.get_bind().execute(sa.text("SELECT 1 / 0 WHERE CAST(:v AS text) IS NOT NULL"), {"v": value})
        ''')
    with pytest.raises(MigrationFailed) as caught:
        run_plan(target_db, f.resolved(), "upgrade", "head", run_id="params")
    detail = caught.value.data()["failure"]
    text = json.dumps(caught.value.data())
    assert "s3cr3t-value" not in text
    assert target_db.password not in text
    assert detail["exception_class"] == "psycopg.errors.DivisionByZero"
    assert detail["statement"] == "SELECT 1 / 0 WHERE CAST(%(v)s AS text) IS NOT NULL"
    assert detail["parameters"] == "redacted (1 parameter)"
    assert detail["revision_function"] == "upgrade" and detail["revision_file"] == "versions/p2_.py"


def test_a_python_error_in_a_revision_names_its_line(tmp_path, target_db):
    f = Factory(tmp_path)
    f.rev("e1", None, "calls a missing operation", upgrade="op.no_operation_of_this_name('x')")
    with pytest.raises(MigrationFailed) as caught:
        run_plan(target_db, f.resolved(), "upgrade", "head", run_id="attr")
    detail = caught.value.data()["failure"]
    assert detail["exception_class"] == "AttributeError"
    assert detail["statement"] is None and detail["wrapper_class"] is None
    assert detail["source_line"] == "op.no_operation_of_this_name('x')"
    assert detail["revision_file"] == "versions/e1_.py"
