"""What every task does around its one engine call: claim, heartbeat, callbacks, and the outcome recorded.

A task body is ``run_task(run, call, record)``: ``call(job)`` makes the one engine
call, ``record(job)`` writes what came of it (``job.result`` or ``job.error``), always,
so no run is left RUNNING by an exception. The rules behind each step live in
``lifecycle``; this module only wires a worker to them.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections, connection
from django.utils.timezone import now

from migrations_ops.progress import Progress

from .. import gates, lifecycle
from ..models import Run
from ..run_writes import BatchedRunWrites
from ..secrets import redact as redact_text

log = logging.getLogger(__name__)


def worker_name(task) -> str:
    """The Celery worker's name (``-n``), else the host's."""
    return (task.request.hostname or socket.gethostname())[:200]


def load_run(run_id: int) -> Run:
    return Run.objects.select_related("target", "target__project").get(pk=run_id)


def claim_run(task, run_id: int) -> Run | str:
    """The run, claimed for this worker; or why not (``lifecycle.claim``'s answer)."""
    close_old_connections()
    claim = lifecycle.claim(run_id, worker_name(task))
    if claim != "claimed":
        return claim
    return load_run(run_id)


@dataclasses.dataclass
class Job:
    """One task's hold on its run: the target's password (to redact) and what the engine call gave."""

    run: Run
    secret: str = ""
    result: Any = None
    error: BaseException | None = None


def run_task(run: Run, call: Callable[[Job], Any], record: Callable[[Job], str], *, heartbeat: bool = True) -> str:
    """Heartbeat while ``call`` runs; then ``record`` what came of it, also when it raised."""
    job = Job(run)
    beat = Heartbeat(run.pk, settings.MOP_HEARTBEAT_SECONDS) if heartbeat else None
    if beat:
        beat.start()
    try:
        job.result = call(job)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the run, never left RUNNING
        job.error = exc
    finally:
        if beat:
            beat.stop()
        outcome = record(job)
    return outcome


def fail_on_error(job: Job) -> str:
    """The ``record`` of copy and verification tasks: a failure ends the run (the first one wins)."""
    if job.error is not None:
        lifecycle.record_failure(job.run, job.error, job.secret)
        return "failed"
    return job.result


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
            lifecycle.record_lock_retry(self.run, p.data, secret=self.secret)

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
