"""Handing a recorded run to the broker, and what happens when the broker cannot take it.

A run is written first and its task sent after the commit (STYLE 6). If the
broker (Redis) is down at that moment, the run must not stay QUEUED for ever
(a queued copy blocks every later copy into its target). Of the two ways out
the issue names, this module takes the second: **the run is marked FAILED at
once, with a clear error, and the DBA is told**. We chose it over an outbox
that beat re-sends because:

- a migration that starts whenever Redis comes back (minutes or hours later,
  outside the window the DBA chose, after the target may have moved) is worse
  than one that did not start: the DBA decides when to schedule again;
- beat needs the same broker to re-send, so an outbox gives no help during
  the outage itself, and the DBA waiting at the prompt gets no answer;
- a task that reaches the broker after all (Redis accepted it but the
  reply was lost) finds the run no longer QUEUED and does nothing, since the
  worker claims a run with a conditional UPDATE (``lifecycle.claim``).

The reaper covers the rest: a run QUEUED longer than MOP_REAPER_QUEUED_SECONDS
whose task is neither in the broker's queue nor known to any worker (the
broker lost it: a Redis restart without persistence, a flushed database) is
marked FAILED the same way (``reap_orphaned_queued``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.timezone import now
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from migrations_ops.target import redact_text

from . import audit
from .models import AuditEvent, Run

log = logging.getLogger(__name__)

# What a publish raises when Redis is down or unreachable (kombu wraps most; a refused socket can surface raw).
BROKER_ERRORS: tuple[type[BaseException], ...] = (KombuOperationalError, RedisError, OSError)
# Publish retries before giving up (kombu's retry_policy): about a second in all, so the DBA is answered quickly.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.3, "interval_max": 0.5}

UNDISPATCHED_EXPLANATION = (
    "The portal recorded the run but could not hand it to the task queue (Redis, the Celery broker), so no "
    "worker will ever start it. It was marked failed at once so that it blocks nothing; nothing ran on the "
    "target. Start Redis (or fix REDIS_URL), check that a worker is running, then schedule the run again."
)
ORPHAN_EXPLANATION = (
    "The run stayed queued, but its task is neither in the broker's queue nor held by any worker: the broker "
    "lost it (Redis restarted without persistence, or its data was flushed) or it was never delivered. It was "
    "marked failed so that it blocks nothing; nothing ran on the target. Schedule the run again."
)


class BrokerUnavailable(ValidationError):
    """The broker refused a run's task: the run is already marked FAILED; the message says what to do."""

    def __init__(self, run: Run, error: str) -> None:
        super().__init__(
            f"Run #{run.pk} ({run.get_operation_display().lower()} on {run.target.name}) could not be queued: the "
            f"task queue (Redis) is unavailable ({error}). The run was marked failed and nothing ran; start Redis "
            "and a worker, then schedule it again.",
            code="broker_unavailable",
        )
        self.run = run


# The task of each kind of run, by name: the portal queues tasks without importing them.
TASK_OF = {Run.Operation.COPY: "ops.copy_run", Run.Operation.VERIFY: "ops.verify_run"}
SCHEMA_TASK = "ops.run_operation"


def send_run(run: Run) -> None:
    """Queue the run's task by its name, with the run's task id (the reaper looks for it)."""
    from portal.celery import app  # noqa: PLC0415 - the CLI pays for Celery only when it queues

    app.send_task(TASK_OF.get(run.operation, SCHEMA_TASK), (run.pk,), task_id=run.celery_task_id,
                  retry=True, retry_policy=RETRY_POLICY)


def enqueue_on_commit(run: Run, send: Callable[[Run], None] | None = None) -> None:
    """Send the run's task once the transaction commits; if the broker refuses it, fail the run (never left queued).

    :param send: sends the task (default ``send_run``, looked up when the transaction commits).
    """
    transaction.on_commit(lambda: _send(run, send or send_run))


def _send(run: Run, send: Callable[[Run], None]) -> None:
    try:
        send(run)
    except BROKER_ERRORS as exc:
        error = redact_text(f"{type(exc).__name__}: {exc}", "")[:500]
        log.error("run %s: the broker refused its task: %s", run.pk, error, extra={"run_id": run.pk})
        fail_queued(run, error=error, code="broker_unavailable", explanation=UNDISPATCHED_EXPLANATION,
                    action="run.dispatch_failed")
        run._dispatch_error = error  # read by raise_if_undispatched in the caller


def raise_if_undispatched(run: Run) -> None:
    """After the scheduling transaction: raise ``BrokerUnavailable`` if the task could not be sent.

    Under an outer transaction the send happens at its commit instead, and the
    run is failed there without a raise (a worker or beat has no one to tell).
    """
    error = getattr(run, "_dispatch_error", None)
    if error:
        raise BrokerUnavailable(run, error)


