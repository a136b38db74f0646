"""Cancel or terminate a backend, safely, and say whether the blocking cleared.

A backend is named by its pid *and* its ``backend_start``: pids are reused,
and a DBA who confirmed "terminate 4242, idle in transaction since 01:58"
must never kill the session that got pid 4242 afterwards. The check is made
twice: in Python, to say precisely why nothing was done, and in the very
statement that sends the signal (``signal_backend.sql``), so that nothing
can slip in between.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ..target import TargetConn
from .blocking import reachable, read_blocking_rows
from .connection import DEFAULT_STATEMENT_TIMEOUT_MS, diag_connection, fetch_all
from .errors import (
    BackendElsewhere,
    BackendGone,
    BackendHidden,
    BackendProtected,
    BackendReused,
    BadActionRequest,
    SignalNotPermitted,
)
from .models import ActionResult, is_portal_application

_SIGNALS = {"cancel": "pg_cancel_backend", "terminate": "pg_terminate_backend"}
_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class BackendRow:
    """``backend_row.sql``: what decides whether a backend may be signalled, and its audit row."""

    row: dict[str, Any]
    backend_start: dt.datetime | None
    backend_type: str
    application_name: str
    usename: str | None
    superuser: bool
    is_self: bool
    datname: str | None = None
    own_datname: str | None = None


@dataclass(frozen=True, slots=True)
class SignalRow:
    signalled: bool


@dataclass(frozen=True, slots=True)
class WaitingRow:
    pid: int
    backend_start: dt.datetime | None
    blocked_by: list[int]


def cancel_backend(
    target: TargetConn,
    pid: int,
    backend_start: dt.datetime | str,
    actor_note: str,
    *,
    settle_seconds: float = 1.0,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
) -> ActionResult:
    """Cancel the running query of backend ``pid`` (``pg_cancel_backend``), if it is still that session.

    :param pid: the backend's pid.
    :param backend_start: its ``backend_start`` as shown to the DBA (datetime or ISO string).
    :param actor_note: who asked and why; kept in the result for the audit.
    :param settle_seconds: how long to wait, at most, for the sessions it blocked to get their locks.
    """
    return _signal("cancel", target, pid, backend_start, actor_note, settle_seconds, statement_timeout_ms)


def terminate_backend(
    target: TargetConn,
    pid: int,
    backend_start: dt.datetime | str,
    actor_note: str,
    *,
    settle_seconds: float = 1.0,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
) -> ActionResult:
    """Terminate backend ``pid`` (``pg_terminate_backend``), if it is still that session.

    Its transaction rolls back and its locks are released.

    :param pid: the backend's pid.
    :param backend_start: its ``backend_start`` as shown to the DBA (datetime or ISO string).
    :param actor_note: who asked and why; kept in the result for the audit.
    :param settle_seconds: how long to wait, at most, for the sessions it blocked to get their locks.
    """
    return _signal("terminate", target, pid, backend_start, actor_note, settle_seconds, statement_timeout_ms)


def backend_row(
    target: TargetConn, pid: int, *, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
) -> BackendRow | None:
    """Read backend ``pid``'s row as a cancel or terminate would judge it, or None if no backend has it.

    :param target: the database to look at (``pg_stat_activity`` is server-wide).
    :param pid: the backend's pid.
    :param statement_timeout_ms: limit of the diagnostic query.
    """
    with diag_connection(target, statement_timeout_ms) as conn:
        return _backend_row_on(conn, pid)


def _signal(
    action: str,
    target: TargetConn,
    pid: int,
    backend_start: dt.datetime | str,
    actor_note: str,
    settle_seconds: float,
    statement_timeout_ms: int,
) -> ActionResult:
    """Signal one backend.

    1. Validate the request; read the backend's row: gone, reused pid or
       protected backend -> raise, having done nothing.
    2. Note the sessions it blocks, directly or not.
    3. Send the signal with the same checks in the statement.
    4. Poll until those sessions no longer wait on a lock, or ``settle_seconds``.
    """
    start = _parse_start(backend_start)
    if not isinstance(pid, int) or pid <= 0:
        raise BadActionRequest(f"pid {pid!r} is not a positive integer")
    if not actor_note or not actor_note.strip():
        raise BadActionRequest("a reason (actor_note) is required")
    with diag_connection(target, statement_timeout_ms) as conn:
        victim = _check_victim(conn, pid, start)
        rows = read_blocking_rows(conn)
        blocks: dict[int, list[int]] = {r.pid: [] for r in rows}
        for r in rows:
            for b in r.blocked_by:
                blocks.setdefault(b, []).append(r.pid)
        blocked_before = tuple(sorted(reachable(pid, blocks) - {pid})) if pid in blocks else ()
        try:
            sent = fetch_all(
                conn, "signal_backend", SignalRow, {"pid": pid, "backend_start": start},
                composed={"signal": sql.Identifier(_SIGNALS[action])},
            )
        except psycopg.errors.InsufficientPrivilege as exc:
            raise SignalNotPermitted(pid, str(exc).strip()) from None
        if not sent:
            _check_victim(conn, pid, start)  # raises if it ended or changed meanwhile
            raise BackendGone(pid)
        still, gone = _settle(conn, pid, start, blocked_before, settle_seconds, action == "terminate")
    return ActionResult(
        action=action,
        pid=pid,
        backend_start=start,
        actor_note=actor_note.strip(),
        signalled=bool(sent[0].signalled),
        victim=victim.row,
        blocked_before=blocked_before,
        still_blocked=still,
        cleared=not still,
        victim_gone=gone,
        at=dt.datetime.now(dt.UTC),
    )


def _check_victim(conn: psycopg.Connection, pid: int, start: dt.datetime) -> BackendRow:
    """Return the backend's row if it may be signalled; raise saying why not otherwise."""
    b = _backend_row_on(conn, pid)
    if b is None:
        raise BackendGone(pid)
    if b.backend_start is None:  # another role's session, without pg_read_all_stats
        raise BackendHidden(pid)
    if b.backend_start != start:
        raise BackendReused(pid, start, b.backend_start)
    if b.backend_type == "client backend" and b.datname != b.own_datname:
        # pg_stat_activity is server-wide: a pid from another database must never be reachable
        # from this target's page, whatever the form posted.
        raise BackendElsewhere(pid, b.datname, b.own_datname or "")
    reason = None
    if b.is_self:
        reason = "it is this diagnostic session"
    elif b.superuser:
        reason = f"its role {b.usename!r} is a superuser"
    elif b.backend_type == "walsender":
        reason = "it is a replication (walsender) backend"
    elif b.backend_type != "client backend":
        reason = f"it is a background process ({b.backend_type})"
    elif is_portal_application(b.application_name):
        reason = f"it is one of the portal's own sessions ({b.application_name}); cancel a run from its page"
    if reason:
        raise BackendProtected(pid, reason, b.application_name, b.usename)
    return b


