"""Typed rows of a health reading, with the JSON round trip of the lock diagnostics.

Field names are the query files' column names (``kwargs_row``). Counters are
cumulative as PostgreSQL keeps them; ``deltas.py`` turns two readings into
rates, so a stored reading never depends on the one before it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..locks.models import ActivitySummary, _Json


@dataclass(frozen=True, slots=True)
class DatabaseStats(_Json):
    """``pg_stat_database`` of the current database, and its size."""

    datname: str
    size_bytes: int
    xact_commit: int
    xact_rollback: int
    deadlocks: int
    conflicts: int
    temp_files: int
    temp_bytes: int
    stats_reset: dt.datetime | None


@dataclass(frozen=True, slots=True)
class TableSize(_Json):
    """One of the largest tables: size, rows, scans (cumulative) and last analyze."""

    schema: str
    table: str
    total_bytes: int
    pages: int
    live_rows: int
    dead_rows: int
    seq_scan: int
    seq_tup_read: int
    idx_scan: int
    last_analyzed: dt.datetime | None


@dataclass(frozen=True, slots=True)
class TableMaintenance(_Json):
    """A table never analyzed, or with a large share of dead rows."""

    schema: str
    table: str
    live_rows: int
    dead_rows: int
    dead_share: float | None
    modified_since_analyze: int
    last_analyzed: dt.datetime | None
    never_analyzed: bool


@dataclass(frozen=True, slots=True)
class IndexUse(_Json):
    """An index with its scans since the stats reset; ``unused`` when never scanned and backing no constraint."""

    schema: str
    table: str
    index: str
    scans: int
    backs_constraint: bool
    unused: bool
    size_bytes: int
    index_count: int


@dataclass(frozen=True, slots=True)
class DuplicateIndexes(_Json):
    """Indexes of one table over the same columns, operator classes, expressions and predicate."""

    schema: str
    table: str
    indexes: list[str]
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Statement(_Json):
    """A statement of ``pg_stat_statements`` (cumulative), its text normalized by the extension."""

    queryid: int
    calls: int
    total_ms: float
    mean_ms: float | None
    rows: int
    query: str


@dataclass(frozen=True, slots=True)
class HealthReading(_Json):
    """Everything one health snapshot read from a target, at one moment.

    ``statements_note`` says in plain words why no statements were read
    (pg_stat_statements missing or not loaded) and how to enable it.
    """

    taken_at: dt.datetime
    target: str
    server_version: int
    summary: ActivitySummary
    database: DatabaseStats
    largest_tables: tuple[TableSize, ...]
    maintenance: tuple[TableMaintenance, ...]
    indexes: tuple[IndexUse, ...]
    duplicate_indexes: tuple[DuplicateIndexes, ...]
    statements: tuple[Statement, ...]
    statements_note: str
    seconds: float

    @property
    def index_count(self) -> int:
        return self.indexes[0].index_count if self.indexes else 0

    @property
    def unused_indexes(self) -> tuple[IndexUse, ...]:
        return tuple(i for i in self.indexes if i.unused)