def fail_queued(run: Run, *, error: str, code: str, explanation: str, action: str, actor: str = "system") -> bool:
    """Mark a run that never started FAILED and audit it; False if it had left QUEUED meanwhile (writes the DB).

    A copy run is also noted as never opened, so it blocks no later copy
    (``copy_worker.mark_never_opened``), unless it resumes an open copy.
    """
    at = now()
    params = dict(run.params or {})
    if run.operation == Run.Operation.COPY and "resume_of" not in params:
        params["never_opened"] = True
    done = Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED, started_at__isnull=True).update(
        status=Run.Status.FAILED, finished_at=at, error=error, error_code=code, error_explanation=explanation,
        params=params,
    )
    if not done:
        return False
    run.refresh_from_db()
    audit.record(
        actor=actor, actor_kind=AuditEvent.ActorKind.SYSTEM, action=action, target=run.target, run=run,
        operation=run.operation, outcome=Run.Status.FAILED, error=error,
        params={"requested_by": run.actor, "queued_at": run.created_at.isoformat(), "code": code},
    )
    return True


# --- the reaper's side: queued runs whose task is gone ------------------------------------------


def reap_orphaned_queued(limit_seconds: int | None = None, alive: Callable[[list[str]], set[str]] | None = None
                         ) -> list[Run]:
    """Fail runs QUEUED longer than the limit whose task no worker and no queue holds (writes the DB).

    Steps: 1 find QUEUED runs older than MOP_REAPER_QUEUED_SECONDS, 2 ask the
    broker's queue and the workers which of their task ids they still hold,
    3 fail the others with ``fail_queued``. A run whose task is only waiting
    behind others is left alone; when the broker cannot be asked, none is
    alive (no worker can receive a task then either, and a task that turns
    up later finds its run failed and does nothing).
    """
    limit = settings.MOP_REAPER_QUEUED_SECONDS if limit_seconds is None else limit_seconds
    old = list(Run.objects.filter(status=Run.Status.QUEUED, started_at__isnull=True,
                                  created_at__lt=now() - timedelta(seconds=limit)).select_related("target"))
    if not old:
        return []
    held = (alive or tasks_alive)([r.celery_task_id for r in old if r.celery_task_id])
    reaped = []
    for run in old:
        if run.celery_task_id and run.celery_task_id in held:
            continue
        minutes = max(1, int((now() - run.created_at).total_seconds() // 60))
        error = (f"Queued for {minutes} min and no worker or queue holds its task (id {run.celery_task_id or '?'}); "
                 "the run never started.")
        if fail_queued(run, error=error, code="never_started", explanation=ORPHAN_EXPLANATION,
                       action="run.orphan_reaped"):
            reaped.append(run)
    return reaped


def tasks_alive(task_ids: list[str]) -> set[str]:
    """The task ids among ``task_ids`` still waiting in the broker's queues or held by a worker (reads Redis)."""
    found: set[str] = set()
    try:
        found |= _ids_in_queues(set(task_ids))
        found |= _ids_at_workers(task_ids)
    except BROKER_ERRORS as exc:
        log.warning("cannot ask the broker which queued runs are alive: %s", exc)
    return found


def _ids_in_queues(wanted: set[str]) -> set[str]:
    """Task ids of messages waiting in the default queue (and its priority sub-queues) in Redis."""
    from portal.celery import app

    queue = app.conf.task_default_queue
    found: set[str] = set()
    with app.connection_for_read() as conn:
        client = conn.default_channel.client
        keys = [queue, *client.scan_iter(match=_glob_escape(queue) + "\x06\x16*", count=100)]
        for key in keys:
            found |= _ids_of(client.lrange(key, 0, -1), wanted)
    return found


def _glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis SCAN pattern (``*?[]\\`` escaped)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _ids_of(messages: Iterable[bytes], wanted: set[str]) -> set[str]:
    """Task ids (protocol 2 ``headers.id``) of raw kombu messages that are in ``wanted``."""
    found = set()
    for raw in messages:
        try:
            task_id = (json.loads(raw).get("headers") or {}).get("id")
        except (ValueError, AttributeError):
            continue
        if task_id in wanted:
            found.add(task_id)
    return found


def _ids_at_workers(task_ids: list[str]) -> set[str]:
    """Task ids a live worker has reserved or is running (Celery's ``inspect().query_task``)."""
    from portal.celery import app

    replies = app.control.inspect(timeout=1.0).query_task(*task_ids) or {}
    return {tid for tasks in replies.values() for tid in (tasks or {})}
