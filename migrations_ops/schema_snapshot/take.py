"""Read a schema snapshot from the catalogs (``queries/schema_snapshot.sql``)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from .. import queries
from ..target import TargetConn, connect


@dataclass(frozen=True, slots=True)
class SchemaSnapshot:
    """Every schema object as ``"kind name" -> attributes``; JSON round-trips through ``to_json``."""

    objects: dict[str, dict[str, Any]]
    seconds: float = field(default=0.0, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"objects": self.objects, "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchemaSnapshot:
        return cls(objects=dict(data.get("objects") or {}), seconds=float(data.get("seconds") or 0))

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON: equal snapshots have equal digests."""
        return hashlib.sha256(json.dumps(self.objects, sort_keys=True).encode()).hexdigest()

    def count(self, kind: str) -> int:
        return sum(1 for key in self.objects if split_key(key)[0] == kind)


def split_key(key: str) -> tuple[str, str]:
    """``"index public.ix"`` -> ``("index", "public.ix")``; kinds may hold a space.

    >>> split_key("materialized view public.mv")
    ('materialized view', 'public.mv')
    """
    if key.startswith("materialized view "):
        return "materialized view", key.removeprefix("materialized view ")
    kind, _, name = key.partition(" ")
    return kind, name


def _ignored(kind: str, name: str, version_table: str | None) -> bool:
    """Alembic's own version table is bookkeeping, not schema: its rows differ by design."""
    if not version_table:
        return False
    parts = name.split(".")
    if kind == "table":
        return parts[-1] == version_table
    if kind in ("column", "constraint", "trigger"):
        return len(parts) >= 3 and parts[-2] == version_table
    if kind == "index":
        return parts[-1].startswith(f"{version_table}_")
    return False


def take_snapshot(conn: psycopg.Connection, version_table: str | None = "alembic_version") -> SchemaSnapshot:
    """Snapshot the schema of the database ``conn`` is connected to.

    :param conn: an open connection; only catalogs are read.
    :param version_table: Alembic's version table, left out of the snapshot (None keeps it).
    """
    started = time.monotonic()
    # Prepared from the first call: a rehearsal snapshots after every step on one connection, and planning
    # this union of catalog queries costs about as much as running it on a small schema.
    rows = conn.execute(queries.get("schema_snapshot"), prepare=True).fetchall()
    objects = {f"{kind} {name}": attrs for kind, name, attrs in rows if not _ignored(kind, name, version_table)}
    return SchemaSnapshot(objects, round(time.monotonic() - started, 6))


def take_snapshot_of(target: TargetConn, version_table: str | None = "alembic_version",
                     application_name: str = "mop:snapshot") -> SchemaSnapshot:
    """Connect to ``target`` and snapshot its schema (read-only session)."""
    with connect(target, application_name) as conn:
        conn.execute("SET default_transaction_read_only = on")
        return take_snapshot(conn, version_table)
