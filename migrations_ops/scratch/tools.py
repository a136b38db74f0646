"""pg_dump, pg_restore and psql of the right major version, run without a password on the command line.

Debian keeps one set per major version in ``/usr/lib/postgresql/<major>/bin``;
a dump must be taken by a pg_dump at least as new as the server, so the tool
is picked from the server's ``server_version_num``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..target import TargetConn
from .errors import ToolFailed, ToolMissing

PG_LIB = Path(os.environ.get("MOP_PG_LIB_DIR", "/usr/lib/postgresql"))


def pg_tool(tool: str, server_version_num: int) -> str:
    """The path of ``tool`` for a server of that version: its major's, else the newest newer one.

    :param tool: ``pg_dump``, ``pg_restore`` or ``psql``.
    :param server_version_num: e.g. 150020.
    """
    major = server_version_num // 10000
    candidates = sorted(int(p.name) for p in PG_LIB.glob("*") if p.name.isdigit() and int(p.name) >= major)
    for version in candidates:
        path = PG_LIB / str(version) / "bin" / tool
        if path.exists():
            return str(path)
    found = shutil.which(tool)
    if found and _version_of(found) >= major:
        return found
    raise ToolMissing(tool, major, f"{PG_LIB}/*/bin and PATH")


def _version_of(path: str) -> int:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
        return int(out.strip().split()[-1].split(".")[0])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return 0


def tool_env(conn: TargetConn, application_name: str) -> dict[str, str]:
    """libpq environment for a tool: the password travels in PGPASSWORD, never in argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({
        "PGHOST": conn.host, "PGPORT": str(conn.port), "PGDATABASE": conn.dbname, "PGUSER": conn.user,
        "PGSSLMODE": conn.sslmode, "PGAPPNAME": application_name[:63], "PGCONNECT_TIMEOUT": "10",
    })
    if conn.password:
        env["PGPASSWORD"] = conn.password
    if conn.sslrootcert:
        env["PGSSLROOTCERT"] = conn.sslrootcert
    if conn.require_auth:
        env["PGREQUIREAUTH"] = conn.require_auth if conn.password else f"{conn.require_auth},none"
    return env


def run_tool(args: list[str], conn: TargetConn, application_name: str, *, stdin=None, stdout=None,
             timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run a client tool against ``conn``; ``ToolFailed`` (password redacted) when it exits non-zero."""
    proc = subprocess.run(args, env=tool_env(conn, application_name), stdin=stdin,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        if conn.password:
            err = err.replace(conn.password, "***")
        raise ToolFailed(Path(args[0]).name, proc.returncode, err)
    return proc
