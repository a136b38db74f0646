"""What every ``ops`` subcommand shares: who acts, the target named, JSON shapes, waiting, exit codes."""

from __future__ import annotations

import json
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction

from ..models import AuditEvent, Run, RunLog, Target
from ..permissions import require
from .ending import (  # noqa: F401 - the exit codes are the CLI's: the subcommands import them from here
    EXIT_FAILED,
    EXIT_REJECTS,
    EXIT_STOPPED,
    EXIT_TIMEOUT,
    exit_code,
    exit_text,
    log_text,
    timeout_text,
)

# --- helpers ------------------------------------------------------------------------


def acting_user(options: dict, *, required: bool, what: str):
    """The portal user the CLI acts as; mutating commands refuse to run without one."""
    name = (options.get("user") or "").strip()
    if not name:
        if required:
            raise ValidationError(f"'ops {what}' changes things: say who you are with --user NAME or MOP_CLI_USER")
        return None
    user = get_user_model().objects.filter(username=name).first()
    if user is None or not user.is_active:
        raise ValidationError(f"No active portal user named {name!r}")
    return user


MAX_LIST = 10_000


def clamp_limit(value: int) -> int:
    """``--limit`` kept between 1 and MAX_LIST: a huge number would overflow the query's LIMIT (bigint)."""
    return max(1, min(value, MAX_LIST))


def check_view(user, perm: str) -> None:
    if user is not None:
        require(user, perm)


def target_named(name: str) -> Target:
    target = Target.objects.select_related("project").filter(name=name).first()
    if target is None:
        known = ", ".join(Target.objects.values_list("name", flat=True)[:20]) or "none registered"
        raise ValidationError(f"Unknown target {name!r} (known: {known})")
    return target


def dump_json(command, data: Any) -> None:
    command.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def iso(dt) -> str | None:
    return dt.isoformat() if dt else None


def run_json(run: Run) -> dict[str, Any]:
    """The stable JSON of a run (docs/cli.md)."""
    return {
        "id": run.pk, "target": run.target.name, "operation": run.operation, "revision": run.revision,
        "status": run.status, "actor": run.actor, "from_heads": run.from_heads, "to_heads": run.to_heads,
        "result_heads": run.result_heads, "steps_done": run.steps_done, "steps_total": run.steps_total,
        "plan_steps": run.plan_steps, "step_timings": run.step_timings, "sql_hash": run.sql_hash,
        "project_fingerprint": run.project_fingerprint, "created_at": iso(run.created_at),
        "started_at": iso(run.started_at), "finished_at": iso(run.finished_at), "worker": run.worker,
        "error": run.error, "error_code": run.error_code, "error_explanation": run.error_explanation,
        "lock_retries": run.params.get("lock_retries"), "safety_findings": run.safety_findings,
    }


def target_json(t: Target) -> dict[str, Any]:
    return {
        "name": t.name, "environment": t.environment, "project": t.project.name, "host": t.host, "port": t.port,
        "dbname": t.dbname, "user": t.user, "sslmode": t.sslmode, "has_password": t.has_password,
        "active": t.is_active, "lock_timeout_ms": t.lock_timeout_ms, "statement_timeout_ms": t.statement_timeout_ms,
        "lock_retries": t.lock_retries,
    }


def event_json(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.pk, "created_at": iso(e.created_at), "actor": e.actor, "actor_kind": e.actor_kind,
        "action": e.action, "target": e.target_name, "run": e.run_id, "operation": e.operation,
        "from_revision": e.from_revision, "to_revision": e.to_revision, "params": e.params, "sql_hash": e.sql_hash,
        "outcome": e.outcome, "error": e.error, "prev_hash": e.prev_hash, "hash": e.hash,
    }


def revs_text(heads) -> str:
    return ", ".join(heads) if heads else "base"


# --- reading --------------------------------------------------------------------------


# --- changing things ---------------------------------------------------------------------


def wait(command, run: Run, *, timeout: float | None = None, quiet: bool = False, poll: float = 0.5) -> Run:
    """Follow the run until it ends, printing its log lines as they come (reads the DB).

    Between reads it listens for the run's status changes (``mop_run_status``, migration 0011), so it
    returns as soon as the run ends; log lines are read at least every ``poll`` seconds.
    """
    last_id, deadline = 0, None if timeout is None else time.monotonic() + timeout
    listening = _listen()
    nap = 0.05  # short runs end in a fraction of a second: poll soon, then every ``poll`` seconds
    while True:
        with transaction.atomic():
            run.refresh_from_db()
            lines = list(RunLog.objects.filter(run=run, id__gt=last_id).order_by("id"))
        for line in lines:
            last_id = line.pk
            if not quiet:
                command.stdout.write(log_text(line.created_at, line.level, line.message))
        if not run.is_active and run.status not in Run.WAITING:
            return run
        if deadline is not None and time.monotonic() > deadline:
            raise CommandError(timeout_text(run.pk, run.status, timeout), returncode=EXIT_TIMEOUT)
        _nap(min(nap, poll), listening)
        nap *= 2


def _listen() -> bool:
    """LISTEN for run status changes on the command's own connection; False where that is not possible (a
    pooler in transaction mode, another database engine): the wait then only polls."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return False
    try:
        with connection.cursor() as cur:
            cur.execute("LISTEN mop_run_status")
        return True
    except Exception:  # noqa: BLE001 - listening only shortens the wait
        return False


def _nap(seconds: float, listening: bool) -> None:
    """Sleep ``seconds``, or less when a run's status changes (any run: the caller reads its own again)."""
    if not listening:
        time.sleep(seconds)
        return
    from django.db import connection

    for _note in connection.connection.notifies(timeout=seconds, stop_after=1):
        break


def exit_for(run: Run) -> None:
    """Return if the run succeeded; else the command's message and exit code (``ending``)."""
    code = exit_code(run.status)
    if code:
        raise CommandError(exit_text(run.pk, run.status, run.error, run.error_data,
                                     (run.progress_data or {}).get("outcome", "")), returncode=code)


# --- locks and activity -------------------------------------------------------


# --- first start ------------------------------------------------------------------------


