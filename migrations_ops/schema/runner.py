"""Run an upgrade, downgrade or stamp on a target, one revision per transaction.

The steps of ``run_plan``:

1. import every revision file of the project (a broken one stops us here);
2. connect with ``application_name = mop:run:<id>``, set ``lock_timeout``,
   ``statement_timeout`` and ``client_connection_check_interval``, take the
   target's session advisory lock and commit (no outer transaction stays
   open, so ``autocommit_block()`` works);
3. read the live heads, compare with ``expected_from``, compute the steps;
4. run them in a portal-managed ``EnvironmentContext`` (or the project's own
   ``env.py``, whose ``configure()`` is forced onto our connection), reporting
   progress at every step boundary and checking ``should_cancel`` between steps;
5. on ``LockTimeout``, with retries left: log the attempt and its blocker, wait
   (exponential backoff, full jitter, cancellable), re-read the live heads and
   resume at the failed step towards the same absolute destination, still
   holding the advisory lock (``retry.py``);
6. read the version table again and compare with the planned heads.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from alembic import util as alembic_util
from alembic.runtime.migration import MigrationContext, MigrationStep
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from .. import advisory, queries
from ..errors import (
    Cancelled,
    ConnectionLost,
    LockTimeout,
    MigrationFailed,
    OpsError,
    PlanError,
    StatementTimeout,
    TargetBusy,
    TargetMoved,
    VersionMismatch,
)
from ..progress import CancelFn, Progress, ProgressFn, never_cancel, no_progress
from ..target import TargetConn, connect, redact_text
from .alembic_env import PortalEnvironment, as_resolved, compute_steps, load_script, simulate_heads
from .custom_ops import load_operation_modules
from .failure import describe_failure, revision_paths
from .lockwatch import BlockerWatch, poll_interval
from .plan import PlanStep, plan_step
from .project import ProjectSource, ResolvedProject
from .project_env import project_environment
from .retry import RetryPolicy, Rng, SleepFn, absolute_destination, blocker_of, wait

ALEMBIC_LOGGER = "alembic.runtime.migration"


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step that committed, and how long it took (from the previous boundary)."""

    revision: str
    direction: str
    seconds: float


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a run did: the version table before and after, and each committed step."""

    from_heads: tuple[str, ...]
    to_heads: tuple[str, ...]
    steps: tuple[StepResult, ...]


def application_name(run_id: int | str) -> str:
    """The ``application_name`` of a run's backend, as ``pg_stat_activity`` shows it.

    >>> application_name(42)
    'mop:run:42'
    """
    return f"mop:run:{run_id}"[:63]


def run_plan(
    target: TargetConn,
    project: ResolvedProject | ProjectSource,
    operation: str,
    revision: str,
    *,
    run_id: int | str,
    expected_from: Sequence[str] | None = None,
    lock_timeout_ms: int = 1000,
    statement_timeout_ms: int = 900000,
    lock_retries: int = 3,
    retry_backoff_s: float = 1.0,
    retry_backoff_max_s: float = 30.0,
    progress: ProgressFn = no_progress,
    should_cancel: CancelFn = never_cancel,
    sleep: SleepFn = time.sleep,
    rng: Rng | None = None,
) -> RunResult:
    """Upgrade, downgrade or stamp the target to ``revision``, one transaction per revision.

    :param target: the database the DBA chose; the only one ever touched.
    :param project: the Alembic project; ``source.env_mode`` picks portal or project env.py.
    :param operation: ``upgrade``, ``downgrade`` or ``stamp``.
    :param revision: as ``alembic`` accepts it (``head``, ``+1``, ``-1``, ``base``, an id...).
    :param run_id: names the backend (``mop:run:<id>``) for cancels and lock views.
    :param expected_from: the heads the DBA previewed; ``TargetMoved`` if the target differs.
    :param lock_retries: retries after a ``LockTimeout`` (0: none); each resumes at the failed step.
    :param retry_backoff_s: the first backoff cap; it doubles per attempt (full jitter below it).
    :param retry_backoff_max_s: the largest backoff cap.
    :param progress: receives a ``Progress`` per log line and step boundary.
    :param should_cancel: polled between steps, after a cancelled statement and during a backoff.
    :param sleep: how a backoff waits (tests pass their own); called in slices of 0.1 s at most.
    :param rng: the jitter's random source (``uniform(a, b)``); a fresh ``random.Random`` by default.
    """
    RetryPolicy(lock_retries, retry_backoff_s, retry_backoff_max_s)  # bad limits fail before connecting
    with run_session(target, project, run_id=run_id, lock_timeout_ms=lock_timeout_ms,
                     statement_timeout_ms=statement_timeout_ms) as session:
        return session.run(operation, revision, expected_from=expected_from, lock_retries=lock_retries,
                           retry_backoff_s=retry_backoff_s, retry_backoff_max_s=retry_backoff_max_s,
                           progress=progress, should_cancel=should_cancel, sleep=sleep, rng=rng)


@contextmanager
def run_session(
    target: TargetConn,
    project: ResolvedProject | ProjectSource,
    *,
    run_id: int | str,
    lock_timeout_ms: int = 1000,
    statement_timeout_ms: int = 900000,
) -> Iterator[RunSession]:
    """Open the session ``run_plan`` runs in, for several plans one after the other.

    A rehearsal runs up, down and up again: one session (one import of the
    scripts, one connection holding the advisory lock, one blocker watch)
    instead of three, each plan still run exactly as ``run_plan`` runs it.

    :param target: the database; its advisory lock is held until the block ends.
    :param run_id: names the backend (``mop:run:<id>``).
    """
    for name, value in (("lock_timeout_ms", lock_timeout_ms), ("statement_timeout_ms", statement_timeout_ms)):
        if not isinstance(value, int) or value <= 0:
            raise PlanError(f"{name} must be a positive number of milliseconds, not {value!r}")
    resolved = as_resolved(project)
    load_operation_modules(resolved)
    script = load_script(resolved)
    app = application_name(run_id)
    with _session(target, app, lock_timeout_ms, statement_timeout_ms) as (conn, pid):
        with BlockerWatch(target, f"{app}:watch", pid, poll_interval(lock_timeout_ms)) as watch:
            yield RunSession(target, resolved, script, conn, watch, statement_timeout_ms)


class RunSession:
    """An open run session: ``run()`` carries out one plan in it (see ``run_plan`` for the steps)."""

    def __init__(self, target: TargetConn, project: ResolvedProject, script: ScriptDirectory, conn: Connection,
                 watch: BlockerWatch, statement_timeout_ms: int) -> None:
        self.target, self.project, self.script, self.conn = target, project, script, conn
        self.watch, self.statement_timeout_ms = watch, statement_timeout_ms

    def run(self, operation: str, revision: str, *, expected_from: Sequence[str] | None = None,
            lock_retries: int = 3, retry_backoff_s: float = 1.0, retry_backoff_max_s: float = 30.0,
            progress: ProgressFn = no_progress, should_cancel: CancelFn = never_cancel,
            sleep: SleepFn = time.sleep, rng: Rng | None = None) -> RunResult:
        """Run one plan from the live heads; the parameters mean what they mean for ``run_plan``."""
        policy = RetryPolicy(lock_retries, retry_backoff_s, retry_backoff_max_s)
        conn, resolved, script = self.conn, self.project, self.script
        from_heads = _current_heads(conn, resolved)
        if expected_from is not None and set(expected_from) != set(from_heads):
            raise TargetMoved(tuple(sorted(expected_from)), from_heads)
        steps = compute_steps(script, operation, revision, from_heads)
        to_heads = simulate_heads(from_heads, steps)
        run = _Run(steps, from_heads, progress, should_cancel, self.statement_timeout_ms)
        run.target = self.target
        retry = _Retry(policy, operation, absolute_destination(operation, revision, steps, to_heads), to_heads,
                       sleep, rng or random.Random())
        run.execute_with_retries(resolved, script, conn, revision, self.watch, self.target.password, retry)
        after = _current_heads(conn, resolved)
        if set(after) != set(to_heads):
            raise VersionMismatch(to_heads, after)
        return RunResult(from_heads, after, tuple(run.results))


@contextmanager
def _session(
    target: TargetConn, app: str, lock_timeout_ms: int, statement_timeout_ms: int
) -> Iterator[tuple[Connection, int]]:
    """A SQLAlchemy connection holding the target's advisory lock, with the run's settings.

    The settings and the lock are taken on the driver connection and committed
    at once: ``set_config(..., false)`` is session level but would vanish with
    a rollback, and no transaction may stay open around the migrations.
    """
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: connect(target, app, autocommit=False), poolclass=NullPool,
        hide_parameters=True,  # bound values of a failed statement never reach a message or the audit
    )
    conn = engine.connect()
    raw: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    try:
        query = queries.get("run_session_setup", raw.info.server_version)
        pid = raw.execute(query, {"lock_timeout": str(lock_timeout_ms),
                                  "statement_timeout": str(statement_timeout_ms)}).fetchone()[0]  # type: ignore[index]
        locked = advisory.try_lock(lambda q, p: raw.execute(q, p).fetchone())
        holder = None if locked else advisory.holder(lambda q, p: raw.execute(q, p).fetchone())
        raw.commit()
        if holder is not None:
            raise TargetBusy(holder.pid, holder.application_name)
        try:
            yield conn, pid
        finally:
            _release(conn, raw)
    finally:
        conn.close()
        engine.dispose()


def _release(conn: Connection, raw: psycopg.Connection) -> None:
    """Give the lock back (closing the session would too); never mask the run's own error."""
    try:
        conn.rollback()
        advisory.unlock(lambda q, p: raw.execute(q, p).fetchone())
        raw.commit()
    except Exception:  # noqa: BLE001 - the backend may be gone; the lock went with it
        pass


