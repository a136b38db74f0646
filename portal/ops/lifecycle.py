"""The run lifecycle as a worker drives it: claim, start, lock retry, outcome, interruption, reaping.

Every kind of run (upgrade, downgrade, stamp, copy, verification) goes through these
functions, so a run's row and its audit trail say the same thing whatever the task.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils.timezone import now

from migrations_ops.errors import Cancelled, OpsError

from . import audit, gates, secrets
from .models import AuditEvent, Run, RunLog, Target
from .secrets import redact as redact_text

log = logging.getLogger(__name__)



def current_heads(target: Target) -> list[str] | None:
    """The target's version table right now, or None if it cannot be read (connects to the target)."""
    from migrations_ops.schema import state  # noqa: PLC0415 - Alembic only for a schema run's reaping

    from .services import resolve  # noqa: PLC0415

    try:
        heads, _has_table = state.live_heads(target.conn(), resolve(target.project), "mop:reaper")
        return sorted(heads)
    except OpsError as exc:
        log.warning("cannot read the revision of %s: %s", target.name, exc)
        return None


def reap_stale_runs(stale_seconds: int | None = None) -> list[Run]:
    """Mark RUNNING runs whose worker stopped sending heartbeats as INTERRUPTED (writes the DB).

    Never re-runs anything (migrations are not idempotent): it records the
    target's actual revision in ``result_heads`` so the DBA sees where it stopped.
    """
    stale = settings.MOP_REAPER_STALE_SECONDS if stale_seconds is None else stale_seconds
    cutoff = now() - timedelta(seconds=stale)
    candidates = Run.objects.filter(status=Run.Status.RUNNING).select_related("target", "target__project")
    reaped: list[Run] = []
    for run in candidates:
        last = run.heartbeat_at or run.started_at or run.created_at
        if last >= cutoff:
            continue
        # Conditional on the heartbeat we saw: one that arrives meanwhile keeps the run alive.
        if mark_interrupted(
            run,
            error=f"The worker stopped sending heartbeats (last at {last:%Y-%m-%d %H:%M:%S %Z}); "
                  "the run was interrupted and will not be retried automatically.",
            extra_filter={"heartbeat_at": run.heartbeat_at},
        ):
            reaped.append(run)
    return reaped


def run_actor_kind(run: Run) -> str:
    if run.actor.startswith("schedule:"):
        return AuditEvent.ActorKind.SCHEDULE
    if run.actor == "system":
        return AuditEvent.ActorKind.SYSTEM
    return AuditEvent.ActorKind.USER


def claim(run_id: int, worker: str) -> str:
    """Claim a queued run for this worker; returns ``claimed`` or why not (writes the DB).

    A run that already has ``started_at`` was claimed by an attempt that died
    (a redelivered task): it is marked INTERRUPTED, never run again.
    """
    refused = gates.before_claim(run_id)  # change control: approvals still bound, window still open
    if refused:
        return refused
    at = now()
    if Run.objects.filter(pk=run_id, status=Run.Status.QUEUED, started_at__isnull=True).update(
        status=Run.Status.RUNNING, started_at=at, heartbeat_at=at, worker=worker
    ):
        return "claimed"
    run = Run.objects.select_related("target", "target__project").filter(pk=run_id).first()
    if run is None:
        log.warning("run %s does not exist; task dropped", run_id, extra={"run_id": run_id})
        return "missing"
    if run.started_at is not None and run.status in Run.ACTIVE:
        mark_interrupted(
            run,
            error=f"The task of run #{run.pk} was delivered again after it had started on "
                  f"{run.worker or 'a worker'}; the earlier attempt died. It is not run a second time.",
            statuses=Run.ACTIVE,
            actor=worker,
        )
        return "interrupted"
    log.info("run %s is %s; nothing to do", run_id, run.status, extra={"run_id": run_id})
    return run.status


def mark_interrupted(run: Run, *, error: str, statuses=(Run.Status.RUNNING,), actor: str = "system",
                     extra_filter: dict | None = None) -> bool:
    """Mark a run INTERRUPTED and record where the target really is (connects to the target)."""
    claimed = Run.objects.filter(pk=run.pk, status__in=list(statuses), **(extra_filter or {})).update(
        status=Run.Status.INTERRUPTED, finished_at=now(), error_code="interrupted", error=error,
        current_step="",
        error_explanation=(
            "The worker process died or lost its host while the run was in progress. Each revision runs "
            "in its own transaction, so the target is at the last revision that committed (shown as the "
            "result). Nothing is retried automatically: check the target's state, then schedule a new run."
        ),
    )
    if not claimed:
        return False
    heads = current_heads(run.target)
    Run.objects.filter(pk=run.pk).update(result_heads=heads)
    run.refresh_from_db()
    audit.record(
        actor=actor, actor_kind=AuditEvent.ActorKind.SYSTEM, action="run.interrupted",
        target=run.target, run=run, operation=run.operation, from_revision=run.from_heads,
        to_revision=heads if heads is not None else "", outcome=Run.Status.INTERRUPTED,
        error=run.error, sql_hash=run.sql_hash,
    )
    return True


def record_started(run: Run) -> None:
    """Audit that a worker started the run (writes the DB); a schema run also tells change control."""
    if run.operation not in Run.SCHEMA_OPERATIONS:  # copy or verification
        audit.record(
            actor=run.actor, actor_kind=run_actor_kind(run), action="run.started", target=run.target,
            run=run, operation=run.operation,
            params={"worker": run.worker or "", **({"copy_id": run.params["copy_id"]} if "copy_id" in run.params else {})},
        )
        return
    audit.record(
        actor=run.actor, actor_kind=run_actor_kind(run), action="run.started", target=run.target, run=run,
        operation=run.operation, from_revision=run.from_heads, to_revision=run.to_heads,
        sql_hash=run.sql_hash, params={"worker": run.worker or "", "requested": run.revision},
    )
    gates.notify(run, "started")


