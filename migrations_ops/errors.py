"""The engine's exceptions: one base, subclasses that carry their data.

The message is built in ``__init__`` (as Alembic's ``script/revision.py``
does), ``str(exc)`` is what a DBA reads, ``explanation`` says what it means
and what to do, and ``data()`` is what the portal stores next to the run.
"""

from __future__ import annotations

from typing import Any


class OpsError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "error"
    explanation = ""
    retryable = False

    def __init__(self, message: str, *, explanation: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        if explanation is not None:
            self.explanation = explanation
        self.fields = fields

    def data(self) -> dict[str, Any]:
        """The fields worth storing, JSON-serialisable."""
        return {"code": self.code, "message": str(self), "explanation": self.explanation, **self.fields}


# --- configuration and input ------------------------------------------------


class BadDSN(OpsError):
    code = "bad_dsn"
    explanation = "The connection settings are malformed; fix the target's host, port, database or user."

    def __init__(self, problem: str) -> None:
        super().__init__(f"Bad connection settings: {problem}", problem=problem)


class ProjectNotFound(OpsError):
    code = "project_not_found"
    explanation = "The Alembic project's path or repository does not exist or has no script directory."

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"Alembic project {location!r}: {reason}", location=location, reason=reason)


class RevisionNotFound(OpsError):
    code = "revision_not_found"
    explanation = (
        "No revision file in the project has this id. Check the id (a unique prefix is enough), "
        "or whether the project's scripts are the ones the target was migrated with."
    )

    def __init__(self, revision: str, detail: str = "") -> None:
        msg = f"Can't locate revision identified by {revision!r}"
        super().__init__(msg + (f": {detail}" if detail else ""), revision=revision)


class AmbiguousRevision(OpsError):
    code = "ambiguous_revision"
    explanation = (
        "More than one revision id starts with this prefix. Type more characters of the id "
        "(the candidates are listed) so that exactly one revision matches."
    )

    def __init__(self, prefix: str, candidates: tuple[str, ...] | list[str]) -> None:
        found = ", ".join(candidates) if candidates else "several revisions"
        super().__init__(f"Revision prefix {prefix!r} is ambiguous: it matches {found}",
                         revision=prefix, candidates=list(candidates))


class MultipleHeads(OpsError):
    code = "multiple_heads"
    explanation = (
        "The project has more than one head, so 'head' is ambiguous. Upgrade to 'heads', to one "
        "head by id, or add a merge revision (alembic merge) that joins them."
    )

    def __init__(self, heads: tuple[str, ...] | list[str]) -> None:
        heads = tuple(heads)
        super().__init__(
            f"Multiple head revisions are present: {', '.join(heads)}", heads=list(heads)
        )


class PlanError(OpsError):
    code = "plan_error"
    explanation = "The requested revision cannot be reached from where the target is now."

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message, **fields)


class RevisionImportError(OpsError):
    code = "revision_import_error"
    explanation = (
        "A revision file of the plan cannot be imported (a missing package or a syntax error). "
        "Nothing was run; install what it needs on the workers or fix the file."
    )

    def __init__(self, revision: str, path: str, error: str) -> None:
        super().__init__(
            f"Revision {revision} ({path}) cannot be imported: {error}",
            revision=revision,
            path=path,
            error=error,
        )


# --- the target ---------------------------------------------------------------


class TargetUnreachable(OpsError):
    code = "target_unreachable"
    explanation = "The database server did not answer. Check host, port, TLS mode and the network."
    retryable = True

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"Cannot connect to {where}: {reason}", where=where, reason=reason)


class DatabaseNotFound(OpsError):
    code = "database_not_found"
    explanation = (
        "The server answered, but it has no database of this name. Check the target's database "
        "name (and its case), or create the database before migrating it."
    )

    def __init__(self, where: str, dbname: str) -> None:
        super().__init__(f"Database {dbname!r} does not exist at {where}", where=where, dbname=dbname)