def _current_heads(conn: Connection, project: ResolvedProject) -> tuple[str, ...]:
    """The version table as Alembic's ``current`` reads it, without leaving a transaction open."""
    src = project.source
    ctx = MigrationContext.configure(
        connection=conn,
        opts={"version_table": src.version_table, "version_table_schema": src.version_table_schema},
    )
    heads = tuple(sorted(ctx.get_current_heads()))
    conn.commit()
    return heads


@dataclass(frozen=True, slots=True)
class _Retry:
    """What stays fixed across a run's attempts: the limits, and where the run is going."""

    policy: RetryPolicy
    operation: str
    destination: str  # absolute (retry.absolute_destination): re-planned from wherever a retry starts
    to_heads: tuple[str, ...]
    sleep: SleepFn
    rng: Rng


class _Run:
    """The state of one run while Alembic drives it: current step, timings, log capture.

    ``steps`` / ``plan`` / ``from_heads`` are those of the current attempt (a
    retry replaces them with what is left); ``results`` and ``total`` span the
    whole run, so the progress bar and the timings carry on across attempts.
    """

    def __init__(self, steps: list[MigrationStep], from_heads: tuple[str, ...], progress: ProgressFn,
                 should_cancel: CancelFn, statement_timeout_ms: int) -> None:
        self.steps = steps
        self.plan: list[PlanStep] = [plan_step(s) for s in steps]
        self.from_heads = from_heads
        self.committed_heads = from_heads  # the version table as the committed steps left it
        self.total = len(steps)
        self.progress = progress
        self.should_cancel = should_cancel
        self.statement_timeout_ms = statement_timeout_ms
        self.results: list[StepResult] = []
        self.current: PlanStep | None = None
        self.step_started = time.monotonic()
        self.target: TargetConn | None = None  # project mode: the URL its env.py is given

    def report(self, message: str, level: str = "info", **data: Any) -> None:
        step = self.current.revision if self.current else None
        self.progress(Progress(len(self.results), self.total, message, level, step, data))

    def execute_with_retries(self, project: ResolvedProject, script: ScriptDirectory, conn: Connection,
                             revision: str, watch: BlockerWatch, password: str, retry: _Retry) -> None:
        """Run the plan; after a ``LockTimeout`` with attempts left, wait and resume at the failed step.

        The advisory lock belongs to ``conn``'s session, which is kept across
        attempts, so no other operation can start on the target in between.
        Every failure that ends the run is reported once, as ``failed``.
        """
        self.report(f"{len(self.steps)} step(s) to run from {', '.join(self.from_heads) or 'base'}",
                    event="start", steps=[s.to_json() for s in self.plan])
        attempt = 1
        try:
            while True:
                try:
                    self.execute(project, script, conn, revision if attempt == 1 else retry.destination,
                                 watch, password)
                    return
                except LockTimeout as exc:
                    if attempt >= retry.policy.attempts:
                        raise exc.with_attempts(attempt) from None
                    self.back_off(exc, attempt, retry)
                attempt += 1
                try:
                    conn.rollback()  # Alembic rolled the step back; make sure no transaction is left
                    live = _current_heads(conn, project)
                except DBAPIError as exc:  # e.g. our backend was terminated during the wait
                    raise self.translate(exc, watch, password) from None
                self.resume(script, retry, live, attempt)
        except OpsError as exc:
            extra = {"attempts": exc.fields["attempts"], "blocker": blocker_of(exc)} if isinstance(exc, LockTimeout) else {}
            self.report(str(exc), "error", event="failed", code=exc.code, **extra)
            raise

    def back_off(self, exc: LockTimeout, attempt: int, retry: _Retry) -> None:
        """Log the failed attempt and its blocker, then wait; ``Cancelled`` if asked to stop meanwhile."""
        delay = retry.policy.delay(attempt, retry.rng)
        self.report(f"{exc} (attempt {attempt} of {retry.policy.attempts}); retrying in {delay:.2f} s",
                    "warning", event="lock_retry", attempt=attempt, max_attempts=retry.policy.attempts,
                    delay_s=round(delay, 3), revision=exc.fields.get("revision"), blocker=blocker_of(exc))
        if wait(delay, retry.sleep, self.should_cancel):
            raise Cancelled(exc.fields.get("revision"))

    def resume(self, script: ScriptDirectory, retry: _Retry, live: tuple[str, ...], attempt: int) -> None:
        """Re-plan from the live heads to the run's absolute destination; refuse if anything moved.

        The failed step rolled back, so the live heads must be those the
        committed steps left, and the new plan must end where the first one
        did; anything else means another tool touched the version table.
        """
        if set(live) != set(self.committed_heads):
            raise PlanError(
                f"Cannot resume after the lock timeout: the target should be at "
                f"{list(self.committed_heads) or ['base']}, it is at {list(live) or ['base']}",
                explanation="Another tool changed the version table while the run waited; "
                            "nothing more was run. Check the target and plan again.",
                expected=list(self.committed_heads), actual=list(live))
        steps = compute_steps(script, retry.operation, retry.destination, live)
        if set(simulate_heads(live, steps)) != set(retry.to_heads):
            raise PlanError(f"Cannot resume: from {list(live) or ['base']} to {retry.destination!r} Alembic now "
                            f"plans {[plan_step(s).revision for s in steps]}, which does not end at "
                            f"{list(retry.to_heads) or ['base']}", destination=retry.destination)
        self.steps, self.plan, self.from_heads = steps, [plan_step(s) for s in steps], live
        first = self.plan[0].revision if self.plan else "the end"
        self.report(f"Attempt {attempt} of {retry.policy.attempts}: resuming at {first} from "
                    f"{', '.join(live) or 'base'}, {len(steps)} step(s) left", event="resume",
                    attempt=attempt, steps=[s.to_json() for s in self.plan])

    def execute(self, project: ResolvedProject, script: ScriptDirectory, conn: Connection, revision: str,
                watch: BlockerWatch, password: str) -> None:
        """Run the current attempt's steps through Alembic; map what goes wrong to our errors."""
        src = project.source
        cfg = project.config()
        env = PortalEnvironment(
            cfg, script,
            forced={"connection": conn, "transaction_per_migration": True, "version_table": src.version_table,
                    "version_table_schema": src.version_table_schema},
            on_apply=self.on_apply, fn=self.steps_fn, destination_rev=revision,
        )
        handler = _CaptureAlembicLog(self.report)
        try:
            with handler.installed():
                self.step_started = time.monotonic()
                with env:
                    if src.env_mode == "project":
                        cfg.attributes["connection"] = conn
                        cfg.attributes["configure_logger"] = False  # cookbook: the worker keeps its logging
                        assert self.target is not None
                        with project_environment(self.target, src.url_env_vars, src.url_scheme) as url:
                            cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
                            script.run_env()
                    else:
                        env.configure(connection=conn)
                        with env.begin_transaction():
                            env.run_migrations()
        except OpsError:
            raise
        except Exception as exc:  # noqa: BLE001 - everything else becomes a named failure
            error = self.translate(exc, watch, password)
            error.fields["failure"] = describe_failure(
                exc, revision_paths(script), (password,), project.script_location).to_json()
            raise error from None

    def steps_fn(self, heads: Sequence[str], _ctx: Any) -> Iterator[MigrationStep]:
        """Alembic's ``fn``: hand out the planned steps; resuming after a yield means it committed."""
        if set(heads) != set(self.from_heads):
            raise TargetMoved(self.from_heads, tuple(sorted(heads)))
        return self._iterate()

    def _iterate(self) -> Iterator[MigrationStep]:
        for step, info in zip(self.steps, self.plan, strict=True):
            if self.should_cancel():
                raise Cancelled(None)
            self.current = info
            self.report(f"Step {len(self.results) + 1}/{self.total}: {info.direction} {info.revision}"
                        f"{' - ' + info.message if info.message else ''}", event="step_started")
            yield step
            self.committed_heads = simulate_heads(self.committed_heads, [step])
            now = time.monotonic()
            self.results.append(StepResult(info.revision, info.direction, round(now - self.step_started, 6)))
            self.report(f"Committed {info.direction} {info.revision} in {now - self.step_started:.3f} s",
                        event="step_committed", seconds=now - self.step_started)
            self.step_started = now
        self.current = None

    def on_apply(self, *, ctx: Any, step: Any, heads: set[str], run_args: Any) -> None:
        """Alembic's ``on_version_apply``: the step's work and version row are done, commit follows."""
        self.report(f"Applied {', '.join(step.up_revision_ids)} (version table now "
                    f"{', '.join(sorted(heads)) or 'empty'})", "debug", event="step_applied", heads=sorted(heads))

    def translate(self, exc: BaseException, watch: BlockerWatch, password: str) -> OpsError:
        """Name what happened: lock timeout and its blocker, statement timeout, cancel, or a failure."""
        rev = self.current.revision if self.current else None
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        text = redact_text(str(orig).strip(), password)
        if isinstance(orig, psycopg.errors.LockNotAvailable):
            blockers = watch.blockers_since(self.step_started)
            if not blockers:
                timeout = LockTimeout(rev, None, None, None)
            else:
                b = blockers[0]
                timeout = LockTimeout(rev, b.pid, b.application_name, redact_text(b.query or "", password), b.state)
            timeout.snapshot = watch.snapshot_since(self.step_started)
            return timeout
        if isinstance(orig, psycopg.errors.QueryCanceled):
            if self.should_cancel():
                return Cancelled(rev)
            elapsed_ms = (time.monotonic() - self.step_started) * 1000
            if "statement timeout" in text or elapsed_ms >= self.statement_timeout_ms:
                return StatementTimeout(rev, text.splitlines()[0])
            return Cancelled(rev)
        if _server_went_away(orig):
            return ConnectionLost(rev, text.splitlines()[0] if text else type(orig).__name__)
        if isinstance(exc, alembic_util.CommandError | DBAPIError):
            return MigrationFailed(rev, text)
        return MigrationFailed(rev, f"{type(orig).__name__}: {text}")