def record_lock_retry(run: Run, data: dict, secret: str = "") -> None:
    """Audit that a run hit lock_timeout and will try again, naming the blocker (writes the DB).

    :param data: the engine's ``lock_retry`` progress data (``attempt``, ``max_attempts``,
        ``delay_s``, ``revision``, ``blocker: {pid, application, state, query}``).
    :param secret: the target's password, redacted from the blocker's query.
    """
    blocker = data.get("blocker") or {}
    audit.record(
        actor=run.actor, actor_kind=run_actor_kind(run), action="run.lock_retry", target=run.target, run=run,
        operation=run.operation, from_revision=run.from_heads, to_revision=run.to_heads, sql_hash=run.sql_hash,
        outcome="retrying",
        params={
            "revision": data.get("revision"), "attempt": data.get("attempt"),
            "max_attempts": data.get("max_attempts"), "delay_s": data.get("delay_s"),
            "blocker": {"pid": blocker.get("pid"), "application": blocker.get("application"),
                        "state": blocker.get("state"), "query": redact_text(blocker.get("query") or "", secret)[:2000] or None},
        },
    )
    gates.notify(run, "lock_retry")


def outcome_fields(run: Run, result, error: BaseException | None, secret: str) -> tuple[str, dict]:
    if error is None and result is not None:
        return Run.Status.SUCCEEDED, {
            "result_heads": list(result.to_heads),
            "steps_done": len(result.steps),
            "step_timings": [
                {"revision": s.revision, "direction": s.direction, "seconds": round(s.seconds, 3)}
                for s in result.steps
            ],
        }
    if isinstance(error, OpsError):
        status = Run.Status.CANCELLED if isinstance(error, Cancelled) else Run.Status.FAILED
        data = secrets.redact_data(json.loads(json.dumps(audit.clean_params(error.data()), default=str)), secret)
        return status, {
            "error": redact_text(str(error), secret), "error_code": error.code,
            "error_explanation": error.explanation, "error_data": data,
        }
    if error is None:
        message, code = "The worker stopped before the run finished", "worker_stopped"
    else:
        message, code = f"{type(error).__name__}: {redact_text(str(error), secret)}", "internal_error"
    return Run.Status.FAILED, {
        "error": message, "error_code": code,
        "error_explanation": "An unexpected error in the portal or the engine. The log shows how far the "
                             "run got; the target is at the last revision that committed.",
    }


def record_outcome(run: Run, *, result=None, error: BaseException | None = None, timings=(), secret: str = "") -> str:
    """Write the run's final state and audit it; returns the status (writes the DB, may read the target)."""
    status, fields = outcome_fields(run, result, error, secret)
    status, fields = gates.outcome(run, status, fields)  # e.g. "window closed after step 3 of 5"
    if status != Run.Status.SUCCEEDED:
        fields["result_heads"] = current_heads(run.target)
        if timings:
            fields["step_timings"] = list(timings)
    if error is not None:
        log.warning("run %s %s: %s", run.pk, status, fields.get("error", ""), extra={"run_id": run.pk})
    # One transaction: the status change is announced (mop_run_status) at its commit, and whoever it wakes
    # (ops ... --wait, then ops audit) must find the run's last log line and audit event already there.
    with transaction.atomic():
        # A run the reaper declared interrupted while it was alive still gets its true outcome.
        Run.objects.filter(pk=run.pk, status__in=[Run.Status.RUNNING, Run.Status.INTERRUPTED]).update(
            status=status, finished_at=now(), current_step="", **fields
        )
        log_line(run.pk, f"Run {status}", "info" if status == Run.Status.SUCCEEDED else "error", secret)
        run.refresh_from_db()
        audit.record(
            actor=run.actor, actor_kind=run_actor_kind(run), action="run.finished", target=run.target, run=run,
            operation=run.operation, from_revision=run.from_heads,
            to_revision=run.result_heads if run.result_heads is not None else run.to_heads,
            sql_hash=run.sql_hash, outcome=status, error=run.error,
            params={"worker": run.worker, "steps_done": run.steps_done, "steps_total": run.steps_total,
                    **({"error_data": run.error_data} if run.error_data else {})},
        )
    gates.notify(run, status)
    return status


def log_line(run_id: int, message: str, level: str = "info", secret: str = "") -> None:
    """One line of the run's log, the target's password taken out."""
    RunLog.objects.create(run_id=run_id, level=level, message=redact_text(message, secret))


def record_failure(run: Run, error: BaseException, secret: str = "") -> str | None:
    """End a copy or verification FAILED (or CANCELLED) unless another task ended it first; audit it (writes the DB)."""
    status, fields = outcome_fields(run, None, error, secret)
    with transaction.atomic():
        ended = Run.objects.filter(pk=run.pk, status__in=[Run.Status.RUNNING, Run.Status.QUEUED]).update(
            status=status, finished_at=now(), current_step="", **fields)
        if not ended:
            return None
        run.refresh_from_db()
        pd = {**(run.progress_data or {}), "phase": status}
        Run.objects.filter(pk=run.pk).update(progress_data=pd)
        log_line(run.pk, f"{run.get_operation_display()} {status}: {fields.get('error', '')}", "error", secret)
        audit.record(
            actor=run.actor, actor_kind=run_actor_kind(run), action="run.finished", target=run.target,
            run=run, operation=run.operation, outcome=status, error=run.error,
            params={"copy_id": run.params.get("copy_id"), "worker": run.worker},
        )
    log.warning("%s run %s %s: %s", run.operation, run.pk, status, fields.get("error", ""), extra={"run_id": run.pk})
    return status
