"""Turning wait-graph rows into a tree: several roots, cycles, prepared transactions."""

from __future__ import annotations

from migrations_ops.locks import build_tree
from migrations_ops.locks.models import BlockingRow


def row(pid: int, blocked_by: list[int] | None = None, xact: float = 1.0, app: str = "app") -> BlockingRow:
    return BlockingRow(
        pid=pid, backend_start=None, datname="d", usename="u", application_name=app, client_addr=None,
        backend_type="client backend", state="active", xact_start=None, xact_seconds=xact, query_seconds=None,
        state_seconds=None, wait_event_type="Lock" if blocked_by else None, wait_event=None, xmin_age=None,
        query="q", blocked_by=blocked_by or [], lock_mode=None, lock_type=None, relation=None,
    )


def shape(tree) -> list[tuple[int, int, int, int]]:
    return [(d, n.pid, n.blocks_directly, n.blocks_transitively) for d, n in tree.walk()]


def test_it_orders_several_roots_by_sessions_blocked() -> None:
    tree = build_tree([row(1), row(2), row(3, [1]), row(4, [2]), row(5, [4]), row(6, [2])])
    assert shape(tree) == [(0, 2, 2, 3), (1, 4, 1, 1), (2, 5, 0, 0), (1, 6, 0, 0), (0, 1, 1, 1), (1, 3, 0, 0)]


def test_it_places_a_session_blocked_twice_once_and_counts_it_for_both() -> None:
    tree = build_tree([row(1), row(2), row(3, [1, 2])])
    nodes = {n.pid: n for _, n in tree.walk()}
    assert len([n for _, n in tree.walk() if n.pid == 3]) == 1
    assert nodes[3].blocked_by == (1, 2)
    assert nodes[1].blocks_transitively == nodes[2].blocks_transitively == 1


def test_it_breaks_a_cycle_into_a_tree_and_marks_it() -> None:
    tree = build_tree([row(1, [2]), row(2, [3]), row(3, [1]), row(4, [3])])
    nodes = [n for _, n in tree.walk()]
    assert len(tree.roots) == 1 and len(nodes) == 4
    cycle = {n.pid for n in nodes if n.in_cycle}
    assert cycle == {1, 2, 3}
    assert tree.find(3).blocks_transitively == 3  # 1, 2 and 4, itself not counted


def test_it_shows_a_prepared_transaction_blocker_as_a_root() -> None:
    tree = build_tree([row(7, [0])])
    assert tree.roots[0].pid == 0 and tree.roots[0].backend_type == "prepared transaction"
    assert tree.roots[0].children[0].pid == 7


def test_it_keeps_only_the_requested_sessions() -> None:
    rows = [row(1), row(2, [1]), row(3, [1]), row(4, [2])]
    tree = build_tree(rows, keep={1, 2, 4})
    assert shape(tree) == [(0, 1, 2, 3), (1, 2, 1, 1), (2, 4, 0, 0)]
