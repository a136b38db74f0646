"""Celery tasks of copy and verification runs: thin, as in ``tasks.py``.

A copy run is three kinds of task, each calling one engine function:
``copy_run`` claims the run and calls ``plan_ranges`` once, then starts a
group: one ``copy_range`` per range (ranges and tables in parallel on every
worker process of every worker on the queue), and the task that ends the last
range queues ``finish_copy`` (``copy_ledger``). Range tasks never raise: a
failure ends the run (the first one wins) and the others see the run is no
longer RUNNING and stop between batches. Early ack as everywhere: a range
whose worker is killed is lost; the reaper (``copy_ledger.requeue_lost``)
sends it again while other workers go on, and the target makes it exactly
once (each range commits with its checkpoint row).

``verify_run`` claims a verification run and calls ``verify`` once.
"""

from __future__ import annotations

import socket
import time

from celery import shared_task
from django.conf import settings
from django.db import close_old_connections
from django.utils.timezone import now

from migrations_ops.copy import RangeSpec

from . import copy_ledger, copying, dispatch, services, verifying
from .models import Run
from .tasks import Heartbeat, Reporter


def _worker(task) -> str:
    return (task.request.hostname or socket.gethostname())[:200]


def _load(run_id: int) -> Run:
    return Run.objects.select_related("target", "target__project").get(pk=run_id)


def _phase_progress(run_id: int, secret: str, truncated: dict[str, int] | None = None):
    """Progress of the plan and finish steps: a log line and the current step; ``truncated`` collects what the
    planning emptied (step ``truncate``, reported after its commit) for the caller to audit."""

    def progress(p) -> None:
        if p.step == "truncate" and truncated is not None:
            truncated.update((p.data or {}).get("truncated") or {})
        Run.objects.filter(pk=run_id).update(current_step=(p.step or "")[:200], heartbeat_at=now())
        copying.log_line(run_id, p.message, "info" if p.level == "debug" else p.level, secret)

    return progress


@shared_task(name="ops.copy_run", bind=True, ignore_result=True, acks_late=False)
def copy_run(self, run_id: int) -> str:
    """Claim a copy run, plan its ranges (``plan_ranges``), and start the chord of ranges then finish."""
    close_old_connections()
    worker = _worker(self)
    claim = services.claim(run_id, worker)
    if claim != "claimed":
        return claim
    run = _load(run_id)
    secret = ""
    planned = False
    try:
        copying.record_started(run)
        conn = run.target.conn()
        secret = conn.password
        path, opts = copying.engine_args(run)
        copying.log_line(run.pk, f"Copy {run.params['source']} into {run.target.name} ({conn.redacted()}), "
                                 f"copy id {run.params['copy_id']}, worker {worker}", secret=secret)
        truncated: dict[str, int] = {}
        specs = services._engine("copy").plan_ranges(
            path, conn, run.params["copy_id"], options=opts, progress=_phase_progress(run.pk, secret, truncated))
        planned = True
        if truncated:
            copying.record_truncated(run, truncated)
        copying.start_copy_phase(run, specs)
        copying.log_line(run.pk, f"{len(specs)} range(s) in {len({s.table for s in specs})} table(s) queued")
    except Exception as exc:  # noqa: BLE001 - recorded on the run, never left RUNNING
        if not planned and "resume_of" not in run.params:
            copying.mark_never_opened(run)  # plan_ranges rolled back: nothing of this copy is on the target
        copying.record_failure(run, exc, secret)
        return "failed"
    if not specs:
        finish_copy_task.apply_async((run.pk,))
        return "planned"
    for task_id, spec in copy_ledger.open_ledger(run, specs):
        copy_range.apply_async((run.pk, spec), task_id=task_id)
    return "planned"


@shared_task(name="ops.copy_range", bind=True, ignore_result=True, acks_late=False)
def copy_range(self, run_id: int, spec: dict) -> str:
    """Copy one range (``copy_range``); its rows, checkpoint and rejects commit together in the target.

    The last range to end queues ``finish_copy`` (``copy_ledger.range_ended``)."""
    close_old_connections()
    if not copying.range_should_run(run_id):
        return "skipped"
    rs = RangeSpec.from_dict(spec)
    worker = _worker(self)
    outcome = _copy_one_range(run_id, rs, worker, self.request.id)
    if copy_ledger.range_ended(run_id, rs, worker, outcome):
        finish_copy_task.apply_async((run_id,))
    return outcome


