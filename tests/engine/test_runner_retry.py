"""A run that loses a lock race retries with backoff and resumes at the step that failed.

Contention is real: a background session holds ACCESS SHARE on a table the
second step ALTERs. Backoff delays come from an injected ``rng`` that always
picks the top of the jitter range, and most tests inject ``sleep`` too, so the
timings are deterministic and short.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from migrations_ops.errors import Cancelled, LockTimeout, MigrationFailed, PlanError, TargetBusy
from migrations_ops.progress import Progress
from migrations_ops.schema.alembic_env import compute_steps, load_script, simulate_heads
from migrations_ops.schema.retry import absolute_destination
from migrations_ops.schema.runner import run_plan
from migrations_ops.target import TargetConn, connect
from tests.engine.alembic_factory import Factory, alembic_current, branched, linear


class TopOfRange:
    """An ``rng`` that always waits the longest full jitter allows: deterministic delays."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Log(list[Progress]):
    """The progress reports of a run, with the few lookups the tests need."""

    def __call__(self, p: Progress) -> None:
        self.append(p)

    def events(self, name: str) -> list[Progress]:
        return [p for p in self if p.data.get("event") == name]

    def steps(self, name: str) -> list[str | None]:
        return [p.step for p in self.events(name)]


def three_steps(root: Path) -> Factory:
    """r0 creates ``accounts`` (set up beforehand); r1, r2 (ALTERs accounts), r3 are the plan."""
    f = Factory(root)
    f.table_rev("r0", None, "accounts")
    f.table_rev("r1", "r0", "first")
    f.rev("r2", "r1", "add a column to accounts", upgrade='op.add_column("accounts", sa.Column("note", sa.Text))',
          downgrade='op.drop_column("accounts", "note")')
    f.table_rev("r3", "r2", "third")
    return f


@pytest.fixture
def project(tmp_path, target_db):
    f = three_steps(tmp_path)
    resolved = f.resolved()
    run_plan(target_db, resolved, "upgrade", "r0", run_id="setup")
    return resolved


def hold_accounts(target: TargetConn) -> psycopg.Connection:
    """A session that keeps ACCESS SHARE on ``accounts`` (an open reporting transaction)."""
    holder = connect(target, "reporting-job", autocommit=False)
    holder.execute("SELECT count(*) FROM accounts")
    return holder


def columns(target: TargetConn, table: str) -> set[str]:
    with connect(target, "mop-tests") as c:
        rows = c.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                         [table]).fetchall()
    return {r[0] for r in rows}


def test_it_succeeds_on_a_later_attempt_once_the_blocker_commits(tmp_path, target_db, project):
    holder = hold_accounts(target_db)
    holder_pid = holder.info.backend_pid
    release = threading.Timer(2.5, holder.commit)
    log, slept = Log(), []
    release.start()
    try:
        result = run_plan(target_db, project, "upgrade", "head", run_id=31, lock_timeout_ms=300, lock_retries=5,
                          retry_backoff_s=0.2, retry_backoff_max_s=1.0, progress=log,
                          sleep=lambda s: (slept.append(s), time.sleep(s)), rng=TopOfRange())
    finally:
        release.join()
        holder.close()
    assert result.to_heads == ("r3",)
    assert [s.revision for s in result.steps] == ["r1", "r2", "r3"]
    retries = log.events("lock_retry")
    assert 1 <= len(retries) <= 5
    assert [p.data["attempt"] for p in retries] == list(range(1, len(retries) + 1))
    assert [p.data["delay_s"] for p in retries] == [0.2, 0.4, 0.8, 1.0, 1.0][: len(retries)]
    assert sum(slept) == pytest.approx(sum(p.data["delay_s"] for p in retries))
    for p in retries:
        assert p.level == "warning" and p.step == "r2"
        assert p.data["blocker"]["pid"] == holder_pid
        assert p.data["blocker"]["application"] == "reporting-job"
        assert p.data["blocker"]["state"] == "idle in transaction"
        assert "SELECT count(*) FROM accounts" in p.data["blocker"]["query"]
        assert f"pid {holder_pid}" in p.message
    assert log.steps("step_committed") == ["r1", "r2", "r3"]
    assert log.steps("step_started") == ["r1"] + ["r2"] * (len(retries) + 1) + ["r3"]
    assert all(p.total == 3 for p in log)
    assert not log.events("failed")
    assert alembic_current(tmp_path, target_db) == {"r3"}
    assert "note" in columns(target_db, "accounts")


def test_it_gives_up_after_the_last_attempt_and_keeps_the_committed_steps(tmp_path, target_db, project):
    holder = hold_accounts(target_db)
    holder_pid = holder.info.backend_pid
    log, slept, busy = Log(), [], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if not busy:  # between attempts the target's advisory lock is still ours
            with pytest.raises(TargetBusy) as exc:
                run_plan(target_db, project, "upgrade", "head", run_id=33)
            busy.append(exc.value)

    try:
        with pytest.raises(LockTimeout) as exc:
            # "+3" from r0 means r3; re-applied from r1 it would be too far (PlanError)
            run_plan(target_db, project, "upgrade", "+3", run_id=32, lock_timeout_ms=300, lock_retries=1,
                     retry_backoff_s=0.5, progress=log, sleep=sleep, rng=TopOfRange())
    finally:
        holder.close()
    err = exc.value
    assert err.fields["attempts"] == 2 and "after 2 attempts" in str(err)
    assert err.fields["revision"] == "r2" and err.fields["blocker_pid"] == holder_pid
    assert busy[0].fields["holder_application"] == "mop:run:32"
    assert sum(slept) == pytest.approx(0.5)
    assert log.steps("step_started") == ["r1", "r2", "r2"]
    assert log.steps("step_committed") == ["r1"]
    [resume] = log.events("resume")
    assert [s["revision"] for s in resume.data["steps"]] == ["r2", "r3"] and resume.data["attempt"] == 2
    [failed] = log.events("failed")
    assert failed.data["code"] == "lock_timeout" and failed.data["attempts"] == 2
    assert failed.data["blocker"]["pid"] == holder_pid
    assert alembic_current(tmp_path, target_db) == {"r1"}
    assert "note" not in columns(target_db, "accounts")


