"""Runs on a real worker that dies, collides or is cancelled: the run's state stays honest."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from portal.ops import lifecycle, services
from portal.ops.models import AuditEvent, Run, RunLog
from tests.engine.alembic_factory import Factory, alembic_current, slow_middle
from tests.factories import AlembicProjectFactory, target_for
from tests.polling import wait_for
from tests.portal.conftest import publishing_to, wait_run_finished

pytestmark = pytest.mark.worker


def run_backends(conn) -> list[int]:
    """pids of run sessions (application_name mop:run:...) on the target."""
    with psycopg.connect(**conn.connect_kwargs("mop-tests"), autocommit=True) as c:
        return [r[0] for r in c.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name LIKE 'mop:run:%%'",
            [conn.dbname],
        )]


def portal_application_names() -> set[str]:
    """application_name of every session on the portal (test) database."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT application_name FROM pg_stat_activity WHERE datname = current_database()")
        return {r[0] for r in cur.fetchall()}


def slow_target(tmp_path, make_database, seconds: float, name: str):
    project_dir = tmp_path / "slow"
    slow_middle(project_dir, seconds)
    conn = make_database("slow")
    project = AlembicProjectFactory(name=f"slow-{uuid.uuid4().hex[:6]}", location=str(project_dir))
    return conn, project_dir, target_for(conn, project, name=name)


def wait_step(run, revision: str):
    def at_step():
        run.refresh_from_db()
        return run.current_step == revision and run.status == Run.Status.RUNNING
    wait_for(at_step, 60, what=f"run #{run.pk} to reach {revision}")


def test_it_interrupts_a_run_whose_worker_was_killed_and_a_new_run_completes(
    transactional_db, celery_worker_proc, make_worker, make_database, tmp_path, dba
):
    conn, project_dir, target = slow_target(tmp_path, make_database, 5, "doomed")
    queue = f"mop-kill-{uuid.uuid4().hex[:6]}"
    doomed_worker = make_worker(queue=queue, application_name=None)
    with publishing_to(queue):
        run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba)
    wait_step(run, "s2")
    assert "mop-worker" in portal_application_names(), "the worker names its own connections"

    doomed_worker.kill()
    reaped = wait_for(lambda: lifecycle.reap_stale_runs(stale_seconds=2), 30, what="the reaper")

    run.refresh_from_db()
    assert [r.pk for r in reaped] == [run.pk]
    assert run.status == Run.Status.INTERRUPTED and run.finished_at
    assert run.result_heads == ["s1"] == sorted(alembic_current(project_dir, conn))
    assert "heartbeat" in run.error
    assert AuditEvent.objects.filter(run=run, action="run.interrupted", outcome="interrupted").count() == 1
    assert not lifecycle.reap_stale_runs(stale_seconds=2), "a reaped run is not reaped twice"

    # The killed worker's backend ends when its statement does (the client is gone).
    wait_for(lambda: not run_backends(conn), 30, what="the orphaned backend to go")
    again = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head", user=dba))
    assert again.status == Run.Status.SUCCEEDED, again.error
    assert again.from_heads == ["s1"] and again.result_heads == ["s3"]
    assert alembic_current(project_dir, conn) == {"s3"}
    run.refresh_from_db()
    assert run.status == Run.Status.INTERRUPTED, "the interrupted run was not re-executed"


def test_it_runs_exactly_one_of_two_runs_on_one_target(
    transactional_db, celery_worker_proc, make_database, tmp_path, dba
):
    conn, project_dir, target = slow_target(tmp_path, make_database, 3, "contended")
    first = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba)
    second = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba)
    runs = [wait_run_finished(first), wait_run_finished(second)]

    statuses = sorted(r.status for r in runs)
    assert statuses == [Run.Status.FAILED, Run.Status.SUCCEEDED], [(r.status, r.error) for r in runs]
    winner = next(r for r in runs if r.status == Run.Status.SUCCEEDED)
    loser = next(r for r in runs if r.status == Run.Status.FAILED)
    assert loser.error_code == "target_busy", loser.error
    assert f"mop:run:{winner.pk}" in loser.error
    assert loser.steps_done == 0 and not RunLog.objects.filter(run=loser, message__startswith="Committed").exists()
    assert RunLog.objects.filter(run=winner, message__startswith="Committed").count() == 3
    assert alembic_current(project_dir, conn) == {"s3"}


def test_it_cancels_a_running_run_and_its_statement_in_flight(
    transactional_db, celery_worker_proc, make_database, tmp_path, dba
):
    conn, project_dir, target = slow_target(tmp_path, make_database, 60, "cancelled")
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba)
    wait_step(run, "s2")
    beat = run.heartbeat_at
    wait_for(lambda: Run.objects.get(pk=run.pk).heartbeat_at > beat, 10, what="a heartbeat during a long statement")
    assert "mop-worker" in portal_application_names()

    services.cancel_run(run, user=dba)
    run = wait_run_finished(run, timeout=20)

    assert run.status == Run.Status.CANCELLED, run.error
    assert run.cancel_requested_by == "dba" and run.cancel_requested_at
    assert run.error_code == "cancelled"
    assert run.result_heads == ["s1"] and alembic_current(project_dir, conn) == {"s1"}
    assert AuditEvent.objects.filter(run=run, action="run.cancel_requested").exists()
    assert AuditEvent.objects.get(run=run, action="run.finished").outcome == "cancelled"


def test_it_fails_within_the_lock_timeout_naming_the_blocker(
    transactional_db, celery_worker_proc, make_database, tmp_path, dba
):
    conn = make_database("locked")
    factory = Factory(tmp_path / "locked")
    factory.table_rev("r1", None, "t1")
    factory.rev("r2", "r1", "add a column", upgrade='op.add_column("t1", sa.Column("n", sa.Integer))',
                downgrade='op.drop_column("t1", "n")')
    target = target_for(conn, AlembicProjectFactory(name="locked", location=str(factory.root)), name="locked")
    first = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="r1", user=dba))
    assert first.status == Run.Status.SUCCEEDED, first.error

    with psycopg.connect(**conn.connect_kwargs("held-by-test")) as holder:
        holder.execute("LOCK TABLE t1 IN ACCESS SHARE MODE")
        holder_pid = holder.info.backend_pid
        run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                    lock_timeout_ms=300, lock_retries=0)  # one attempt, as timed below
        run = wait_run_finished(run, timeout=30)
        holder.rollback()

    assert run.status == Run.Status.FAILED and run.error_code == "lock_timeout", run.error
    assert str(holder_pid) in run.error and "held-by-test" in run.error
    assert run.error_data["blocker_pid"] == holder_pid and run.error_explanation
    assert run.result_heads == ["r1"] and alembic_current(factory.root, conn) == {"r1"}
    assert (run.finished_at - run.started_at).total_seconds() < 10
