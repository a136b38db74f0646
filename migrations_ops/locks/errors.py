"""Errors of the lock diagnostics and of cancel/terminate, each carrying its data."""

from __future__ import annotations

import datetime as dt

from ..errors import OpsError


class DiagnosticsTimeout(OpsError):
    code = "diagnostics_timeout"
    explanation = (
        "A diagnostic query ran longer than its statement_timeout and was cancelled, so that "
        "watching a busy server never adds to its load. Look again in a moment."
    )
    retryable = True

    def __init__(self, query: str, timeout_ms: int | None) -> None:
        limit = f"{timeout_ms} ms " if timeout_ms else ""
        super().__init__(
            f"Diagnostic query {query!r} exceeded its {limit}statement timeout",
            query=query,
            timeout_ms=timeout_ms,
        )


class BadActionRequest(OpsError):
    code = "bad_action_request"
    explanation = "A cancel or terminate needs a pid, the backend's start time and a reason."

    def __init__(self, problem: str) -> None:
        super().__init__(f"Cannot act on backend: {problem}", problem=problem)


class BackendGone(OpsError):
    code = "backend_gone"
    explanation = "No backend has this pid any more; nothing was done."

    def __init__(self, pid: int) -> None:
        super().__init__(f"Backend {pid} no longer exists; nothing was done", pid=pid)


class BackendReused(OpsError):
    code = "backend_reused"
    explanation = (
        "The pid now belongs to another session than the one shown on the page (its backend_start "
        "differs): the session you chose has ended and its pid was reused. Nothing was done."
    )

    def __init__(self, pid: int, expected_start: dt.datetime, actual_start: dt.datetime | None) -> None:
        super().__init__(
            f"Backend {pid} started at {actual_start.isoformat() if actual_start else '?'}, not at "
            f"{expected_start.isoformat()}: it is another session; nothing was done",
            pid=pid,
            expected_start=expected_start.isoformat(),
            actual_start=actual_start.isoformat() if actual_start else None,
        )


class BackendHidden(OpsError):
    code = "backend_hidden"
    explanation = (
        "The session belongs to another role and the target's role may not see its details (its "
        "start time is hidden), so the portal cannot make sure it is the session you chose. Grant "
        "the target's role pg_read_all_stats, and pg_signal_backend to signal it (docs/security.md)."
    )

    def __init__(self, pid: int) -> None:
        super().__init__(f"Backend {pid} is another role's session the target's role cannot see; nothing was done",
                         pid=pid)


class BackendProtected(OpsError):
    code = "backend_protected"
    explanation = (
        "The portal never cancels or terminates superuser sessions, replication and other "
        "background processes, its own sessions (cancel a run from its page instead) or the "
        "diagnostic session itself. Do it in psql if you really must."
    )

    def __init__(self, pid: int, reason: str, application_name: str | None, usename: str | None) -> None:
        super().__init__(
            f"Refused to signal backend {pid}: {reason}",
            pid=pid,
            reason=reason,
            application_name=application_name,
            usename=usename,
        )


class BackendElsewhere(OpsError):
    code = "backend_elsewhere"
    explanation = (
        "A target's Locks page acts only on the sessions connected to that target's database. "
        "This pid belongs to a session in another database on the same server; nothing was done. "
        "Act on it from the target that manages that database, if there is one."
    )

    def __init__(self, pid: int, datname: str | None, target_dbname: str) -> None:
        super().__init__(
            f"Refused to signal backend {pid}: it is connected to database {datname or '(none)'!r}, "
            f"not to this target's database {target_dbname!r}; nothing was done",
            pid=pid,
            datname=datname,
            target_dbname=target_dbname,
        )


class SignalNotPermitted(OpsError):
    code = "signal_not_permitted"
    explanation = (
        "The target's role may not signal this backend. Grant it pg_signal_backend (it still "
        "cannot signal superusers) or act as the backend's own role."
    )

    def __init__(self, pid: int, detail: str) -> None:
        super().__init__(f"Not allowed to signal backend {pid}: {detail}", pid=pid, detail=detail)
