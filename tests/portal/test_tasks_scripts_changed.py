"""A run executes the scripts that were previewed, or nothing."""

from __future__ import annotations

import pytest

from portal.ops import services, tasks
from portal.ops.models import AuditEvent, Run
from tests.engine.alembic_factory import alembic_current, linear
from tests.factories import AlembicProjectFactory, target_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_transaction(monkeypatch):
    monkeypatch.setattr(tasks.skeleton, "close_old_connections", lambda: None)


@pytest.fixture
def planned(make_database, tmp_path, operator):
    conn = make_database("scripts")
    project = linear(tmp_path / "p", 2)
    target = target_for(conn, AlembicProjectFactory(name="lin", location=str(project.root)), name="lin")
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=operator)
    return run, project, conn


def test_it_refuses_to_run_scripts_edited_after_the_preview(planned):
    run, project, conn = planned
    project.rev("r2", "r1", "now drops everything", upgrade='op.execute("DROP TABLE t1")')

    assert tasks.schema.run_operation.apply(args=(run.pk,)).get() == Run.Status.FAILED

    run.refresh_from_db()
    assert run.error_code == "scripts_changed" and "Scripts changed since the plan was made" in run.error
    assert run.error_data["planned"] == run.project_fingerprint
    assert run.result_heads == [] and alembic_current(project.root, conn) == set()
    assert AuditEvent.objects.get(run=run, action="run.finished").outcome == "failed"


def test_it_runs_the_previewed_scripts(planned):
    run, project, conn = planned
    assert tasks.schema.run_operation.apply(args=(run.pk,)).get() == Run.Status.SUCCEEDED
    run.refresh_from_db()
    assert run.result_heads == ["r2"] == sorted(alembic_current(project.root, conn))
    assert [t["revision"] for t in run.step_timings] == ["r1", "r2"]
    assert [t["direction"] for t in run.step_timings] == ["upgrade", "upgrade"]
    assert run.log_lines.filter(message__startswith="Committed").count() == 2