class HostNotAllowed(OpsError):
    code = "host_not_allowed"
    explanation = (
        "The server answered but has no pg_hba.conf rule that admits this user to this database from the "
        "portal's host with this TLS mode. Check the target's user, database and TLS mode, or ask the "
        "server's administrator for a rule."
    )

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"Not allowed to connect to {where}: {reason}", where=where, reason=reason)


class TLSFailed(OpsError):
    code = "tls_failed"
    explanation = (
        "The TLS handshake failed: the server does not offer TLS while the target's mode requires it, or its "
        "certificate does not verify against the CA (or the CA file is missing on this host). Check the "
        "target's TLS mode and CA file (MOP_TARGET_SSLROOTCERT for mode 'default'), or the server's certificate."
    )

    def __init__(self, where: str, sslmode: str, reason: str) -> None:
        super().__init__(f"TLS to {where} failed (sslmode {sslmode}): {reason}", where=where, sslmode=sslmode,
                         reason=reason)


class AuthMethodRefused(OpsError):
    code = "auth_method_refused"
    explanation = (
        "The server asked for an authentication method the target does not allow (by default only "
        "SCRAM-SHA-256: a cleartext or md5 request could hand the password to whoever runs the server), "
        "so nothing was sent. Configure the server for scram-sha-256, or - for a trusted legacy server "
        "only - tick 'allow password auth' on the target."
    )

    def __init__(self, where: str, required: str, reason: str) -> None:
        super().__init__(f"Refused to authenticate to {where}: {reason}", where=where, required=required,
                         reason=reason)


class InsecureLibpq(OpsError):
    code = "insecure_libpq"
    explanation = (
        "The libpq bundled with psycopg is older than 16 and cannot refuse cleartext password requests "
        "(require_auth). Upgrade psycopg[binary] on the web and worker hosts."
    )

    def __init__(self, version: int) -> None:
        super().__init__(f"libpq {version} cannot enforce require_auth (16 or newer needed)", version=version)


class ConnectionLost(OpsError):
    code = "connection_lost"
    explanation = (
        "The database server ended the session (shut down, restarted, or an administrator terminated "
        "the backend) while a revision ran. Its transaction rolled back, so the target stays at the last "
        "revision that committed. Nothing is wrong with the revision itself: once the server is back, "
        "check the target's status and run again."
    )
    retryable = True

    def __init__(self, revision: str | None, reason: str) -> None:
        super().__init__(f"Connection lost during revision {revision}: {reason}", revision=revision, reason=reason)


class AuthenticationFailed(OpsError):
    code = "authentication_failed"
    explanation = "The server refused the user or password. Update the target's credentials."

    def __init__(self, where: str, user: str) -> None:
        super().__init__(f"Password authentication failed for user {user!r} at {where}", where=where, user=user)


class TargetBusy(OpsError):
    code = "target_busy"
    explanation = (
        "Another operation holds this target's advisory lock. Only one operation runs on a target "
        "at a time; wait for it to finish or cancel it."
    )
    retryable = True

    def __init__(self, holder_pid: int | None, holder_application: str | None) -> None:
        who = f"backend pid {holder_pid} ({holder_application or 'unknown application'})"
        super().__init__(
            f"Target is busy: another operation holds its lock: {who}",
            holder_pid=holder_pid,
            holder_application=holder_application,
        )


