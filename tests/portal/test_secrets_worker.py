"""On a real Celery worker: no password leaves for a cleartext server, and error texts are stored redacted.

A run and the periodic lock snapshot go through the worker process against
a fake PostgreSQL server of the test (it asks for a cleartext password and
records what it gets); an upgrade whose error message carries the target's
password and the portal's secret key is stored, logged, audited and shown
with both redacted.
"""
# ruff: noqa: F811

from __future__ import annotations

import json
import uuid

import pytest
from django.conf import settings
from django.urls import reverse

from portal.ops import services, tasks
from portal.ops.models import AuditEvent, Run, RunLog, Target
from tests.engine.alembic_factory import Factory
from tests.factories import AlembicProjectFactory, RunFactory, TargetFactory, target_for
from tests.fake_pg import fake_pg_server
from tests.polling import wait_for
from tests.portal.admin_helpers import dba_client  # noqa: F401
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker


def queued_run(target: Target) -> Run:
    """A run as schedule_run leaves it (its plan cannot be made here: the server refuses us too)."""
    return RunFactory(target=target,
                              celery_task_id=str(uuid.uuid4()), params={"lock_retries": 0})


def test_it_sends_no_password_from_a_worker_run_or_snapshot(transactional_db, celery_worker_proc):
    with fake_pg_server() as server:
        stored = TargetFactory(name="stored", host=server.host, port=server.port, dbname="victim", user="app",
                               sslmode="disable", password="stored-pw-worker-1")
        refused = TargetFactory(name="refused", host=server.host, port=server.port, dbname="victim2", user="app",
                                sslmode="disable")
        Target.objects.filter(pk=refused.pk).update(password_env="MOP_FERNET_KEYS")  # a row from before the check
        runs = [queued_run(stored), queued_run(refused)]
        for run in runs:
            tasks.schema.run_operation.apply_async((run.pk,), task_id=run.celery_task_id)
        ran, env_run = (wait_run_finished(r) for r in runs)
        tasks.periodic.snapshot_all_targets.delay()
        wait_for(lambda: server.settled(2), 60, what="the worker's run and snapshot connections")
    assert (ran.status, ran.error_code) == (Run.Status.FAILED, "auth_method_refused"), ran.error
    assert "only SCRAM-SHA-256" in ran.error_explanation
    assert (env_run.status, env_run.error_code) == (Run.Status.FAILED, "password_env_refused"), env_run.error
    assert server.passwords == []
    assert {c.startup["database"] for c in server.captures} == {"victim"}  # the refused target never connected
    assert any(c.startup["application_name"].startswith("mop:") for c in server.captures)


def test_it_stores_and_shows_an_error_carrying_secrets_redacted(
    transactional_db, celery_worker_proc, make_database, dba, dba_client, tmp_path
):
    conn = make_database("redact")
    secret_key = settings.SECRET_KEY  # the worker's DJANGO_SECRET_KEY is the same
    f = Factory(tmp_path / "proj")
    f.table_rev("r1", None, "t1")
    f.rev("r2", "r1", "leaks", upgrade=f"raise RuntimeError('login as app with {conn.password} / {secret_key}')")
    target = target_for(conn, AlembicProjectFactory(name="leaky", location=str(f.root)), name="leaky")

    # The revision raises offline too, so the preview stopped: scheduling it needs the acknowledgement.
    run = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                                  acknowledge_preview_failure=True))
    assert (run.status, run.error_code) == (Run.Status.FAILED, "migration_failed"), run.error
    assert "login as app with ***" in run.error and run.result_heads == ["r1"]

    stored = [run.error, json.dumps(run.error_data), run.error_explanation,
              *RunLog.objects.filter(run=run).values_list("message", flat=True)]
    for event in AuditEvent.objects.filter(run=run):
        stored += [event.error, json.dumps(event.params)]
    page = dba_client.get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    live = dba_client.get(reverse("admin:ops_run_live", args=[run.pk])).content.decode()
    for text in (*stored, page, live):
        assert conn.password not in text and secret_key not in text
    assert "login as app with ***" in page
