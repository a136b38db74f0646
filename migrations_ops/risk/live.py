"""Live figures of the tables a plan touches: size, sessions using them now, write rate.

Read in one short diagnostic connection (``mop:diag``, statement timeout):
``pg_class.reltuples`` and ``pg_total_relation_size`` for size, ``pg_locks``
joined to ``pg_stat_activity`` for the sessions holding any lock on the table
right now, and two readings of ``pg_stat_user_tables`` ``sample_seconds``
apart for the write rate. Statistics reach ``pg_stat_user_tables`` when a
writer's transaction ends (and at most once a second per backend), so the
rate is a floor: a table written by one long open transaction reads 0 writes/s
but shows that session.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from ..locks.connection import diag_connection, fetch_all
from ..target import TargetConn

DEFAULT_SAMPLE_SECONDS = 0.1
STATEMENT_TIMEOUT_MS = 2000


@dataclass(frozen=True, slots=True)
class _StatsRow:
    qualified: str
    name: str
    rows: int
    total_bytes: int
    sessions: int
    written: int


@dataclass(frozen=True, slots=True)
class _WritesRow:
    qualified: str
    written: int


@dataclass(frozen=True, slots=True)
class TableStats:
    """One table as it is now on the target."""

    name: str
    qualified: str
    rows: int
    total_bytes: int
    sessions: int
    writes_per_s: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableStats:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def read_table_stats(
    target: TargetConn, tables: list[str] | tuple[str, ...], *, sample_seconds: float = DEFAULT_SAMPLE_SECONDS
) -> dict[str, TableStats]:
    """Read the live size and traffic of ``tables``; keyed by the name as given. Tables not found are left out.

    :param target: the database the plan will run on.
    :param tables: bare names (resolved on the search_path) or ``schema.name``.
    :param sample_seconds: time between the two ``pg_stat_user_tables`` readings (0: no write rate).
    """
    names = sorted({t for t in tables if t})
    if not names:
        return {}
    with diag_connection(target, STATEMENT_TIMEOUT_MS) as conn:
        first = fetch_all(conn, "risk_table_stats", _StatsRow, {"names": names})
        rates: dict[str, float] = {}
        if sample_seconds > 0 and first:
            started = time.monotonic()
            time.sleep(sample_seconds)
            second = fetch_all(conn, "risk_table_writes", _WritesRow, {"names": [r.qualified for r in first]})
            elapsed = max(time.monotonic() - started, 1e-3)
            before = {r.qualified: r.written for r in first}
            rates = {r.qualified: max(0, r.written - before.get(r.qualified, r.written)) / elapsed for r in second}
    out: dict[str, TableStats] = {}
    for row in first:
        stats = TableStats(row.name, row.qualified, int(row.rows), int(row.total_bytes), int(row.sessions),
                           round(rates.get(row.qualified, 0.0), 1))
        for key in (row.name, row.qualified):
            if key in names:
                out[key] = stats
    return out
