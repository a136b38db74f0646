"""The reaper fails runs left queued whose task no queue and no worker holds; a copy blocked by one says what to do.

The broker is a Redis server this test starts and stops itself; tasks are
published to a queue no worker consumes, so "waiting in the queue" is real.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import datetime as dt
import io
import time
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils.timezone import now

from portal.ops import copying, dispatch, services
from portal.ops.models import AuditEvent, Run
from tests.damaged_sqlite import good_sqlite
from tests.factories import AlembicProjectFactory, RunFactory, target_for
from tests.portal.copy_helpers import import_dir, pg_exec, rel  # noqa: F401
from tests.portal.own_redis import celery_on, own_redis  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def target(make_database):
    conn = make_database("orphan")
    pg_exec(conn, "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);"
                  "CREATE TABLE items (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), v text)")
    return target_for(conn, AlembicProjectFactory(name="billing"), name="orphan-target")


@pytest.fixture
def broker(own_redis):
    with celery_on(own_redis.url, f"mop-orphans-{uuid.uuid4().hex[:6]}"):
        yield own_redis


def _age(run: Run, seconds: int) -> Run:
    Run.objects.filter(pk=run.pk).update(created_at=now() - dt.timedelta(seconds=seconds))
    run.refresh_from_db()
    return run


def _lost(target, operation: str = "upgrade", **params) -> Run:
    """A queued run whose task the broker never got (as after a Redis restart without persistence)."""
    return RunFactory(target=target, operation=operation, revision="head", actor="dba", params=params,
                              celery_task_id=str(uuid.uuid4()))


def test_it_fails_an_old_queued_run_whose_task_is_gone(target, broker) -> None:
    lost = _age(_lost(target), 600)
    young = _age(_lost(target), 10)

    reaped = dispatch.reap_orphaned_queued(limit_seconds=300)

    assert [r.pk for r in reaped] == [lost.pk]
    lost.refresh_from_db()
    young.refresh_from_db()
    assert lost.status == Run.Status.FAILED and lost.error_code == "never_started"
    assert "no worker or queue holds its task" in lost.error and "Schedule the run again" in lost.error_explanation
    assert young.status == Run.Status.QUEUED
    event = AuditEvent.objects.get(run=lost, action="run.orphan_reaped")
    assert event.outcome == "failed" and event.params["code"] == "never_started"


def test_it_leaves_a_run_whose_task_waits_in_the_queue(target, dba, broker) -> None:
    waiting = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba)
    _age(waiting, 600)  # published to a queue no worker consumes: old, but alive

    assert dispatch.tasks_alive([waiting.celery_task_id]) == {waiting.celery_task_id}
    assert dispatch.reap_orphaned_queued(limit_seconds=300) == []
    waiting.refresh_from_db()
    assert waiting.status == Run.Status.QUEUED


def test_a_copy_blocked_by_an_orphan_says_what_to_do_then_goes_after_the_reaper(
    target, dba, import_dir, broker
) -> None:
    source = rel(good_sqlite(import_dir / "ok.sqlite", rows=20))
    orphan = _age(_lost(target, "copy", copy_id="lost1", source=source), 900)

    with pytest.raises(ValidationError) as exc:
        copying.schedule_copy(target=target, source=source, user=dba)
    message = " ".join(exc.value.messages)
    assert message.count(". ") == 0 and message.endswith("copy again.")  # one sentence
    assert f"copy run #{orphan.pk}" in message and "without a worker starting it" in message
    assert f"ops cancel {orphan.pk}" in message

    out = io.StringIO()
    call_command("ops", "reap", stdout=out)  # what beat runs every 30 s
    assert f"Run #{orphan.pk} on orphan-target failed" in out.getvalue()
    orphan.refresh_from_db()
    assert orphan.status == Run.Status.FAILED and orphan.params["never_opened"] is True
    run = copying.schedule_copy(target=target, source=source, user=dba)
    assert run.status == Run.Status.QUEUED and run.pk != orphan.pk


def test_the_reaper_still_works_while_redis_is_down(target, broker) -> None:
    lost = _age(_lost(target), 600)
    broker.stop()
    started = time.monotonic()

    reaped = dispatch.reap_orphaned_queued(limit_seconds=300)

    assert time.monotonic() - started < 30
    assert [r.pk for r in reaped] == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == Run.Status.FAILED
