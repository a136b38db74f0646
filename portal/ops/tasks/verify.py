"""The task of verification runs: one ``verify`` call through the skeleton, its report stored."""

from __future__ import annotations

import time

from celery import shared_task

from migrations_ops import verify as engine

from .. import lifecycle, verifying
from .skeleton import Job, Reporter, claim_run, fail_on_error, run_task


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
    run = claim_run(self, run_id)
    if isinstance(run, str):
        return run
    return run_task(run, _verify, fail_on_error)


def _verify(job: Job) -> str:
    run = job.run
    reporter = Reporter(run, secret="")
    lifecycle.record_started(run)
    conn = run.target.conn()
    job.secret = reporter.secret = conn.password
    mode = f"against {run.params['source']}" if run.params.get("source") else "target only"
    reporter.log(f"Verification of {run.target.name} ({conn.redacted()}), {mode}")
    report = engine.verify(conn, **verifying.engine_args(run), run_id=run.pk, progress=_table_progress(reporter),
                           should_cancel=reporter.should_cancel)
    verifying.record_report(run, report)
    return "succeeded"
