"""Clone a target's schema (and its version rows) into a scratch database.

``pg_dump --schema-only --no-owner --no-privileges`` of the target, loaded
into the scratch database in one transaction: the clone is owned by the
rehearsal server's role and carries no grants, so the plan runs there exactly
as the role can run it.

The dump is started first and read last (``SchemaDump``): while pg_dump
works, the caller claims the scratch database, connects and reads the
target's version rows. The text is loaded through psycopg, not psql: one
connection fewer, one commit instead of one per statement, and no psql
meta-command is ever interpreted (pg_dump's own ``\\restrict`` fence lines
are the only ones removed; any other backslash line is plain SQL to the
server, which refuses it).
"""

from __future__ import annotations

import re
import subprocess
import time

import psycopg
from psycopg import sql

from ..schema.state import read_heads, version_table_name
from ..scratch import pg_tool, tool_env
from ..scratch.errors import ToolFailed
from ..target import TargetConn, connect

_FENCE_RE = re.compile(r"^\\(?:un)?restrict [A-Za-z0-9]+$", re.MULTILINE)


def server_version(conn: TargetConn) -> int:
    with connect(conn, "mop:version") as c:
        return int(c.info.server_version)


class SchemaDump:
    """A ``pg_dump --schema-only`` of ``target`` running in the background; ``text()`` waits for it."""

    def __init__(self, target: TargetConn, version_num: int) -> None:
        self.target = target
        # No tablespaces (the rehearsal server need not have the target's), no subscriptions (creating one
        # needs a superuser and names another server), no security labels (their providers are per server).
        args = [pg_tool("pg_dump", version_num), "--schema-only", "--no-owner", "--no-privileges",
                "--no-tablespaces", "--no-subscriptions", "--no-security-labels"]
        self.proc = subprocess.Popen(args, env=tool_env(target, "mop:rehearse:dump"), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.done = False

    def text(self) -> str:
        """The dump without pg_dump's ``\\restrict`` fence lines; ``ToolFailed`` (password redacted) if it failed."""
        out, err = self.proc.communicate()
        self.done = True
        if self.proc.returncode != 0:
            raise ToolFailed("pg_dump", self.proc.returncode, _redact(err.decode(errors="replace"), self.target.password))
        return _FENCE_RE.sub("", out.decode())

    def abandon(self) -> None:
        """Stop and reap pg_dump when its output is no longer wanted (a no-op once ``text()`` ran)."""
        if self.done:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()
        self.done = True


def load_schema(conn: psycopg.Connection, dump: str, heads: tuple[str, ...], *, version_table: str,
                version_table_schema: str | None, password: str = "") -> None:
    """Load a schema dump and the version rows into the database of ``conn`` (autocommit), all or nothing.

    The dump goes as one simple-protocol query, which PostgreSQL runs as one
    implicit transaction that stops at the first error (psql's ON_ERROR_STOP).
    The dump's ``SET``s are session settings; ``RESET ALL`` puts them back.
    """
    try:
        conn.execute(dump.encode())  # bytes: sent as is, simple query protocol, several statements allowed
        conn.execute("RESET ALL")
        name = version_table_name(version_table, version_table_schema)
        for head in heads:
            conn.execute(sql.SQL("INSERT INTO {} (version_num) VALUES (%s)").format(name), (head,))
    except psycopg.Error as exc:
        raise ToolFailed("load of the schema dump", 3, _redact(str(exc).strip(), password)) from None


def clone_schema(target: TargetConn, scratch: TargetConn, *, version_table: str = "alembic_version",
                 version_table_schema: str | None = None) -> float:
    """Copy the schema of ``target`` into ``scratch``, then its version rows; returns the seconds it took.

    Steps: 1 start pg_dump for the target's version, 2 read the version rows
    meanwhile, 3 load the dump and the rows into the scratch database.
    """
    started = time.monotonic()
    with connect(target, "mop:rehearse:heads") as src:
        dump = SchemaDump(target, int(src.info.server_version))
        try:
            heads = read_heads(src, version_table, version_table_schema) or ()
        except BaseException:
            dump.abandon()
            raise
    text = dump.text()
    with connect(scratch, "mop:rehearse:load") as dst:
        load_schema(dst, text, heads, version_table=version_table, version_table_schema=version_table_schema,
                    password=scratch.password)
    return round(time.monotonic() - started, 3)


def _redact(text: str, password: str) -> str:
    return text.replace(password, "***") if password else text
