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
from ..verify import FAIL, verify
from .take import sha256_of


@dataclass(frozen=True, slots=True)
class RestoreCheck:
    passed: bool
    problems: tuple[str, ...]
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "problems": list(self.problems), "tables": self.tables,
                "seconds": self.seconds, "notes": list(self.notes)}


def restore_test(path: Path, sha256: str, server: TargetConn, row_counts: dict[str, int],
                 partial: bool = False) -> RestoreCheck:
    """Restore ``path`` into a scratch database of ``server`` and compare with what the backup recorded.

    Steps: 1 the file's sha256 must match the recorded one, 2 pg_restore into a
    scratch database (dropped afterwards), 3 every table counted at backup time
    must be there with the same number of rows, 4 the portal's target-only
    verification (NULLs in NOT NULL columns, orphaned keys, sequences) finds no failure.
    A ``partial`` dump (touched tables) leaves out its foreign keys: their parent
    tables are not in it, so they could not be restored.
    """
    started = time.monotonic()
    if not path.exists():
        return RestoreCheck(False, (f"the backup file {path} is gone",))
    found_sha = sha256_of(path)
    if found_sha != sha256:
        return RestoreCheck(False, (f"the file's sha256 is {found_sha}, the backup recorded {sha256}",))
    problems: list[str] = []
    notes: list[str] = []
    tables: dict[str, int] = {}
    with scratch_database(server, "restore", spare=True) as scratch:
        with connect(scratch, "mop:restore") as conn:
            version = conn.info.server_version
        restore = pg_tool("pg_restore", version)
        args = [restore, "--no-owner", "--no-privileges", "--exit-on-error", "-d", scratch.dbname]
        if partial:
            listing = run_tool([restore, "-l", str(path)], scratch, "mop:restore").stdout.decode()
            kept = [ln for ln in listing.splitlines() if " FK CONSTRAINT " not in ln]
            left_out = len(listing.splitlines()) - len(kept)
            list_file = path.with_suffix(".restore-list")
            list_file.write_text("\n".join(kept) + "\n")
            args += ["-L", str(list_file)]
            if left_out:
                notes.append(f"{left_out} foreign key(s) left out: their parent tables are not in this partial dump")
        try:
            run_tool([*args, str(path)], scratch, "mop:restore")
        finally:
            if partial:
                path.with_suffix(".restore-list").unlink(missing_ok=True)
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
        if row_counts:
            report = verify(scratch, tables=sorted({t.partition(".")[2] for t in row_counts}), run_id="restore")
            problems += [f"verification: {f.table or ''} {f.message}".strip() for f in report.problems()
                         if f.status == FAIL]
            notes += [f"verification: {f.table or ''} {f.message}".strip() for f in report.problems()
                      if f.status != FAIL]
    return RestoreCheck(not problems, tuple(problems), tables, round(time.monotonic() - started, 3), tuple(notes))
