"""The task of upgrade, downgrade and stamp runs: one ``run_plan`` call through the skeleton."""

from __future__ import annotations

from celery import shared_task

from .. import diagnostics, lifecycle, worker_fingerprint
from ..models import Run
from .skeleton import Job, Reporter, claim_run, run_task, worker_name

PROGRESS_WRITE_SECONDS = 0.5  # a run's log lines and progress fields: one batch at most every 0.5 s


@shared_task(name="ops.run_operation", bind=True, ignore_result=True, acks_late=False)
def run_operation(self, run_id: int) -> str:
    """Run one upgrade, downgrade or stamp; never retried (migrations are not idempotent)."""
    run = claim_run(self, run_id)
    if isinstance(run, str):
        return run
    reporter = Reporter(run, secret="", batch_seconds=PROGRESS_WRITE_SECONDS)
    worker = worker_name(self)
    return run_task(run, lambda job: _upgrade(job, reporter, worker), lambda job: _finish(job, reporter))


def _upgrade(job: Job, reporter: Reporter, worker: str):
    # Alembic and SQLAlchemy (~40 MB) load in the child that runs the first schema run, not in every worker
    # process at start: a worker that only copies and verifies never holds them.
    from migrations_ops.schema import runner  # noqa: PLC0415
    from portal.assure import hooks as assure_hooks  # noqa: PLC0415

    from .. import services  # noqa: PLC0415

    run = job.run
    lifecycle.record_started(run)
    conn = run.target.conn()
    job.secret = reporter.secret = conn.password
    reporter.log(f"{run.operation} {run.revision} on {run.target.name} ({conn.redacted()}), worker {worker}")
    assure_hooks.before_first_step(run, reporter.log)  # drift/rehearsal gate, then the backup; raises to fail
    return runner.run_plan(
        conn, services.resolve_for_run(run), run.operation, run.revision, run_id=run.pk,
        expected_from=tuple(run.from_heads),
        lock_timeout_ms=run.params.get("lock_timeout_ms", run.target.lock_timeout_ms),
        statement_timeout_ms=run.params.get("statement_timeout_ms", run.target.statement_timeout_ms),
        lock_retries=run.params.get("lock_retries", run.target.lock_retries),
        progress=reporter.progress, should_cancel=reporter.should_cancel,
    )


def _finish(job: Job, reporter: Reporter) -> str:
    """Record the outcome (its "Run <status>" line with it), whatever happened; keep what blocked a failed run's lock."""
    reporter.writes.close()  # every line and field of the run written before its outcome
    error = worker_fingerprint.explain_if_stale(job.error) if job.error is not None else None
    outcome = lifecycle.record_outcome(job.run, result=job.result, error=error, timings=reporter.timings,
                                       secret=reporter.secret)
    if outcome == Run.Status.FAILED:
        diagnostics.snapshot_after_failure(job.run, error)  # keeps what blocked a lock_timeout; never raises
    return outcome
