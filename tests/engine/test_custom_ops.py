"""Custom operations: declared modules are imported before a run; unknown op.<name> calls are flagged first.

A project registers ``op.create_or_replace_sp`` in a module (as a real public history
does in its env.py); portal mode imports the declared module and the run creates the
function on a real target, and the static reader flags the call when nothing provides it.
"""

from __future__ import annotations

import pytest

from migrations_ops.errors import MigrationFailed
from migrations_ops.schema.custom_ops import (
    OperationModuleError,
    alembic_operation_names,
    load_operation_modules,
    provided_names,
    review_operations,
)
from migrations_ops.schema.revisions import list_revisions
from migrations_ops.schema.runner import run_plan
from migrations_ops.target import connect
from tests.engine.alembic_factory import Factory

SP_MODULE = '''
from alembic.operations import MigrateOperation, Operations


@Operations.register_operation("create_or_replace_sp")
class CreateOrReplaceSP(MigrateOperation):
    def __init__(self, name, body):
        self.name, self.body = name, body

    @classmethod
    def create_or_replace_sp(cls, operations, name, body):
        return operations.invoke(cls(name, body))


@Operations.implementation_for(CreateOrReplaceSP)
def _create(operations, operation):
    operations.execute(f"CREATE OR REPLACE FUNCTION {operation.name}() RETURNS int "
                       f"LANGUAGE sql AS $$ {operation.body} $$")
'''


def _project(root, modules=(), name="create_or_replace_sp"):
    f = Factory(root)
    f.table_rev("c1", None, "sp_base")
    f.rev("c2", "c1", "add a stored function", upgrade=f'''
        op.{name}("answer", "SELECT 42")
        ''', downgrade='op.execute("DROP FUNCTION answer()")')
    (root / "ops").mkdir()
    (root / "ops" / "sp.py").write_text(SP_MODULE.replace("create_or_replace_sp", name))
    return f, f.resolved(operation_modules=tuple(modules))


def test_the_static_reader_lists_each_revisions_operations(tmp_path):
    _, project = _project(tmp_path)
    ops = {r.id: r.operations for r in list_revisions(project).revisions}
    assert ops == {"c1": ("create_table", "drop_table"), "c2": ("create_or_replace_sp", "execute")}


def test_an_undeclared_custom_operation_is_flagged_with_revision_file_and_line(tmp_path):
    _, project = _project(tmp_path)
    findings = review_operations(project, project.script_location / "versions" / "c2_.py", "c2")
    assert [(f.rule, f.level, f.revision) for f in findings] == [("unknown_operation", "danger", "c2")]
    source = (project.script_location / "versions" / "c2_.py").read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if "create_or_replace_sp" in text)
    assert f"versions/c2_.py, line {line}" in findings[0].message
    assert "op.create_or_replace_sp" in findings[0].message
    assert "create_table" in alembic_operation_names() and "create_or_replace_sp" not in alembic_operation_names()


def test_a_declared_path_module_provides_it_and_the_run_uses_it(tmp_path, target_db):
    _, project = _project(tmp_path, ["ops/sp.py"])
    assert "create_or_replace_sp" in provided_names(project)
    assert review_operations(project, project.script_location / "versions" / "c2_.py", "c2") == []
    run_plan(target_db, project, "upgrade", "head", run_id="sp")
    with connect(target_db, "mop-tests") as c:
        assert c.execute("SELECT answer()").fetchone() == (42,)


def test_an_installed_module_name_works_too(tmp_path, monkeypatch):
    pkg = tmp_path / "site"
    pkg.mkdir()
    (pkg / "mop_test_sp_ops.py").write_text(SP_MODULE.replace("create_or_replace_sp", "create_or_replace_sp2"))
    monkeypatch.syspath_prepend(str(pkg))
    _, project = _project(tmp_path / "p", ["mop_test_sp_ops"])
    assert "create_or_replace_sp2" in provided_names(project)
    assert load_operation_modules(project) == ["mop_test_sp_ops"]


def test_bad_declarations_are_refused_clearly(tmp_path):
    _, project = _project(tmp_path / "a", ["../outside.py"])
    with pytest.raises(OperationModuleError, match="inside the project"):
        provided_names(project)
    _, project = _project(tmp_path / "b", ["no_such_module_for_mop"])
    with pytest.raises(OperationModuleError, match="no installed module"):
        load_operation_modules(project)
    f, project = _project(tmp_path / "c", ["ops/broken.py"])
    (f.root / "ops" / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(OperationModuleError, match="RuntimeError: boom"):
        load_operation_modules(project)


def test_without_the_module_the_run_fails_naming_the_line(tmp_path, target_db):
    # A name no test registers: registrations are process-wide (Operations' class attributes).
    _, project = _project(tmp_path, name="create_or_replace_sp_unregistered")
    with pytest.raises(MigrationFailed) as caught:
        run_plan(target_db, project, "upgrade", "head", run_id="nosp")
    failure = caught.value.data()["failure"]
    assert failure["exception_class"] == "AttributeError" and failure["revision_file"] == "versions/c2_.py"