def _backend_row_on(conn: psycopg.Connection, pid: int) -> BackendRow | None:
    found = fetch_all(conn, "backend_row", BackendRow, {"pid": pid})
    return found[0] if found else None


def _settle(
    conn: psycopg.Connection,
    pid: int,
    start: dt.datetime,
    blocked_before: tuple[int, ...],
    settle_seconds: float,
    expect_gone: bool,
) -> tuple[tuple[int, ...], bool]:
    """Look again until the sessions it blocked stop waiting (and it is gone, if terminated)."""
    deadline = time.monotonic() + max(settle_seconds, 0.0)
    while True:
        waiting = fetch_all(conn, "waiting_pids", WaitingRow, {"pids": list(blocked_before)}) if blocked_before else []
        still = tuple(sorted(w.pid for w in waiting))
        alive = _backend_row_on(conn, pid)
        gone = alive is None or alive.backend_start != start
        if (not still and (gone or not expect_gone)) or time.monotonic() >= deadline:
            return still, gone
        time.sleep(_POLL_SECONDS)


def _parse_start(value: dt.datetime | str) -> dt.datetime:
    """``backend_start`` from a datetime or its ISO string (as a form posts it back); must be aware."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadActionRequest(f"backend_start {value!r} is not an ISO 8601 timestamp") from None
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise BadActionRequest("backend_start must be a timezone-aware timestamp")
    return value