def test_it_stops_promptly_when_cancelled_during_a_backoff(tmp_path, target_db, project):
    holder = hold_accounts(target_db)
    cancel = threading.Event()
    asked: list[float] = []
    log = Log()

    def progress(p: Progress) -> None:
        log(p)
        if p.data.get("event") == "lock_retry":  # the DBA presses Cancel 0.3 s into a 30 s backoff
            threading.Timer(0.3, lambda: (asked.append(time.monotonic()), cancel.set())).start()

    try:
        with pytest.raises(Cancelled) as exc:
            run_plan(target_db, project, "upgrade", "head", run_id=34, lock_timeout_ms=300, lock_retries=3,
                     retry_backoff_s=30, progress=progress, should_cancel=cancel.is_set, rng=TopOfRange())
        stopped = time.monotonic()
    finally:
        holder.close()
    [retry_event] = log.events("lock_retry")
    assert retry_event.data["delay_s"] == 30
    assert stopped - asked[0] < 0.5
    assert exc.value.fields["revision"] == "r2"
    assert not log.events("resume")
    assert log.events("failed")[0].data["code"] == "cancelled"
    assert alembic_current(tmp_path, target_db) == {"r1"}


def test_it_never_retries_other_errors(tmp_path, target_db):
    f = linear(tmp_path, 1)
    f.rev("r2", "r1", "divides by zero", upgrade='op.execute("SELECT 1 / 0")')
    log, slept = Log(), []
    with pytest.raises(MigrationFailed) as exc:
        run_plan(target_db, f.resolved(), "upgrade", "head", run_id=35, lock_retries=5, progress=log,
                 sleep=slept.append, rng=TopOfRange())
    assert "division by zero" in str(exc.value)
    assert slept == [] and not log.events("lock_retry")
    assert log.steps("step_started") == ["r1", "r2"]
    assert alembic_current(tmp_path, target_db) == {"r1"}


def test_it_does_not_retry_when_lock_retries_is_zero(tmp_path, target_db, project):
    holder = hold_accounts(target_db)
    log, slept = Log(), []
    try:
        with pytest.raises(LockTimeout) as exc:
            run_plan(target_db, project, "upgrade", "head", run_id=36, lock_timeout_ms=200, lock_retries=0,
                     progress=log, sleep=slept.append)
    finally:
        holder.close()
    assert exc.value.fields["attempts"] == 1 and "attempts" not in str(exc.value)
    assert slept == [] and not log.events("lock_retry")
    assert alembic_current(tmp_path, target_db) == {"r1"}


@pytest.mark.parametrize("bad", [{"lock_retries": -1}, {"lock_retries": 1.5}, {"retry_backoff_s": -0.1},
                                 {"retry_backoff_max_s": float("nan")}])
def test_it_refuses_bad_retry_settings(tmp_path, bad):
    with pytest.raises(PlanError):
        run_plan(TargetConn(host="127.0.0.1", dbname="never-used", user="x"), linear(tmp_path, 1).resolved(),
                 "upgrade", "head", run_id=37, **bad)


@pytest.mark.parametrize(
    ("shape", "operation", "revision", "start", "later", "destination"),
    [
        ("linear", "upgrade", "+2", ("r1",), ("r2",), "r3"),
        ("linear", "downgrade", "-2", ("r3",), ("r2",), "r1"),
        ("linear", "downgrade", "-3", ("r3",), ("r1",), "base"),
        ("linear", "upgrade", "head", (), ("r1",), "head"),
        ("branched", "downgrade", "left@-1", ("b2l", "b2r"), ("b2l", "b2r"), "left@b1"),
        ("branched", "upgrade", "left@+1", ("b1",), ("b1",), "b2l"),
    ],
)
def test_it_makes_relative_destinations_absolute_once(tmp_path, shape, operation, revision, start, later,
                                                      destination):
    script = load_script((linear(tmp_path, 3) if shape == "linear" else branched(tmp_path)).resolved())
    steps = compute_steps(script, operation, revision, start)
    to_heads = simulate_heads(start, steps)
    assert absolute_destination(operation, revision, steps, to_heads) == destination
    resumed = compute_steps(script, operation, destination, later)
    assert simulate_heads(later, resumed) == to_heads


def test_it_says_when_the_blocker_was_not_identified():
    err = LockTimeout("r2", None, None, None)
    assert str(err) == "Lock timeout in revision r2: blocker not identified (the lock wait ended before it was sampled)"
    assert "already gone" not in str(err)
