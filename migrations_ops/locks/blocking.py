"""Who blocks whom: the blocking tree of a target, and the blockers of one application.

The rows come from ``blocking_sessions.sql`` (``pg_blocking_pids()`` only for
sessions waiting on a lock); turning them into a tree is pure Python
(``build_tree``) so it can be tested on hand-made rows as well.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable

import psycopg

from ..target import TargetConn
from .connection import DEFAULT_STATEMENT_TIMEOUT_MS, diag_connection, fetch_all
from .models import BlockingNode, BlockingRow, BlockingTree


def blocking_tree(target: TargetConn, *, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS) -> BlockingTree:
    """Read who blocks whom in ``target``'s database, root blockers first.

    :param target: the database to look at (sessions of other databases appear only as blockers).
    :param statement_timeout_ms: limit of the diagnostic query.
    """
    with diag_connection(target, statement_timeout_ms) as conn:
        return build_tree(read_blocking_rows(conn))


def blockers_of_application(
    target: TargetConn, application_name: str, *, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
) -> BlockingTree:
    """Find what blocks the backends named ``application_name`` (a run's ``mop:run:<id>``).

    The tree holds only those backends' blockers, direct and indirect, down to
    the backends themselves; it is empty when none of them waits on a lock.

    :param target: the run's target database.
    :param application_name: matched exactly against ``pg_stat_activity.application_name``.
    """
    if not application_name:
        raise ValueError("application_name is empty")
    with diag_connection(target, statement_timeout_ms) as conn:
        rows = read_blocking_rows(conn)
    waiters = {r.pid for r in rows if r.application_name == application_name and r.blocked_by}
    return build_tree(rows, keep=waiters | ancestors(rows, waiters))


def read_blocking_rows(conn: psycopg.Connection) -> list[BlockingRow]:
    """The rows of ``blocking_sessions.sql`` on an open diagnostic connection."""
    return fetch_all(conn, "blocking_sessions", BlockingRow)


def ancestors(rows: Iterable[BlockingRow], pids: set[int]) -> set[int]:
    """Every session that blocks one of ``pids``, directly or through others."""
    blockers = {r.pid: set(r.blocked_by) for r in rows}
    seen: set[int] = set()
    todo = deque(pids)
    while todo:
        for b in blockers.get(todo.popleft(), ()):
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return seen - pids


def build_tree(rows: Iterable[BlockingRow], keep: set[int] | None = None) -> BlockingTree:
    """Turn wait-graph rows into a forest, root blockers first.

    1. Index the rows; a blocker without a row (a prepared transaction, pid 0,
       or a session that just ended) gets a placeholder row.
    2. Reverse the edges: ``blocks[p]`` are the sessions ``p`` blocks directly.
    3. Count, per session, the sessions reachable through ``blocks`` (transitive);
       a session that reaches itself is in a deadlock cycle.
    4. Roots are sessions nobody blocks, most sessions blocked first. Sessions
       left unplaced are all behind a cycle: the cycle member blocking the most
       becomes a root, until every session is placed.
    5. Place each session once, under the first blocker that reaches it (BFS).

    :param keep: if given, only these sessions are placed (counts stay those of the whole graph).
    """
    by_pid = {r.pid: r for r in rows}
    for r in list(by_pid.values()):
        for b in r.blocked_by:
            if b not in by_pid:
                by_pid[b] = _placeholder(b)
    blockers = {p: tuple(dict.fromkeys(b for b in r.blocked_by if b != p)) for p, r in by_pid.items()}
    blocks: dict[int, list[int]] = {p: [] for p in by_pid}
    for p, bs in blockers.items():
        for b in bs:
            blocks[b].append(p)
    reach = {p: reachable(p, blocks) for p in by_pid}
    weight = {p: len(reach[p] - {p}) for p in by_pid}

    def order(p: int) -> tuple[float, float, int]:
        return (-weight[p], -(by_pid[p].xact_seconds or 0.0), p)

    wanted = set(by_pid) if keep is None else set(keep) & set(by_pid)
    parent: dict[int, int | None] = {}
    candidates = sorted((p for p in wanted if not blockers[p]), key=order)
    while True:
        for root in candidates:
            if root not in parent:
                _place(root, blocks, wanted, parent)
        left = sorted(wanted - set(parent), key=order)
        if not left:
            break
        candidates = [left[0]]
    children: dict[int, list[int]] = {p: [] for p in parent}
    for p, up in parent.items():
        if up is not None:
            children[up].append(p)

    def node(p: int) -> BlockingNode:
        r = by_pid[p]
        kids = tuple(node(c) for c in sorted(children[p], key=order))
        fields = {f.name: getattr(r, f.name) for f in dataclasses.fields(BlockingRow)}
        fields["blocked_by"] = blockers[p]
        return BlockingNode(
            **fields,
            blocks_directly=len(blocks[p]),
            blocks_transitively=weight[p],
            in_cycle=p in reach[p],
            children=kids,
        )

    return BlockingTree(roots=tuple(node(p) for p in sorted(parent, key=order) if parent[p] is None))


def reachable(start: int, blocks: dict[int, list[int]]) -> set[int]:
    """Sessions waiting behind ``start``, directly or not (``start`` included only in a cycle)."""
    seen: set[int] = set()
    todo = deque(blocks[start])
    while todo:
        p = todo.popleft()
        if p not in seen:
            seen.add(p)
            todo.extend(blocks[p])
    return seen


def _place(root: int, blocks: dict[int, list[int]], wanted: set[int], parent: dict[int, int | None]) -> None:
    parent[root] = None
    todo = deque([root])
    while todo:
        p = todo.popleft()
        for c in sorted(blocks[p]):
            if c in wanted and c not in parent:
                parent[c] = p
                todo.append(c)


def _placeholder(pid: int) -> BlockingRow:
    """A blocker with no pg_stat_activity row: a prepared transaction (pid 0) or a session that ended."""
    kind = "prepared transaction" if pid == 0 else "ended session"
    return BlockingRow(
        pid=pid, backend_start=None, datname=None, usename=None, application_name="", client_addr=None,
        backend_type=kind, state=None, xact_start=None, xact_seconds=None, query_seconds=None,
        state_seconds=None, wait_event_type=None, wait_event=None, xmin_age=None, query="",
        blocked_by=[], lock_mode=None, lock_type=None, relation=None,
    )
