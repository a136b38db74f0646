"""One run per target; blocked runs name their blocker; cancels and timeouts roll the step back."""

from __future__ import annotations

import threading
import time

import pytest

from migrations_ops.errors import Cancelled, LockTimeout, StatementTimeout, TargetBusy
from migrations_ops.schema.runner import cancel_run_backend, run_plan
from migrations_ops.target import connect
from tests.engine.alembic_factory import Factory, alembic_current, linear, slow_middle
from tests.polling import wait_for


def backend_running(target, app: str, words: str) -> bool:
    with connect(target, "mop-tests") as c:
        row = c.execute("SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND query LIKE %s",
                        [app, f"%{words}%"]).fetchone()
    return row is not None


def in_thread(fn):
    box: dict = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def test_it_lets_exactly_one_of_two_simultaneous_runs_execute(tmp_path, target_db):
    project = slow_middle(tmp_path, 1.5).resolved()
    barrier = threading.Barrier(2)

    def go(run_id):
        def fn():
            barrier.wait()
            return run_plan(target_db, project, "upgrade", "head", run_id=run_id)
        return fn

    (t1, b1), (t2, b2) = in_thread(go(1)), in_thread(go(2))
    t1.join(30)
    t2.join(30)
    outcomes = sorted([b1, b2], key=lambda b: "error" in b)
    assert outcomes[0]["result"].to_heads == ("s3",)
    busy = outcomes[1]["error"]
    assert isinstance(busy, TargetBusy)
    winner = 1 if "result" in b1 else 2
    assert busy.fields["holder_application"] == f"mop:run:{winner}"
    assert busy.fields["holder_pid"] and f"mop:run:{winner}" in str(busy)
    assert alembic_current(tmp_path, target_db) == {"s3"}


def test_it_names_the_blocking_backend_on_lock_timeout(tmp_path, target_db):
    f = Factory(tmp_path)
    f.table_rev("l1", None, "accounts")
    f.rev("l2", "l1", "add a column", upgrade='op.add_column("accounts", sa.Column("note", sa.Text))',
          downgrade='op.drop_column("accounts", "note")')
    project = f.resolved()
    run_plan(target_db, project, "upgrade", "l1", run_id="setup")
    holder = connect(target_db, "reporting-job", autocommit=False)
    try:
        holder.execute("SELECT count(*) FROM accounts")  # ACCESS SHARE lock, transaction left open
        holder_pid = holder.info.backend_pid
        started = time.monotonic()
        with pytest.raises(LockTimeout) as exc:
            run_plan(target_db, project, "upgrade", "head", run_id=9, lock_timeout_ms=800, lock_retries=0)
        elapsed = time.monotonic() - started
    finally:
        holder.close()
    err = exc.value
    assert err.fields["blocker_pid"] == holder_pid
    assert err.fields["blocker_application"] == "reporting-job"
    assert "SELECT count(*) FROM accounts" in err.fields["blocker_query"]
    assert err.fields["blocker_state"] == "idle in transaction"
    assert err.fields["revision"] == "l2"
    assert f"pid {holder_pid}" in str(err) and "reporting-job" in str(err)
    # The picture taken while the run waited shows the holder as the root blocking our backend.
    assert err.snapshot is not None
    roots = [r for r in err.snapshot.tree.roots if r.blocks_transitively]
    assert [r.pid for r in roots] == [holder_pid]
    assert [c.application_name for c in roots[0].children] == ["mop:run:9"]
    assert "snapshot" not in err.data()
    assert elapsed < 5
    assert alembic_current(tmp_path, target_db) == {"l1"}
    assert run_plan(target_db, project, "upgrade", "head", run_id=10).to_heads == ("l2",)


def test_it_names_an_open_update_as_blocker(tmp_path, target_db):
    f = linear(tmp_path, 1)
    f.rev("r2", "r1", "alter", upgrade='op.add_column("t1", sa.Column("x", sa.Integer))')
    project = f.resolved()
    run_plan(target_db, project, "upgrade", "r1", run_id="setup")
    holder = connect(target_db, "app-writer", autocommit=False)
    try:
        holder.execute("INSERT INTO t1 (id) VALUES (1)")
        holder.execute("UPDATE t1 SET id = 2 WHERE id = 1")
        with pytest.raises(LockTimeout) as exc:
            run_plan(target_db, project, "upgrade", "head", run_id=11, lock_timeout_ms=500, lock_retries=0)
    finally:
        holder.close()
    assert exc.value.fields["blocker_application"] == "app-writer"
    assert "UPDATE t1" in exc.value.fields["blocker_query"]


def test_it_cancels_the_step_in_flight(tmp_path, target_db):
    project = slow_middle(tmp_path, 30).resolved()
    cancel = threading.Event()
    t, box = in_thread(lambda: run_plan(target_db, project, "upgrade", "head", run_id=21,
                                         should_cancel=cancel.is_set))
    wait_for(lambda: backend_running(target_db, "mop:run:21", "pg_sleep"))
    cancel.set()
    assert cancel_run_backend(target_db, 21) == 1
    t.join(10)
    assert isinstance(box.get("error"), Cancelled), box
    assert box["error"].fields["revision"] == "s2"
    assert alembic_current(tmp_path, target_db) == {"s1"}


def test_it_stops_between_steps_when_asked(tmp_path, target_db):
    project = linear(tmp_path, 3).resolved()
    committed = []

    def progress(p):
        if p.data.get("event") == "step_committed":
            committed.append(p.step)

    with pytest.raises(Cancelled):
        run_plan(target_db, project, "upgrade", "head", run_id=22, progress=progress,
                 should_cancel=lambda: len(committed) >= 2)
    assert alembic_current(tmp_path, target_db) == {"r2"}


def test_it_reports_statement_timeout(tmp_path, target_db):
    project = slow_middle(tmp_path, 5).resolved()
    with pytest.raises(StatementTimeout) as exc:
        run_plan(target_db, project, "upgrade", "head", run_id=23, statement_timeout_ms=400)
    assert exc.value.fields["revision"] == "s2"
    assert alembic_current(tmp_path, target_db) == {"s1"}


def test_cancel_of_an_idle_run_signals_nothing(target_db):
    assert cancel_run_backend(target_db, "no-such-run") == 0
