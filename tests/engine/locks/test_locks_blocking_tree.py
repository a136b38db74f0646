"""The blocking tree of a real chain: who is the root, what each session waits for."""

from __future__ import annotations

import psycopg
from psycopg import sql

from migrations_ops.locks import blockers_of_application, blocking_tree
from tests.polling import eventually

from .conftest import A_QUERY, Chain, LockDB, is_waiting


def test_it_puts_the_idle_in_transaction_session_at_the_root(chain: Chain) -> None:
    tree = blocking_tree(chain.db.diag)

    assert [r.pid for r in tree.roots] == [chain.a.pid]
    root = tree.roots[0]
    assert (root.blocks_directly, root.blocks_transitively) == (1, 3)
    assert root.state == "idle in transaction"
    assert root.backend_start == chain.a.backend_start
    assert root.usename == "mopt_app" and root.application_name == "billing-web"
    assert root.query == A_QUERY
    assert root.blocked_by == () and root.lock_mode is None
    assert root.xact_seconds is not None and root.xact_seconds >= 0
    assert not root.is_portal and root.run_id is None


def test_it_names_the_lock_and_relation_each_session_waits_for(chain: Chain) -> None:
    tree = blocking_tree(chain.db.diag)

    (b,) = tree.roots[0].children
    assert b.pid == chain.b.pid
    assert (b.lock_mode, b.lock_type, b.relation) == ("AccessExclusiveLock", "relation", "t")
    assert b.blocked_by == (chain.a.pid,)
    assert (b.blocks_directly, b.blocks_transitively) == (2, 2)
    assert b.is_portal and b.run_id == 42
    assert b.wait_event_type == "Lock" and b.query.startswith("ALTER TABLE t")
    assert sorted(n.pid for n in b.children) == sorted([chain.c.pid, chain.d.pid])
    for n in b.children:
        assert (n.lock_mode, n.relation, n.blocked_by) == ("AccessShareLock", "t", (chain.b.pid,))
        assert (n.blocks_directly, n.blocks_transitively, n.children) == (0, 0, ())
    assert tree.blocked_count == 3
    assert [n.pid for _, n in tree.walk()][:2] == [chain.a.pid, chain.b.pid]


def test_it_finds_the_blockers_of_a_run_by_application_name(chain: Chain) -> None:
    tree = blockers_of_application(chain.db.diag, "mop:run:42")

    assert [(d, n.pid) for d, n in tree.walk()] == [(0, chain.a.pid), (1, chain.b.pid)]
    assert tree.roots[0].blocks_transitively == 3
    assert not blockers_of_application(chain.db.diag, "mop:run:7")


def test_it_is_empty_when_nobody_waits(lock_db: LockDB) -> None:
    idle = lock_db.open("idle", "billing-web", autocommit=False)
    idle.conn.execute("SELECT 1")
    assert not blocking_tree(lock_db.diag)


def test_it_shows_a_deadlock_in_progress_as_a_cycle(lock_db: LockDB) -> None:
    with psycopg.connect(**lock_db.diag.connect_kwargs("mop-tests"), autocommit=True) as admin:
        # The server would break the deadlock after deadlock_timeout (1 s); keep it long enough to look.
        admin.execute(
            sql.SQL("ALTER DATABASE {} SET deadlock_timeout = '30s'").format(sql.Identifier(lock_db.diag.dbname))
        )
    e = lock_db.open("E", "billing-web", autocommit=False)
    f = lock_db.open("F", "billing-web", autocommit=False)
    e.conn.execute("UPDATE t SET v = 1 WHERE id = 1")
    f.conn.execute("UPDATE t SET v = 2 WHERE id = 2")
    e.run_in_background("UPDATE t SET v = 1 WHERE id = 2")
    eventually(lambda: is_waiting(lock_db.diag, e.pid))
    f.run_in_background("UPDATE t SET v = 2 WHERE id = 1")
    eventually(lambda: is_waiting(lock_db.diag, f.pid))

    tree = blocking_tree(lock_db.diag)

    nodes = [n for _, n in tree.walk()]
    assert len(tree.roots) == 1
    assert sorted(n.pid for n in nodes) == sorted([e.pid, f.pid])
    assert all(n.in_cycle and n.blocks_transitively == 1 for n in nodes)
    assert {n.lock_type for n in nodes} == {"transactionid"}
    assert {n.relation for n in nodes} == {"t"}
