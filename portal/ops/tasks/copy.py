"""The tasks of copy runs: thin, each one engine call through the skeleton.

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

"""

from __future__ import annotations

from celery import shared_task
from django.db import close_old_connections
from django.utils.timezone import now

from migrations_ops import copy as engine
from migrations_ops.copy import RangeSpec

from .. import copy_ledger, copy_worker, dispatch, lifecycle
from ..models import Run
from .skeleton import Job, claim_run, fail_on_error, load_run, run_task, worker_name


def _phase_progress(run_id: int, secret: str, truncated: dict[str, int] | None = None):
    """Progress of the plan and finish steps: a log line and the current step; ``truncated`` collects what the
    planning emptied (step ``truncate``, reported after its commit) for the caller to audit."""

    def progress(p) -> None:
        if p.step == "truncate" and truncated is not None:
            truncated.update((p.data or {}).get("truncated") or {})
        Run.objects.filter(pk=run_id).update(current_step=(p.step or "")[:200], heartbeat_at=now())
        lifecycle.log_line(run_id, p.message, "info" if p.level == "debug" else p.level, secret)

    return progress


@shared_task(name="ops.copy_run", bind=True, ignore_result=True, acks_late=False)
def copy_run(self, run_id: int) -> str:
    """Claim a copy run, plan its ranges (``plan_ranges``), and send one task per range."""
    run = claim_run(self, run_id)
    if isinstance(run, str):
        return run
    planned: list[bool] = []
    worker = worker_name(self)

    def record(job: Job) -> str:
        if job.error is not None and not planned and "resume_of" not in run.params:
            copy_worker.mark_never_opened(run)  # plan_ranges rolled back: nothing of this copy is on the target
        return fail_on_error(job)

    specs = run_task(run, lambda job: _plan(job, worker, planned), record, heartbeat=False)
    if specs == "failed":
        return specs
    if not specs:
        finish_copy_task.apply_async((run.pk,))
        return "planned"
    for task_id, spec in copy_ledger.open_ledger(run, specs):
        copy_range.apply_async((run.pk, spec), task_id=task_id)
    return "planned"


def _plan(job: Job, worker: str, planned: list[bool]) -> list[RangeSpec]:
    run = job.run
    lifecycle.record_started(run)
    conn = run.target.conn()
    job.secret = conn.password
    path, opts = copy_worker.engine_args(run)
    lifecycle.log_line(run.pk, f"Copy {run.params['source']} into {run.target.name} ({conn.redacted()}), "
                               f"copy id {run.params['copy_id']}, worker {worker}", secret=job.secret)
    truncated: dict[str, int] = {}
    specs = engine.plan_ranges(path, conn, run.params["copy_id"], options=opts,
                               progress=_phase_progress(run.pk, job.secret, truncated))
    planned.append(True)
    if truncated:
        copy_worker.record_truncated(run, truncated)
    copy_worker.start_copy_phase(run, specs)
    lifecycle.log_line(run.pk, f"{len(specs)} range(s) in {len({s.table for s in specs})} table(s) queued")
    return specs


@shared_task(name="ops.copy_range", bind=True, ignore_result=True, acks_late=False)
def copy_range(self, run_id: int, spec: dict) -> str:
    """Copy one range (``copy_range``); its rows, checkpoint and rejects commit together in the target.

    The last range to end queues ``finish_copy`` (``copy_ledger.range_ended``)."""
    close_old_connections()
    if not copy_worker.range_should_run(run_id):
        return "skipped"
    rs = RangeSpec.from_dict(spec)
    worker = worker_name(self)
    copy_ledger.range_started(run_id, rs, worker, self.request.id)
    outcome = run_task(load_run(run_id), lambda job: _copy_one_range(job, rs, worker), fail_on_error)
    if copy_ledger.range_ended(run_id, rs, worker, outcome):
        finish_copy_task.apply_async((run_id,))
    return outcome


def send_range(run: Run, task_id: str, spec: dict) -> None:
    """Send one range task again (``copy_ledger.requeue_lost``)."""
    copy_range.apply_async((run.pk, spec), task_id=task_id, retry=True, retry_policy=dispatch.RETRY_POLICY)


def _copy_one_range(job: Job, rs: RangeSpec, worker: str) -> str:
    """The first failure ends the run; the other ranges stop between batches."""
    reporter = copy_worker.RangeReporter(job.run.pk, rs)
    conn = job.run.target.conn()
    job.secret = conn.password
    path, opts = copy_worker.engine_args(job.run)
    result = engine.copy_range(path, conn, rs, opts, progress=reporter.progress,
                               should_cancel=reporter.should_cancel)
    copy_worker.record_range_done(job.run.pk, result, job.secret, worker=worker)
    return "done"


@shared_task(name="ops.finish_copy", bind=True, ignore_result=True, acks_late=False)
def finish_copy_task(self, run_id: int) -> str:
    """After the last range: post-load phases (``finish_copy``), summary, then the verification is queued."""
    close_old_connections()
    run = load_run(run_id)
    if run.status != Run.Status.RUNNING:
        return run.status
    return run_task(run, _finish, fail_on_error)


def _finish(job: Job) -> str:
    run = job.run
    conn = run.target.conn()
    job.secret = conn.password
    copy_worker.mark_finish_started(run.pk)
    lifecycle.log_line(run.pk, "All ranges done; post-load phases")
    summary = engine.finish_copy(conn, run.params["copy_id"], progress=_phase_progress(run.pk, job.secret))
    copy_worker.record_succeeded(run, summary)
    return "finished"
