"""From cumulative counters to what a DBA reads: rates between readings, statement deltas, window comparisons.

PostgreSQL's statistics are counters since the last reset; a rate needs two
readings. A counter that went down (a stats reset, a restart) gives no rate
for that interval rather than a negative one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ..locks.models import _Json
from .models import HealthReading, Statement


@dataclass(frozen=True, slots=True)
class Point(_Json):
    """The figures of one reading that are charted and compared (what the portal keeps in columns)."""

    taken_at: dt.datetime
    connections: int
    active: int
    blocked: int
    longest_xact_seconds: float | None
    size_bytes: int
    xact_commit: int
    xact_rollback: int
    deadlocks: int
    conflicts: int
    temp_bytes: int


@dataclass(frozen=True, slots=True)
class Rates(_Json):
    """What happened between two readings: per second, or counted in the interval."""

    seconds: float
    tps: float | None
    rollback_rate: float | None
    deadlocks: int | None
    conflicts: int | None
    temp_bytes: int | None


@dataclass(frozen=True, slots=True)
class StatementDelta(_Json):
    """A statement's calls and time within a window (the difference of two cumulative readings)."""

    queryid: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float | None


def point_of(reading: HealthReading) -> Point:
    """The charted figures of ``reading``."""
    s, d = reading.summary, reading.database
    return Point(taken_at=reading.taken_at, connections=s.connections, active=s.active, blocked=s.blocked,
                 longest_xact_seconds=s.longest_xact_seconds, size_bytes=d.size_bytes, xact_commit=d.xact_commit,
                 xact_rollback=d.xact_rollback, deadlocks=d.deadlocks, conflicts=d.conflicts,
                 temp_bytes=d.temp_bytes)


def rates(prev: Point, cur: Point) -> Rates:
    """Rates between two readings; None where a counter went down (stats reset) or no time passed.

    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> a = Point(t0, 1, 0, 0, None, 100, 1000, 10, 0, 0, 0)
    >>> b = Point(t0 + dt.timedelta(seconds=10), 1, 0, 0, None, 100, 1090, 20, 1, 0, 4096)
    >>> r = rates(a, b)
    >>> (r.tps, r.rollback_rate, r.deadlocks, r.temp_bytes)
    (10.0, 0.1, 1, 4096)
    >>> rates(b, a).tps is None
    True
    """
    seconds = (cur.taken_at - prev.taken_at).total_seconds()
    commits, rollbacks = cur.xact_commit - prev.xact_commit, cur.xact_rollback - prev.xact_rollback
    reset = seconds <= 0 or commits < 0 or rollbacks < 0
    done = commits + rollbacks

    def diff(name: str) -> int | None:
        n = getattr(cur, name) - getattr(prev, name)
        return None if reset or n < 0 else n

    return Rates(
        seconds=seconds,
        tps=None if reset else round(done / seconds, 3),
        rollback_rate=None if reset or done == 0 else round(rollbacks / done, 4),
        deadlocks=diff("deadlocks"), conflicts=diff("conflicts"), temp_bytes=diff("temp_bytes"),
    )


def statement_deltas(first: Sequence[Statement], last: Sequence[Statement]) -> list[StatementDelta]:
    """Each statement's calls and time between two readings, by total time; new ones count from zero.

    A statement in ``last`` only (it entered the top list, or was first run) is
    counted from zero, which is what a window that starts before it ran means.
    """
    before = {s.queryid: s for s in first}
    out = []
    for s in last:
        b = before.get(s.queryid)
        calls = s.calls - (b.calls if b else 0)
        total = s.total_ms - (b.total_ms if b else 0.0)
        if calls <= 0 or total < 0:
            continue
        out.append(StatementDelta(queryid=s.queryid, query=s.query, calls=calls, total_ms=round(total, 3),
                                  mean_ms=round(total / calls, 4)))
    return sorted(out, key=lambda d: -d.total_ms)


@dataclass(frozen=True, slots=True)
class WindowFigures(_Json):
    """A window's health in a few numbers, for "before" and "after" a run."""

    start: dt.datetime | None
    end: dt.datetime | None
    readings: int
    tps: float | None
    rollback_rate: float | None
    size_bytes_start: int | None
    size_bytes_end: int | None
    max_blocked: int | None
    max_connections: int | None
    statements: tuple[StatementDelta, ...]


def window_figures(points: Sequence[Point], first: Sequence[Statement] = (), last: Sequence[Statement] = ()
                   ) -> WindowFigures:
    """Summarise the readings of one window (oldest first): rates over the whole window, extremes, statements.

    With fewer than two readings no rate can be given: the figures say so with None.
    """
    if not points:
        return WindowFigures(None, None, 0, None, None, None, None, None, None, ())
    whole = rates(points[0], points[-1]) if len(points) > 1 else None
    return WindowFigures(
        start=points[0].taken_at, end=points[-1].taken_at, readings=len(points),
        tps=whole.tps if whole else None, rollback_rate=whole.rollback_rate if whole else None,
        size_bytes_start=points[0].size_bytes, size_bytes_end=points[-1].size_bytes,
        max_blocked=max(p.blocked for p in points), max_connections=max(p.connections for p in points),
        statements=tuple(statement_deltas(first, last)) if len(points) > 1 else (),
    )
