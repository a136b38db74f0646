"""Take a ``pg_dump -Fc`` of a scope of the target, with exact row counts from the same snapshot.

Steps of ``take_backup``:

1. check the directory is writable (a failure here fails the run before any step);
2. open a ``REPEATABLE READ`` transaction on the target, export its snapshot,
   count the rows of the tables in scope under it;
3. run pg_dump with ``--snapshot`` (so the dump holds exactly the rows counted)
   into ``<name>.partial``, rename it when complete;
4. sha256 and size of the file, and the ``pg_restore`` command to put it back.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql

from .. import queries
from ..scratch import pg_tool, run_tool
from ..scratch.errors import ToolFailed, ToolMissing
from ..target import TargetConn, connect
from .errors import BackupFailed

SCOPES = ("none", "schema", "touched", "full")


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: str
    scope: str
    tables: tuple[str, ...]
    size: int
    seconds: float
    sha256: str
    restore_command: str
    row_counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "scope": self.scope, "tables": list(self.tables), "size": self.size,
                "seconds": self.seconds, "sha256": self.sha256, "restore_command": self.restore_command,
                "row_counts": self.row_counts}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def take_backup(target: TargetConn, scope: str, directory: Path, name: str,
                tables: list[str] | tuple[str, ...] = ()) -> BackupResult:
    """Dump ``scope`` of ``target`` into ``directory/name.dump``.

    :param scope: ``schema``, ``touched`` (only ``tables``, those that exist) or ``full``.
    :param tables: schema-qualified tables for the ``touched`` scope (``touched_tables()``).
    """
    if scope not in SCOPES[1:]:
        raise BackupFailed(f"unknown backup scope {scope!r}")
    started = time.monotonic()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupFailed(f"cannot create the backup directory {directory}: {exc.strerror}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BackupFailed(f"the backup directory {directory} is not writable by the worker")
    final, partial = directory / f"{name}.dump", directory / f"{name}.dump.partial"
    try:
        with connect(target, "mop:backup", autocommit=False) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
            existing = [f"{s}.{t}" for s, t in conn.execute(queries.get("sample_tables")).fetchall()]
            chosen = sorted(set(tables) & set(existing)) if scope == "touched" else existing
            if scope == "touched" and not chosen:
                raise BackupFailed("the plan touches no table that exists yet; nothing to back up "
                                   "(choose the schema scope to keep the structure)")
            counts = {} if scope == "schema" else {t: _count(conn, t) for t in chosen}
            args = [pg_tool("pg_dump", conn.info.server_version), "-Fc", "--no-owner", "--no-privileges",
                    f"--snapshot={snapshot}", "-f", str(partial)]
            if scope == "schema":
                args.append("--schema-only")
            for t in chosen if scope == "touched" else ():
                schema, _, table = t.partition(".")
                args += ["-t", f"{_pattern(schema)}.{_pattern(table)}"]
            run_tool(args, target, "mop:backup:dump")
            conn.rollback()
        os.replace(partial, final)
    except (ToolFailed, ToolMissing) as exc:
        partial.unlink(missing_ok=True)
        raise BackupFailed(str(exc)) from None
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"writing {final} failed: {exc.strerror or exc}") from None
    restore = (f"pg_restore --no-owner --no-privileges --clean --if-exists -d {shlex.quote(target.dbname)} "
               f"-h {shlex.quote(target.host)} -p {target.port} -U {shlex.quote(target.user)} {shlex.quote(str(final))}")
    return BackupResult(str(final), scope, tuple(chosen if scope != "full" else ()), final.stat().st_size,
                        round(time.monotonic() - started, 3), sha256_of(final), restore, counts)


def _pattern(name: str) -> str:
    """Quote an identifier for pg_dump's ``-t`` pattern (a double-quoted name matches itself)."""
    return '"' + name.replace('"', '""') + '"'


def _count(conn, table: str) -> int:
    schema, _, name = table.partition(".")
    return conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))).fetchone()[0]
