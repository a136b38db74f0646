"""What a copy's tasks write while it runs: the plan's figures, each range's progress and end, the verdict.

Ranges write their figures concurrently, so every write locks the run row
(``select_for_update``) for the read-modify-write.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.timezone import now

from migrations_ops.copy import CopyOptions, CopySummary, RangeResult, RangeSpec, format_summary
from migrations_ops.copy.summary import format_rejects

from . import audit, copy_outcome, copy_sources, lifecycle, verifying
from .models import Run

log = logging.getLogger(__name__)


# How often one range task writes its live figures (the final figures are always written).
PROGRESS_EVERY_SECONDS = 0.5


def mark_never_opened(run: Run) -> None:
    """Note on the run that its copy never reached the target: its own planning failed and rolled back
    (a schema mismatch, an unreadable file, another copy open), so there is nothing to resume or abandon
    and it must not block the next copy (writes the DB)."""
    Run.objects.filter(pk=run.pk).update(params={**run.params, "never_opened": True})
    run.params = {**run.params, "never_opened": True}


def engine_args(run: Run) -> tuple[Path, CopyOptions]:
    """The source path (checked again on the worker) and options of a copy run."""
    return copy_sources.resolve_source(run.params["source"]), CopyOptions.from_dict(run.params["options"])


def start_copy_phase(run: Run, specs: list[RangeSpec]) -> None:
    """Record the plan: per table rows and ranges, the step counts (writes the DB)."""
    tables: dict[str, dict[str, Any]] = {}
    for s in specs:
        t = tables.setdefault(s.table, {"total": 0, "ranges": 0, "ranges_done": 0, "done": 0, "copied": 0,
                                        "rejected": 0, "bytes": 0, "t0": None, "t1": None})
        t["total"] += s.est_rows
        t["ranges"] += 1
    with transaction.atomic():
        r = Run.objects.select_for_update().get(pk=run.pk)
        pd = dict(r.progress_data or {})
        pd.update(phase="copy", started=time.time(), tables=tables, ranges={})
        Run.objects.filter(pk=run.pk).update(progress_data=pd, steps_total=len(specs) + 1, steps_done=0,
                                             current_step="copy", heartbeat_at=now())


def range_should_run(run_id: int) -> bool:
    """False once the run ended, failed elsewhere or was asked to cancel (reads the DB)."""
    return Run.objects.filter(pk=run_id, status=Run.Status.RUNNING, cancel_requested_at__isnull=True).exists()


def record_range_figures(run_id: int, table: str, lo: int, *, done: int, copied: int, rejected: int,
                         nbytes: int, finished: bool = False, seconds: float | None = None) -> bool:
    """Write one range's figures and recompute its table's; returns True if the range just finished (writes the DB).

    Ranges run in parallel tasks: the run row is locked for the read-modify-write.
    """
    key = f"{table}|{lo}"
    at = time.time()
    with transaction.atomic():
        r = Run.objects.select_for_update().only("progress_data", "steps_done").get(pk=run_id)
        pd = r.progress_data or {}
        ranges = pd.setdefault("ranges", {})
        before = ranges.get(key) or {}
        if before.get("finished") and not finished:
            return False
        newly = finished and not before.get("finished")
        ranges[key] = {"done": done, "copied": copied, "rejected": rejected, "bytes": nbytes, "finished": finished,
                       "t0": before.get("t0") or (at - seconds if seconds else at)}
        t = pd.setdefault("tables", {}).setdefault(table, {"total": 0, "ranges": 1, "t0": None})
        mine = [v for k, v in ranges.items() if k.split("|", 1)[0] == table]
        t.update(done=sum(v["done"] for v in mine), copied=sum(v["copied"] for v in mine),
                 rejected=sum(v["rejected"] for v in mine), bytes=sum(v["bytes"] for v in mine),
                 ranges_done=sum(1 for v in mine if v["finished"]), t1=at)
        t["t0"] = min([v["t0"] for v in mine] + ([t["t0"]] if t.get("t0") else []))
        Run.objects.filter(pk=run_id).update(
            progress_data=pd, heartbeat_at=now(), steps_done=r.steps_done + (1 if newly else 0),
        )
    return newly


class RangeReporter:
    """The ``progress`` and ``should_cancel`` callbacks of one range task."""

    CANCEL_POLL_SECONDS = 0.5

    def __init__(self, run_id: int, spec: RangeSpec) -> None:
        self.run_id, self.spec = run_id, spec
        self._last = self._checked = 0.0
        self._cancel = False

    def progress(self, p) -> None:
        if time.monotonic() - self._last < PROGRESS_EVERY_SECONDS:
            return
        self._last = time.monotonic()
        d = p.data or {}
        rate = float(d.get("rows_per_s") or 0)
        nbytes = int(float(d.get("mb_per_s") or 0) * 1e6 * p.done / rate) if rate else 0
        record_range_figures(self.run_id, self.spec.table, self.spec.lo, done=p.done, copied=int(d.get("copied", 0)),
                             rejected=int(d.get("rejected", 0)), nbytes=nbytes)

    def should_cancel(self) -> bool:
        if not self._cancel and time.monotonic() - self._checked >= self.CANCEL_POLL_SECONDS:
            self._checked = time.monotonic()
            self._cancel = not range_should_run(self.run_id)
        return self._cancel


def record_range_done(run_id: int, result: RangeResult, secret: str = "", worker: str = "") -> None:
    """Final figures of a committed (or already committed) range, and a log line (writes the DB)."""
    record_range_figures(run_id, result.table, result.lo, done=result.rows_read, copied=result.rows_copied,
                         rejected=result.rows_rejected, nbytes=result.bytes, finished=True, seconds=result.seconds)
    what = "already committed earlier, skipped" if result.skipped else (
        f"{result.rows_copied} copied, {result.rows_rejected} rejected in {result.seconds:.2f} s")
    on = f" (worker {worker})" if worker else ""
    lifecycle.log_line(run_id, f"{result.table} rows {result.lo}..{result.hi}: {what}{on}", secret=secret)


def record_succeeded(run: Run, summary: CopySummary) -> Run | None:
    """End a copy whose post-load phases ran, by its verdict; audit it; queue the verification (writes the DB).

    Steps: 1 the phases from the run's time stamps (they add up to its wall
    time); 2 the verdict (``copy_outcome.verdict``): SUCCEEDED, SUCCEEDED_REJECTS
    or FAILED (nothing imported); 3 write it with the summary, a log line and
    the audit event; 4 unless it failed, queue the verification. Returns the
    verification run, if one was queued.
    """

    with transaction.atomic():
        r = Run.objects.select_for_update().get(pk=run.pk)
        if r.status != Run.Status.RUNNING:
            return None
        end, finished_at = copy_outcome.now_pair()
        summary = copy_outcome.wall_time_summary(r, summary, end)
        status, fields = copy_outcome.verdict(r, summary)
        data = summary.to_dict()
        outcome_message = summary.outcome[1]
        pd = {**(r.progress_data or {}), "phase": "done" if status != Run.Status.FAILED else status, "summary": data,
              "summary_text": format_summary(summary), "outcome": outcome_message,
              "rejects_text": format_rejects(summary)}
        Run.objects.filter(pk=run.pk).update(
            status=status, finished_at=finished_at, current_step="", steps_done=r.steps_total,
            progress_data=pd, params={**r.params, "copy_finished": True}, **fields)
        run.refresh_from_db()
        level = {Run.Status.SUCCEEDED: "info", Run.Status.SUCCEEDED_REJECTS: "warning"}.get(status, "error")
        lifecycle.log_line(run.pk, f"Copy {status}: {outcome_message}\n" + pd["summary_text"] + "\n" + pd["rejects_text"], level)
        audit.record(
            actor=run.actor, actor_kind=lifecycle.run_actor_kind(run), action="run.finished", target=run.target,
            run=run, operation=run.operation, outcome=status, error=fields.get("error", ""),
            params={"copy_id": data["copy_id"], "rows_read": summary.rows_read, "rows_imported": summary.rows_imported,
                    "rows_rejected": summary.rows_rejected, "rejects_by_reason": copy_outcome.rejects_by_reason(data),
                    "tables": [t.table for t in summary.tables],
                    "rows_not_copied": summary.rows_not_copied,
                    "not_copied": [f"{o.kind}:{o.name}" for o in summary.skipped if o.kind not in ("shadow table",)],
                    "seconds": round(summary.total_seconds, 3), "worker": run.worker},
        )
        if status == Run.Status.FAILED:
            return None
        # The tables this copy carried, not the whole target: other tables (an earlier copy's) are not this
        # file's to judge, and their state must not fail this copy's verification.
        check = verifying.schedule_verify(
            target=run.target, source=run.params["source"],
            tables=run.params.get("tables") or [t.table for t in summary.tables] or None, actor=run.actor,
            actor_kind=lifecycle.run_actor_kind(run), after_copy=run,
        )
        Run.objects.filter(pk=run.pk).update(progress_data={**pd, "verify_run_id": check.pk})
        lifecycle.log_line(run.pk, f"Verification run #{check.pk} queued")
    return check


def record_truncated(run: Run, counts: dict[str, int]) -> None:
    """Audit the target tables the copy's planning emptied, with the rows each held (writes the DB).

    Called once the planning transaction committed (the engine reports it
    then), so the audit never names a truncate that rolled back.
    """
    Run.objects.filter(pk=run.pk).update(params={**run.params, "truncated": counts})
    run.params = {**run.params, "truncated": counts}
    audit.record(
        actor=run.actor, actor_kind=lifecycle.run_actor_kind(run), action="run.copy_truncated", target=run.target,
        run=run, operation=Run.Operation.COPY, outcome="truncated",
        params={"copy_id": run.params.get("copy_id"), "tables": counts, "rows_removed": sum(counts.values())},
    )


def mark_finish_started(run_id: int) -> None:
    """Note when the post-load phases began (the summary's phases are measured from it; writes the DB)."""
    with transaction.atomic():
        r = Run.objects.select_for_update().only("progress_data").get(pk=run_id)
        Run.objects.filter(pk=run_id).update(progress_data={**(r.progress_data or {}), "finish_started": time.time()})
