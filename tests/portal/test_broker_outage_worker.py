"""A Redis outage and its end, with a real Celery worker on a Redis server the test starts and stops itself.

While Redis is down, scheduling fails the run at once (nothing queued for
ever). When Redis is back, the same worker takes the next run and upgrades the
target; and if the failed run's task reaches the worker after all (the broker
had it, the reply was lost), the worker does nothing with it: the run is no
longer queued, so its claim fails.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import os
import uuid

import pytest

from portal.ops import dispatch, services
from portal.ops.models import Run
from portal.ops.tasks.schema import run_operation
from tests.engine.alembic_factory import alembic_current
from tests.factories import BILLING, AlembicProjectFactory, target_for
from tests.polling import wait_for
from tests.portal.conftest import WorkerProcess, _with_db, wait_run_finished
from tests.portal.own_redis import celery_on, own_redis  # noqa: F401

pytestmark = pytest.mark.worker
BILLING_HEAD = "6e7a2c9d4b38"


@pytest.fixture
def own_worker(transactional_db, own_redis, import_root, tmp_path):
    from django.db import connection

    from portal.celery import app

    queue = f"mop-outage-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(
        database_url=_with_db(os.environ["DATABASE_URL"], connection.settings_dict["NAME"]),
        broker_url=own_redis.url, queue=queue, log_path=tmp_path / "worker.log",
        extra_env={"MOP_IMPORT_DIR": str(import_root)}, concurrency=1,
    )
    try:
        with celery_on(own_redis.url, queue):
            worker.wait_ready(app)
            yield worker
    finally:
        worker.stop()


def test_an_outage_fails_the_run_and_the_worker_carries_on_after_it(own_worker, own_redis, make_database, dba):
    conn = make_database("outage")
    target = target_for(conn, AlembicProjectFactory(name="billing"), name="outage-target")

    own_redis.stop()
    with pytest.raises(dispatch.BrokerUnavailable):
        services.schedule_run(target=target, operation="upgrade", revision="head", user=dba)
    failed = Run.objects.get(target=target)
    assert failed.status == Run.Status.FAILED and failed.error_code == "broker_unavailable"

    own_redis.start()
    run_operation.apply_async((failed.pk,), task_id=failed.celery_task_id)  # the "lost reply" case
    ok = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head", user=dba),
                           timeout=120)

    assert ok.status == Run.Status.SUCCEEDED, ok.error
    assert alembic_current(BILLING, conn) == {BILLING_HEAD}
    wait_for(lambda: f"[{failed.celery_task_id}] succeeded" in own_worker.log_text(), 60,
             what="the stale task to reach the worker")
    failed.refresh_from_db()
    assert failed.status == Run.Status.FAILED and failed.started_at is None and failed.worker == ""
    assert not Run.objects.filter(status=Run.Status.QUEUED).exists()
