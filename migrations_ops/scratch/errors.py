"""Errors of scratch databases and the PostgreSQL client tools."""

from __future__ import annotations

from ..errors import OpsError


class ScratchFailed(OpsError):
    code = "scratch_failed"
    explanation = (
        "The rehearsal server refused to create or drop a scratch database. Its role needs CREATEDB; "
        "check the rehearsal server configured for the target."
    )

    def __init__(self, server: str, error: str) -> None:
        super().__init__(f"Scratch database on {server}: {error}", server=server, error=error)


class ToolMissing(OpsError):
    code = "pg_tool_missing"
    explanation = (
        "pg_dump / pg_restore / psql of the server's major version (or newer) are needed on the worker. "
        "On Debian: apt-get install postgresql-client-<major> (scripts/lib.sh installs the server's)."
    )

    def __init__(self, tool: str, major: int, looked: str) -> None:
        super().__init__(f"No {tool} for PostgreSQL {major} or newer (looked in {looked})",
                         tool=tool, major=major)


class ToolFailed(OpsError):
    code = "pg_tool_failed"
    explanation = "A PostgreSQL client tool exited with an error; its message says why."

    def __init__(self, tool: str, returncode: int, stderr: str) -> None:
        tail = stderr.strip().splitlines()[-5:]
        super().__init__(f"{tool} failed (exit {returncode}): {' / '.join(tail) or 'no message'}",
                         tool=tool, returncode=returncode, stderr=stderr[-4000:])
