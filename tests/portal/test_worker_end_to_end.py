"""A run goes from schedule_run to a real Celery worker and lands on the target."""

from __future__ import annotations

import pytest

from portal.ops import audit, services
from portal.ops.models import AuditEvent, Run, RunLog
from tests.engine.alembic_factory import alembic_current
from tests.factories import BILLING, AlembicProjectFactory, target_for
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker
BILLING_HEAD = "6e7a2c9d4b38"


def test_it_upgrades_downgrades_and_upgrades_again_on_a_real_worker(
    transactional_db, celery_worker_proc, make_database, dba
):
    conn = make_database("e2e")
    target = target_for(conn, AlembicProjectFactory(name="billing"), name="billing-e2e")

    up = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head", user=dba))
    assert up.status == Run.Status.SUCCEEDED, up.error
    assert set(up.result_heads) == alembic_current(BILLING, conn) == {BILLING_HEAD}
    assert up.steps_done == up.steps_total == len(up.plan_steps) > 0
    assert len(up.step_timings) == up.steps_total
    assert up.worker.startswith(celery_worker_proc.queue)
    assert up.started_at and up.finished_at and up.heartbeat_at
    assert RunLog.objects.filter(run=up, message__contains="Committed").count() == up.steps_total

    down = services.schedule_run(target=target, operation="downgrade", revision="base", user=dba,
                                 confirm_name="billing-e2e", expected_from=[BILLING_HEAD])
    down = wait_run_finished(down)
    assert down.status == Run.Status.SUCCEEDED, down.error
    assert down.result_heads == [] and alembic_current(BILLING, conn) == set()

    again = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head", user=dba))
    assert again.status == Run.Status.SUCCEEDED, again.error
    assert alembic_current(BILLING, conn) == {BILLING_HEAD}

    actions = list(AuditEvent.objects.filter(run=up).order_by("id").values_list("action", "outcome", "actor"))
    assert actions == [("run.scheduled", "", "dba"), ("run.started", "", "dba"), ("run.finished", "succeeded", "dba")]
    finished = AuditEvent.objects.get(run=down, action="run.finished")
    assert (finished.from_revision, finished.to_revision, finished.sql_hash) == (BILLING_HEAD, "", down.sql_hash)
    assert audit.verify_chain().ok
