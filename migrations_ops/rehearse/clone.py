"""Clone a target's schema (and its version rows) into a scratch database.

``pg_dump --schema-only --no-owner --no-privileges`` piped into ``psql`` with
``ON_ERROR_STOP``: the clone is owned by the rehearsal server's role and
carries no grants, so the plan runs there exactly as the role can run it.
"""

from __future__ import annotations

import subprocess
import time

from psycopg import sql

from ..schema.state import read_heads, version_table_name
from ..scratch import pg_tool, tool_env
from ..scratch.errors import ToolFailed
from ..target import TargetConn, connect


def server_version(conn: TargetConn) -> int:
    with connect(conn, "mop:version") as c:
        return int(c.info.server_version)


def clone_schema(target: TargetConn, scratch: TargetConn, *, version_table: str = "alembic_version",
                 version_table_schema: str | None = None) -> float:
    """Copy the schema of ``target`` into ``scratch``, then its version rows; returns the seconds it took.

    Steps: 1 pick pg_dump for the target's version and psql for the scratch
    server's, 2 stream the dump into psql (no file on disk), 3 copy the rows of
    the version table so the plan starts where the target stands.
    """
    started = time.monotonic()
    dump = [pg_tool("pg_dump", server_version(target)), "--schema-only", "--no-owner", "--no-privileges"]
    psql = [pg_tool("psql", server_version(scratch)), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    dumper = subprocess.Popen(dump, env=tool_env(target, "mop:rehearse:dump"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    loader = subprocess.run(psql, env=tool_env(scratch, "mop:rehearse:load"), stdin=dumper.stdout,
                            capture_output=True, check=False)
    dumper.stdout.close()  # type: ignore[union-attr]
    dump_err = dumper.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
    if dumper.wait() != 0:
        raise ToolFailed("pg_dump", dumper.returncode, _redact(dump_err, target.password))
    if loader.returncode != 0:
        raise ToolFailed("psql", loader.returncode, _redact(loader.stderr.decode(errors="replace"), scratch.password))
    with connect(target, "mop:rehearse:heads") as src:
        heads = read_heads(src, version_table, version_table_schema)
    if heads:
        with connect(scratch, "mop:rehearse:heads") as dst:
            name = version_table_name(version_table, version_table_schema)
            for head in heads:
                dst.execute(sql.SQL("INSERT INTO {} (version_num) VALUES (%s)").format(name), (head,))
    return round(time.monotonic() - started, 3)


def _redact(text: str, password: str) -> str:
    return text.replace(password, "***") if password else text
