"""Every session of a target and its locks by relation: the pg_activity-like view of the Locks page.

The blocking tree (``blocking``) answers "who blocks whom"; this answers
"what is everybody doing, and what is locked": one read of pg_stat_activity
and one of pg_locks, on a diagnostic connection with a statement timeout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..target import TargetConn
from .activity import sessions_on
from .connection import DEFAULT_STATEMENT_TIMEOUT_MS, diag_connection, fetch_all
from .models import Session


@dataclass(frozen=True, slots=True)
class LockGroup:
    """Locks of one mode on one relation (or lock type), granted or waiting, with their pids."""

    relation: str
    schema: str | None
    locktype: str
    mode: str
    granted: bool
    locks: int
    pids: list[int]


@dataclass(frozen=True, slots=True)
class RelationLocks:
    """All lock groups of one relation, waiting first; ``waiting`` says whether anybody waits on it."""

    relation: str
    schema: str | None
    groups: tuple[LockGroup, ...]

    @property
    def waiting(self) -> bool:
        return any(not g.granted for g in self.groups)


@dataclass(frozen=True, slots=True)
class Overview:
    """Every session (pg_stat_activity of the database) and the locks grouped by relation."""

    taken_at: dt.datetime
    sessions: tuple[Session, ...]
    relations: tuple[RelationLocks, ...]

    @property
    def waiting_pids(self) -> frozenset[int]:
        return frozenset(p for r in self.relations for g in r.groups if not g.granted for p in g.pids)


def group_by_relation(groups: list[LockGroup]) -> tuple[RelationLocks, ...]:
    """Fold mode groups into one entry per relation, relations somebody waits on first.

    >>> g = [LockGroup("t", "public", "relation", "AccessShareLock", True, 2, [1, 2]),
    ...      LockGroup("u", "public", "relation", "RowExclusiveLock", True, 1, [3]),
    ...      LockGroup("u", "public", "relation", "AccessExclusiveLock", False, 1, [4])]
    >>> [(r.relation, r.waiting, len(r.groups)) for r in group_by_relation(g)]
    [('u', True, 2), ('t', False, 1)]
    """
    by: dict[tuple[str, str | None], list[LockGroup]] = {}
    for g in groups:
        by.setdefault((g.relation, g.schema), []).append(g)
    out = [RelationLocks(rel, schema, tuple(sorted(gs, key=lambda g: (g.granted, g.mode))))
           for (rel, schema), gs in by.items()]
    return tuple(sorted(out, key=lambda r: (not r.waiting, r.relation)))


def read_overview(target: TargetConn, *, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS) -> Overview:
    """Read every session of ``target``'s database and its locks by relation (read only).

    :param target: the database to look at.
    :param statement_timeout_ms: limit of each diagnostic query.
    """
    with diag_connection(target, statement_timeout_ms) as conn, conn.transaction():
        taken_at = dt.datetime.now(dt.UTC)
        sessions = sessions_on(conn)
        groups = fetch_all(conn, "locks_by_relation", LockGroup)
    return Overview(taken_at=taken_at, sessions=sessions, relations=group_by_relation(groups))
