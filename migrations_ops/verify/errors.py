"""Errors a verification raises on purpose (findings are not errors: they go in the report)."""

from __future__ import annotations

from ..errors import Cancelled, LockTimeout, OpsError, SourceUnreadable

__all__ = ["SourceUnreadable"]  # the ground floor's, re-exported where verification errors are looked for


class TablesNotFound(OpsError):
    code = "verify_tables_not_found"
    explanation = "Some requested tables exist neither in the target schema nor in the source; check the names."

    def __init__(self, tables: list[str], schema: str) -> None:
        super().__init__(
            f"No such table in schema {schema!r}: {', '.join(tables)}", tables=list(tables), schema=schema
        )


class VerifyTimeout(OpsError):
    code = "verify_timeout"
    explanation = (
        "One batch of the verification ran longer than its statement_timeout and was cancelled. Nothing "
        "was changed. Lower the batch size or raise the timeout, or run when the target is less busy."
    )
    retryable = True

    def __init__(self, table: str, what: str, timeout_ms: int) -> None:
        super().__init__(
            f"Verification of {table} ({what}) exceeded statement_timeout of {timeout_ms} ms",
            table=table, what=what, timeout_ms=timeout_ms,
        )


class VerifyLockTimeout(LockTimeout):
    """A lock timeout like a migration's, so callers that handle lock waits handle this one too."""

    code = "verify_lock_timeout"
    explanation = (
        "A read of the verification waited too long for a lock (another session holds an exclusive "
        "lock, e.g. a migration). The verification never queues behind such locks; run it again later."
    )
    retryable = True

    def __init__(self, table: str, timeout_ms: int) -> None:
        OpsError.__init__(
            self, f"Verification of {table} could not get ACCESS SHARE within {timeout_ms} ms", table=table,
            timeout_ms=timeout_ms,
        )


class VerifyCancelled(Cancelled):
    """A cancel like a migration's, so the portal ends the run CANCELLED without looking at codes."""

    explanation = "The verification was cancelled on request; it only reads, so nothing is left behind."

    def __init__(self, table: str | None) -> None:
        OpsError.__init__(self, "Verification cancelled" + (f" at table {table}" if table else ""), table=table)