class LockTimeout(OpsError):
    code = "lock_timeout"
    explanation = (
        "The migration waited longer than lock_timeout for a lock another session holds, on every "
        "attempt the run was allowed. Nothing of the failed step was applied; the steps before it stay "
        "committed. End or wait for the blocking session, then run again: the new plan starts where "
        "the target is."
    )
    retryable = True
    # The lock activity snapshot taken while the run waited (migrations_ops.locks.Snapshot), if any;
    # an attribute rather than a field so the run's stored error stays small.
    snapshot: object | None = None

    def __init__(
        self,
        revision: str | None,
        blocker_pid: int | None,
        blocker_application: str | None,
        blocker_query: str | None,
        blocker_state: str | None = None,
        *,
        attempts: int = 1,
    ) -> None:
        if blocker_pid is None:
            # The blocker is sampled while we wait; a wait shorter than the
            # sampling interval leaves nothing to name, which says nothing
            # about whether the blocker is still there.
            who = "blocker not identified (the lock wait ended before it was sampled)"
        else:
            who = (
                f"blocked by pid {blocker_pid} (application {blocker_application or '?'!s}, "
                f"state {blocker_state or '?'}, query: {(blocker_query or '').strip()[:200]!r})"
            )
        where = f" in revision {revision}" if revision else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(
            f"Lock timeout{where}{tries}: {who}",
            revision=revision,
            blocker_pid=blocker_pid,
            blocker_application=blocker_application,
            blocker_query=blocker_query,
            blocker_state=blocker_state,
            attempts=attempts,
        )

    def with_attempts(self, attempts: int) -> LockTimeout:
        """The same timeout (the last attempt's blocker), saying how many attempts were made."""
        f = self.fields
        again = LockTimeout(f["revision"], f["blocker_pid"], f["blocker_application"], f["blocker_query"],
                            f["blocker_state"], attempts=attempts)
        again.snapshot = self.snapshot
        return again


class StatementTimeout(OpsError):
    code = "statement_timeout"
    explanation = "A statement ran longer than statement_timeout and was cancelled; its step rolled back."

    def __init__(self, revision: str | None, detail: str) -> None:
        super().__init__(f"Statement timeout in revision {revision}: {detail}", revision=revision)


class SourceUnreadable(OpsError):
    """A SQLite source the copy or the verification cannot read; one class for both, so callers catch it once."""

    code = "source_unreadable"
    explanation = (
        "The SQLite file does not exist, cannot be opened read-only, is empty, is not a SQLite database (or is "
        "encrypted), or is damaged (truncated, or a page is corrupt). Nothing was copied or changed. Check it "
        "with sqlite3 FILE 'PRAGMA integrity_check'; export it again, or save what is readable with the sqlite3 "
        "shell's .recover into a new file, and use that one."
    )

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"Cannot read SQLite file {path}: {reason}", path=path, reason=reason)


class Cancelled(OpsError):
    code = "cancelled"
    explanation = "The run was cancelled on request; the step in flight rolled back."

    def __init__(self, revision: str | None = None) -> None:
        super().__init__(
            "Cancelled" + (f" during revision {revision}" if revision else ""), revision=revision
        )


class TargetMoved(OpsError):
    code = "target_moved"
    explanation = (
        "The target's revision changed between the plan the DBA confirmed and the run. Nothing was "
        "run; preview the plan again."
    )

    def __init__(self, expected: tuple[str, ...], actual: tuple[str, ...]) -> None:
        super().__init__(
            f"Target moved: planned from {list(expected) or ['base']}, now at {list(actual) or ['base']}",
            expected=list(expected),
            actual=list(actual),
        )


class VersionMismatch(OpsError):
    code = "version_mismatch"
    explanation = "After the run the version table does not show the planned revision(s)."

    def __init__(self, expected: tuple[str, ...], actual: tuple[str, ...]) -> None:
        super().__init__(
            f"Version table check failed: expected {list(expected) or ['base']}, found {list(actual) or ['base']}",
            expected=list(expected),
            actual=list(actual),
        )


class MigrationFailed(OpsError):
    code = "migration_failed"
    explanation = (
        "A statement of the revision failed; its transaction rolled back, so the target stays at the "
        "last revision that completed. Read the database error, fix the revision, run again."
    )

    def __init__(self, revision: str | None, error: str) -> None:
        super().__init__(f"Revision {revision} failed: {error}", revision=revision, error=error)