def send_range(run: Run, task_id: str, spec: dict) -> None:
    """Send one range task again (``copy_ledger.requeue_lost``)."""
    copy_range.apply_async((run.pk, spec), task_id=task_id, retry=True, retry_policy=dispatch.RETRY_POLICY)


def _copy_one_range(run_id: int, rs: RangeSpec, worker: str, task_id: str | None) -> str:
    run = _load(run_id)
    copy_ledger.range_started(run_id, rs, worker, task_id)
    reporter = copying.RangeReporter(run_id, rs)
    heartbeat = Heartbeat(run_id, settings.MOP_HEARTBEAT_SECONDS)
    heartbeat.start()
    secret = ""
    try:
        conn = run.target.conn()
        secret = conn.password
        path, opts = copying.engine_args(run)
        result = services._engine("copy").copy_range(path, conn, rs, opts, reporter.progress, reporter.should_cancel)
        copying.record_range_done(run_id, result, secret, worker=worker)
        return "done"
    except Exception as exc:  # noqa: BLE001 - the first failure ends the run; the other ranges stop between batches
        copying.record_failure(run, exc, secret)
        return "failed"
    finally:
        heartbeat.stop()


@shared_task(name="ops.finish_copy", bind=True, ignore_result=True, acks_late=False)
def finish_copy_task(self, run_id: int) -> str:
    """After the last range: post-load phases (``finish_copy``), summary, then the verification is queued."""
    close_old_connections()
    run = _load(run_id)
    if run.status != Run.Status.RUNNING:
        return run.status
    heartbeat = Heartbeat(run_id, settings.MOP_HEARTBEAT_SECONDS)
    heartbeat.start()
    secret = ""
    try:
        conn = run.target.conn()
        secret = conn.password
        copying.mark_finish_started(run.pk)
        copying.log_line(run.pk, "All ranges done; post-load phases")
        summary = services._engine("copy").finish_copy(conn, run.params["copy_id"], _phase_progress(run.pk, secret))
        copying.record_succeeded(run, summary)
        return "finished"
    except Exception as exc:  # noqa: BLE001
        copying.record_failure(run, exc, secret)
        return "failed"
    finally:
        heartbeat.stop()


def _table_progress(reporter: Reporter, every: float = 5.0):
    """The verifier's progress: per table to the bar and log; per checksum batch, a log line every few seconds."""
    last = [0.0]

    def progress(p) -> None:
        if "rows" not in (p.data or {}):
            reporter.progress(p)
        elif time.monotonic() - last[0] >= every:
            last[0] = time.monotonic()
            reporter.log(p.message)

    return progress


@shared_task(name="ops.verify_run", bind=True, ignore_result=True, acks_late=False)
def verify_run(self, run_id: int) -> str:
    """Claim a verification run, call ``verify`` once, store the report."""
    close_old_connections()
    claim = services.claim(run_id, _worker(self))
    if claim != "claimed":
        return claim
    run = _load(run_id)
    reporter = Reporter(run, secret="")
    heartbeat = Heartbeat(run_id, settings.MOP_HEARTBEAT_SECONDS)
    heartbeat.start()
    try:
        copying.record_started(run)
        conn = run.target.conn()
        reporter.secret = conn.password
        mode = f"against {run.params['source']}" if run.params.get("source") else "target only"
        reporter.log(f"Verification of {run.target.name} ({conn.redacted()}), {mode}")
        report = services._engine("verify").verify(
            conn, **verifying.engine_args(run), run_id=run.pk, progress=_table_progress(reporter),
            should_cancel=reporter.should_cancel)
        verifying.record_report(run, report)
        return "succeeded"
    except Exception as exc:  # noqa: BLE001
        copying.record_failure(run, exc, reporter.secret)
        return "failed"
    finally:
        heartbeat.stop()
