"""Celery tasks: thin. Load the run, claim it, call one engine function, record the outcome.

The rules (who may run what, what a plan is, how an outcome is worded) live
in ``services.py`` and the engine; this module only wires a worker to them.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections, connection
from django.utils.timezone import now

from migrations_ops.progress import Progress
from portal.assure import hooks as assure_hooks

from . import diagnostics, dispatch, gates, services, worker_fingerprint
from .models import Run
from .run_writes import BatchedRunWrites
from .secrets import redact as redact_text

log = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    """Writes ``heartbeat_at`` every MOP_HEARTBEAT_SECONDS on its own DB connection."""

    def __init__(self, run_id: int, interval: float) -> None:
        super().__init__(name=f"heartbeat-run-{run_id}", daemon=True)
        self.run_id, self.interval, self.stopped = run_id, interval, threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    close_old_connections()
                    Run.objects.filter(pk=self.run_id, status=Run.Status.RUNNING).update(heartbeat_at=now())
                except (DatabaseError, InterfaceError) as exc:
                    log.warning("heartbeat of run %s failed: %s", self.run_id, exc, extra={"run_id": self.run_id})
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=self.interval + 5)


class Reporter:
    """The engine's ``progress`` and ``should_cancel`` callbacks, writing to the run's row."""

    CANCEL_POLL_SECONDS = 0.5

    def __init__(self, run: Run, secret: str, batch_seconds: float = 0.0) -> None:
        self.run, self.run_id, self.secret = run, run.pk, secret
        self.writes = BatchedRunWrites(run.pk, batch_seconds)  # 0: each event written at once
        self.directions = {s.get("revision"): s.get("direction", "") for s in run.plan_steps}
        self.timings: list[dict] = []
        self._cancel_checked, self._cancelled = 0.0, False

    def progress(self, p: Progress) -> None:
        fields: dict = {"steps_done": p.done, "current_step": (p.step or "")[:200]}
        if p.total:
            fields["steps_total"] = p.total
        if p.data.get("event") == "step_committed" and p.step:
            self.timings.append({
                "revision": p.step, "direction": self.directions.get(p.step, ""),
                "seconds": round(float(p.data.get("seconds", 0)), 3),
            })
            fields["step_timings"] = list(self.timings)  # a copy: a batch may be written from another thread
        # The model keeps info/warning/error; Alembic's debug lines are still worth reading.
        level = "info" if p.level == "debug" else p.level
        self.writes.add(fields, (level, redact_text(p.message, self.secret)))
        if p.data.get("event") == "lock_retry" or level != "info":
            self.writes.flush()  # seen at once: a retry waits, a failure ends the run
        if p.data.get("event") == "lock_retry":
            services.record_lock_retry(self.run, p.data, secret=self.secret)

    def log(self, message: str, level: str = "info") -> None:
        self.writes.add(line=(level, redact_text(message, self.secret)))

    def should_cancel(self) -> bool:
        if self._cancelled:
            return True
        if time.monotonic() - self._cancel_checked >= self.CANCEL_POLL_SECONDS:
            self._cancel_checked = time.monotonic()
            self._cancelled = (Run.objects.filter(pk=self.run_id, cancel_requested_at__isnull=False).exists()
                               or gates.window_closed(self.run))  # change control: stop between steps
        return self._cancelled


PROGRESS_WRITE_SECONDS = 0.5  # a run's log lines and progress fields: one batch at most every 0.5 s


@shared_task(name="ops.run_operation", bind=True, ignore_result=True, acks_late=False)
def run_operation(self, run_id: int) -> str:
    """Run one upgrade, downgrade or stamp; never retried (migrations are not idempotent)."""
    close_old_connections()
    worker = (self.request.hostname or socket.gethostname())[:200]
    claim = services.claim(run_id, worker)
    if claim != "claimed":
        return claim
    run = Run.objects.select_related("target", "target__project").get(pk=run_id)
    reporter = Reporter(run, secret="", batch_seconds=PROGRESS_WRITE_SECONDS)
    heartbeat = Heartbeat(run.pk, settings.MOP_HEARTBEAT_SECONDS)
    heartbeat.start()
    result = error = None
    try:
        services.record_started(run)
        conn = run.target.conn()
        reporter.secret = conn.password
        reporter.log(f"{run.operation} {run.revision} on {run.target.name} ({conn.redacted()}), worker {worker}")
        assure_hooks.before_first_step(run, reporter.log)  # drift/rehearsal gate, then the backup; raises to fail
        result = services._engine("schema.runner").run_plan(
            conn, services.resolve_for_run(run), run.operation, run.revision, run_id=run.pk,
            expected_from=tuple(run.from_heads),
            lock_timeout_ms=run.params.get("lock_timeout_ms", run.target.lock_timeout_ms),
            statement_timeout_ms=run.params.get("statement_timeout_ms", run.target.statement_timeout_ms),
            lock_retries=run.params.get("lock_retries", run.target.lock_retries),
            progress=reporter.progress, should_cancel=reporter.should_cancel,
        )
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run, never left RUNNING
        error = worker_fingerprint.explain_if_stale(exc)
    finally:
        heartbeat.stop()
        reporter.writes.close()  # every line and field of the run written before its outcome
        outcome = services.record_outcome(
            run, result=result, error=error, timings=reporter.timings, secret=reporter.secret
        )
        reporter.log(f"Run {outcome}", "info" if outcome == Run.Status.SUCCEEDED else "error")
        if outcome == Run.Status.FAILED:
            diagnostics.snapshot_after_failure(run, error)  # keeps what blocked a lock_timeout; never raises
    return outcome


@shared_task(name="ops.reap_stale_runs", ignore_result=True)
def reap_stale_runs_task() -> int:
    """Send again copy ranges lost with their worker, mark runs whose worker stopped sending heartbeats as
    interrupted, and fail queued runs whose task is gone (periodic, django-celery-beat)."""
    from . import copy_ledger, copying

    close_old_connections()
    lost = copy_ledger.requeue_lost(send=copy_tasks.send_range, fail=copying.record_failure)
    return len(lost) + len(services.reap_stale_runs()) + len(dispatch.reap_orphaned_queued())


@shared_task(name="ops.snapshot_all_targets", ignore_result=True, acks_late=True)
def snapshot_all_targets() -> dict:
    """Keep a lock snapshot of every active target and purge old ones (periodic; idempotent, so acks_late)."""
    close_old_connections()
    return diagnostics.snapshot_all_targets()


# Copy and verification runs (issues 3 and 4); imported here so that workers register them.
from . import copy_tasks  # noqa: E402, F401