def _server_went_away(orig: BaseException) -> bool:
    """A shutdown, crash or terminated backend: the session ended, the revision is not at fault."""
    if isinstance(orig, psycopg.errors.AdminShutdown | psycopg.errors.CrashShutdown | psycopg.errors.CannotConnectNow):
        return True
    if isinstance(orig, psycopg.OperationalError) and not isinstance(orig, psycopg.errors.QueryCanceled):
        text = str(orig).lower()
        return "server closed the connection" in text or "connection is closed" in text or "consuming input failed" in text
    return False


class _CaptureAlembicLog(logging.Handler):
    """Forward Alembic's ``Running upgrade a -> b`` lines of *this* thread to the progress log."""

    def __init__(self, report: Any) -> None:
        super().__init__(logging.INFO)
        self._report = report
        self._thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self._thread:
            self._report(record.getMessage(), record.levelname.lower(), event="alembic_log")

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Attach to Alembic's logger, at INFO while any run in this process is active."""
        logger = logging.getLogger(ALEMBIC_LOGGER)
        with _LOG_LOCK:
            if not _LOG_USERS:
                _LOG_USERS.append(logger.level)
            _LOG_USERS.append(None)
            if not logger.isEnabledFor(logging.INFO):
                logger.setLevel(logging.INFO)
            logger.addHandler(self)
        try:
            yield
        finally:
            with _LOG_LOCK:
                logger.removeHandler(self)
                _LOG_USERS.pop()
                if len(_LOG_USERS) == 1:
                    logger.setLevel(_LOG_USERS.pop())


_LOG_LOCK = threading.Lock()
_LOG_USERS: list[Any] = []  # [saved level, one entry per active run]


def cancel_run_backend(target: TargetConn, run_id: int | str) -> int:
    """Cancel the statement a run's backend is executing; its step rolls back.

    Returns how many backends were signalled (0 when the run is between
    statements: ``should_cancel`` then stops it at the next step boundary).

    :param target: the run's target.
    :param run_id: the run whose backend (``mop:run:<id>``) to cancel.
    """
    with connect(target, f"mop:cancel:{run_id}"[:63], autocommit=True) as conn:
        row = conn.execute(queries.get("run_cancel"), {"app": application_name(run_id)}).fetchone()
    return int(row[0]) if row else 0
