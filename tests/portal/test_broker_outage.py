"""Scheduling while the broker is down: a clear message, and no queued run left behind, for every kind of run.

The broker is a Redis server this test starts and stops itself (``own_redis``);
the shared Redis on 6379 is never touched. With Redis down, each way to
schedule (service, CLI, admin) answers with one sentence, the run it had
recorded is FAILED (``broker_unavailable``) and audited, and a copy that
could not be queued blocks no later copy.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import time
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from portal.ops import copying, dispatch, services, verifying
from portal.ops.models import AuditEvent, Run
from tests.damaged_sqlite import good_sqlite
from tests.factories import AlembicProjectFactory, target_for
from tests.portal.admin_helpers import dba_client  # noqa: F401
from tests.portal.copy_helpers import import_dir, pg_exec, rel  # noqa: F401
from tests.portal.own_redis import celery_on, own_redis  # noqa: F401

USERS_DDL = ("CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);"
             "CREATE TABLE items (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), v text)")


@pytest.fixture
def target(transactional_db, make_database):
    conn = make_database("broker")
    pg_exec(conn, USERS_DDL)
    return target_for(conn, AlembicProjectFactory(name="billing"), name="broker-target")


@pytest.fixture
def source(import_dir):
    return rel(good_sqlite(import_dir / "ok.sqlite", rows=20))


@pytest.fixture
def redis_down(own_redis):
    """This process publishes to our own Redis, which is then stopped."""
    with celery_on(own_redis.url, f"mop-outage-{uuid.uuid4().hex[:6]}"):
        own_redis.stop()
        yield own_redis


def _assert_failed_not_queued(run: Run) -> None:
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.error_code == "broker_unavailable"
    assert "Redis" in run.error_explanation and run.finished_at is not None
    event = AuditEvent.objects.get(run=run, action="run.dispatch_failed")
    assert event.outcome == "failed" and event.actor_kind == "system"
    assert not Run.objects.filter(status=Run.Status.QUEUED).exists()


SCHEDULERS = {
    "upgrade": lambda t, s, u: services.schedule_run(target=t, operation="upgrade", revision="head", user=u),
    "stamp": lambda t, s, u: services.schedule_run(target=t, operation="stamp", revision="head", user=u),
    "copy": lambda t, s, u: copying.schedule_copy(target=t, source=s, user=u),
    "verify": lambda t, s, u: verifying.schedule_verify(target=t, source=s, user=u),
}


@pytest.mark.parametrize("kind", sorted(SCHEDULERS))
def test_it_fails_the_run_and_says_why_when_redis_is_down(target, source, dba, redis_down, kind: str) -> None:
    started = time.monotonic()
    with pytest.raises(dispatch.BrokerUnavailable) as exc:
        SCHEDULERS[kind](target, source, dba)

    assert time.monotonic() - started < 15  # answered, not hung
    message = " ".join(exc.value.messages)
    assert "could not be queued" in message and "Redis" in message and "schedule it again" in message
    run = Run.objects.get(target=target)
    assert f"#{run.pk}" in message
    _assert_failed_not_queued(run)
    if kind == "copy":
        assert run.params["never_opened"] is True
        assert copying.active_copy(target) is None and copying.unfinished_copy(target) is None


@pytest.mark.parametrize("argv", [
    ["upgrade", "broker-target", "head"],
    ["stamp", "broker-target", "head"],
    ["copy", "broker-target", "--sqlite", "{source}"],
    ["verify", "broker-target"],
])
def test_the_cli_answers_in_one_line_with_exit_2(target, source, dba, redis_down, argv) -> None:
    argv = [a.replace("{source}", source) for a in argv]
    with pytest.raises(CommandError) as exc:
        call_command("ops", "--user", dba.username, *argv, stdout=io.StringIO(), stderr=io.StringIO())

    assert exc.value.returncode == 2
    assert "could not be queued" in str(exc.value) and "\n" not in str(exc.value)
    _assert_failed_not_queued(Run.objects.get(target=target))


def test_the_admin_shows_the_message_instead_of_a_500(dba_client, target, source, redis_down) -> None:
    resp = dba_client.post(reverse("admin:ops_target_copy", args=[target.pk]),
                           {"post": "yes", "source": source, "text_policy": "reject"}, follow=True)
    assert resp.status_code == 200
    assert "could not be queued" in resp.content.decode()
    _assert_failed_not_queued(Run.objects.get(target=target))

    resp = dba_client.post(reverse("admin:ops_target_verify", args=[target.pk]), {"target_only": "1"}, follow=True)
    assert resp.status_code == 200 and "could not be queued" in resp.content.decode()

    resp = dba_client.post(reverse("admin:ops_target_schedule", args=[target.pk]),
                           {"post": "yes", "operation": "upgrade", "revision": "head", "expected_from": ""},
                           follow=True)
    assert resp.status_code == 200 and "could not be queued" in resp.content.decode()
    assert Run.objects.filter(status=Run.Status.FAILED, error_code="broker_unavailable").count() == 3
    assert not Run.objects.filter(status=Run.Status.QUEUED).exists()


def test_a_copy_after_the_outage_is_not_blocked(target, source, dba, own_redis) -> None:
    queue = f"mop-outage-{uuid.uuid4().hex[:6]}"
    with celery_on(own_redis.url, queue):
        own_redis.stop()
        with pytest.raises(dispatch.BrokerUnavailable):
            copying.schedule_copy(target=target, source=source, user=dba)
        own_redis.start()  # Redis is back: the next copy is accepted and queued
        run = copying.schedule_copy(target=target, source=source, user=dba)
    assert run.status == Run.Status.QUEUED
    with celery_on(own_redis.url, queue):
        assert dispatch.tasks_alive([run.celery_task_id]) == {run.celery_task_id}
