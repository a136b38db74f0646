"""Restore test: put a backup into a scratch database and verify it (sha256, row counts, tables present)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql

from .. import queries
from ..scratch import pg_tool, run_tool, scratch_database
from ..target import TargetConn, connect
from .take import sha256_of


@dataclass(frozen=True, slots=True)
class RestoreCheck:
    passed: bool
    problems: tuple[str, ...]
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "problems": list(self.problems), "tables": self.tables,
                "seconds": self.seconds}


def restore_test(path: Path, sha256: str, server: TargetConn, row_counts: dict[str, int]) -> RestoreCheck:
    """Restore ``path`` into a scratch database of ``server`` and compare with what the backup recorded.

    Steps: 1 the file's sha256 must match the recorded one, 2 pg_restore into a
    scratch database (dropped afterwards), 3 every table counted at backup time
    must be there with the same number of rows.
    """
    started = time.monotonic()
    if not path.exists():
        return RestoreCheck(False, (f"the backup file {path} is gone",))
    found_sha = sha256_of(path)
    if found_sha != sha256:
        return RestoreCheck(False, (f"the file's sha256 is {found_sha}, the backup recorded {sha256}",))
    problems: list[str] = []
    tables: dict[str, int] = {}
    with scratch_database(server, "restore") as scratch:
        with connect(scratch, "mop:restore") as conn:
            version = conn.info.server_version
        run_tool([pg_tool("pg_restore", version), "--no-owner", "--no-privileges", "--exit-on-error",
                  "-d", scratch.dbname, str(path)], scratch, "mop:restore")
        with connect(scratch, "mop:restore:verify") as conn:
            present = {f"{s}.{t}" for s, t in conn.execute(queries.get("sample_tables")).fetchall()}
            for table, expected in sorted(row_counts.items()):
                if table not in present:
                    problems.append(f"table {table} is missing from the restore")
                    continue
                schema, _, name = table.partition(".")
                got = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                    sql.Identifier(schema, name))).fetchone()[0]  # type: ignore[index]
                tables[table] = got
                if got != expected:
                    problems.append(f"table {table} has {got} rows, the backup counted {expected}")
    return RestoreCheck(not problems, tuple(problems), tables, round(time.monotonic() - started, 3))
