"""What a followed run prints and how the command exits, said once for both ways of waiting.

``common.wait`` / ``exit_for`` (in the Django process) and ``waiter.py`` (the small process a
``--wait`` hands over to) must print the same lines and end with the same message and code; both
build them here. No Django: the waiter imports this module. Statuses are the stored values of
``Run.Status``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

EXIT_FAILED, EXIT_STOPPED, EXIT_TIMEOUT = 1, 2, 3
EXIT_REJECTS = 4  # with --wait: a copy ended "succeeded with rejects" (every table loaded, some rows rejected)


def log_text(created_at: dt.datetime, level: str, message: str) -> str:
    """One log line as the terminal shows it (the time in the connection's zone: UTC)."""
    return f"{created_at:%H:%M:%S} {level:<7} {message}"


def timeout_text(run_id: int, status: str, timeout: float) -> str:
    return f"Run #{run_id} still {status} after {timeout:g} s; it goes on"


def outcome_text(label: str, outcome: str) -> str:
    """A copy's last line, after its summary."""
    return f"Outcome: {label}: {outcome}"


def exit_code(status: str) -> int:
    """0 succeeded, 1 failed, 4 succeeded with rejects, 2 anything else that ended (cancelled, interrupted, ...)."""
    if status == "succeeded":
        return 0
    return {"failed": EXIT_FAILED, "succeeded_rejects": EXIT_REJECTS}.get(status, EXIT_STOPPED)


def exit_text(run_id: int, status: str, error: str, error_data: dict[str, Any] | None, outcome: str) -> str:
    """The message of a run that did not simply succeed; a failure's class, statement and revision line
    follow, as the Alembic CLI shows them."""
    if status == "succeeded_rejects":
        return f"Run #{run_id} {status}: {outcome}"
    why = f": {error}" if error else ""
    failure = (error_data or {}).get("failure")
    if failure:
        from migrations_ops.schema.failure import failure_lines  # noqa: PLC0415 - SQLAlchemy, on a failure only

        why += "".join(f"\n  {line}" for line in failure_lines(failure))
    return f"Run #{run_id} {status}{why}"
