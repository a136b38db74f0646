"""Schema drift: the live schema against the one the target's revision should have.

The expected schema is made by replaying the project's revisions on an empty
scratch database up to the target's heads; callers cache it by project
fingerprint and heads, or use a baseline a DBA accepted where the history
cannot be replayed from empty.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import OpsError
from ..schema.project import ResolvedProject
from ..schema.runner import run_plan
from ..schema_snapshot import SchemaDiff, SchemaSnapshot, diff, take_snapshot, take_snapshot_of
from ..scratch import scratch_database
from ..target import TargetConn, connect


class ReplayFailed(OpsError):
    code = "replay_failed"
    explanation = (
        "The project's revisions cannot build its schema from an empty database (a history that began "
        "with create_all() and a stamp, or a revision that needs existing data). Accept the target's "
        "current schema as a baseline so that drift is measured against it."
    )

    def __init__(self, heads: Sequence[str], error: str) -> None:
        super().__init__(f"Replaying the revisions up to {', '.join(heads) or 'base'} on an empty database "
                         f"failed: {error}", heads=list(heads), error=error)


def expected_schema(server: TargetConn, project: ResolvedProject, heads: Sequence[str]) -> SchemaSnapshot:
    """Replay the revisions up to ``heads`` on a scratch database of ``server`` and snapshot it.

    :raises ReplayFailed: when a revision fails on the empty database.
    """
    vt = project.source.version_table
    with scratch_database(server, "expected", spare=True) as scratch:
        try:
            for head in sorted(heads):
                run_plan(scratch, project, "upgrade", head, run_id="drift-replay", lock_retries=0)
        except OpsError as exc:
            raise ReplayFailed(heads, str(exc)) from None
        return take_snapshot_of(scratch, vt, "mop:drift:expected")


@dataclass(frozen=True, slots=True)
class SchemaDrift:
    """``diff`` lists objects as the live schema differs from the expected one (added = only live)."""

    live: SchemaSnapshot
    diff: SchemaDiff
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"changes": self.diff.to_json(), "seconds": self.seconds, "counts": self.diff.counts()}


def schema_drift(target: TargetConn, expected: SchemaSnapshot, version_table: str = "alembic_version") -> SchemaDrift:
    """Snapshot ``target`` (read-only session) and list how it differs from ``expected``."""
    started = time.monotonic()
    with connect(target, "mop:drift") as conn:
        conn.execute("SET default_transaction_read_only = on")
        live = take_snapshot(conn, version_table)
    return SchemaDrift(live, diff(expected, live), round(time.monotonic() - started, 4))
