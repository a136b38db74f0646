"""A task delivered again for a run that already started marks it interrupted and runs nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils.timezone import now

from portal.ops import tasks
from portal.ops.models import AuditEvent, Run
from tests.engine.alembic_factory import alembic_current
from tests.factories import BILLING, AlembicProjectFactory, RunFactory, target_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_transaction(monkeypatch):
    """The task closes stale connections first; inside a test transaction that would close ours."""
    monkeypatch.setattr(tasks.skeleton, "close_old_connections", lambda: None)


@pytest.fixture
def target(make_database):
    conn = make_database("redeliver")
    return target_for(conn, AlembicProjectFactory(name="billing"), name="billing-redeliver"), conn


@pytest.mark.parametrize("status", [Run.Status.RUNNING, Run.Status.QUEUED])
def test_it_interrupts_a_redelivered_run_instead_of_running_it_again(target, status):
    target, conn = target
    started = now() - dt.timedelta(minutes=3)
    run = RunFactory(target=target, status=status,
                             started_at=started, heartbeat_at=started, worker="celery@gone")

    assert tasks.schema.run_operation.apply(args=(run.pk,)).get() == "interrupted"

    run.refresh_from_db()
    assert run.status == Run.Status.INTERRUPTED and run.error_code == "interrupted"
    assert "delivered again" in run.error
    assert run.result_heads == [] and alembic_current(BILLING, conn) == set()
    assert list(AuditEvent.objects.filter(run=run).values_list("action", flat=True)) == ["run.interrupted"]


def test_it_leaves_a_cancelled_run_alone(target):
    target, _ = target
    run = RunFactory(target=target,
                             status=Run.Status.CANCELLED)
    assert tasks.schema.run_operation.apply(args=(run.pk,)).get() == Run.Status.CANCELLED
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.started_at is None


def test_it_records_a_failure_that_is_not_an_engine_error(target, monkeypatch):
    target, _ = target
    run = RunFactory(target=target)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("migrations_ops.schema.runner.run_plan", explode)
    assert tasks.schema.run_operation.apply(args=(run.pk,)).get() == Run.Status.FAILED
    run.refresh_from_db()
    assert (run.status, run.error, run.error_code) == (Run.Status.FAILED, "RuntimeError: disk full", "internal_error")
    assert run.finished_at and run.result_heads == []
    assert AuditEvent.objects.get(run=run, action="run.finished").outcome == "failed"
