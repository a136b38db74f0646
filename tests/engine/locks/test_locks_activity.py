"""Summary strip and session lists, on real sessions."""

from __future__ import annotations

from migrations_ops.locks import activity_summary, idle_in_transaction, long_transactions, xmin_holders
from migrations_ops.locks.connection import diag_connection

from .conftest import Chain, LockDB


def test_it_counts_sessions_by_state_and_finds_the_oldest(chain: Chain) -> None:
    s = activity_summary(chain.db.diag)

    assert s.datname == chain.db.diag.dbname
    assert s.max_connections >= s.connections >= 4
    assert s.sessions == 4  # A, B, C, D: the diagnostic session itself is left out
    assert (s.active, s.idle_in_transaction, s.waiting, s.blocked) == (3, 1, 3, 3)
    assert s.longest_xact_pid == chain.a.pid and s.longest_xact_seconds > 0
    assert s.longest_query_pid == chain.b.pid
    # xmin_age counts a writer's xid too (sessions.sql), so any of the four may hold the oldest horizon.
    assert s.oldest_xmin_pid in {chain.a.pid, chain.b.pid, chain.c.pid, chain.d.pid} and s.oldest_xmin_age >= 0
    assert 0 < s.connections_ratio <= 1


def test_it_lists_long_and_idle_in_transaction_sessions(chain: Chain) -> None:
    long = long_transactions(chain.db.diag, min_seconds=0)
    assert long[0].pid == chain.a.pid  # oldest first
    assert {x.pid for x in long} == {chain.a.pid, chain.b.pid, chain.c.pid, chain.d.pid}
    assert long_transactions(chain.db.diag, min_seconds=3600) == ()

    idle = idle_in_transaction(chain.db.diag)
    assert [x.pid for x in idle] == [chain.a.pid]
    assert idle[0].state == "idle in transaction" and idle[0].query_seconds is None
    assert idle[0].state_seconds >= 0 and idle[0].backend_start == chain.a.backend_start


def test_it_lists_sessions_holding_back_the_xmin_horizon(lock_db: LockDB) -> None:
    reader = lock_db.open("reader", "report", autocommit=False)
    reader.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    reader.conn.execute("SELECT count(*) FROM t")  # takes and keeps a snapshot
    writer = lock_db.open("writer", "billing-web", autocommit=False)
    writer.conn.execute("UPDATE t SET v = 5 WHERE id = 3")  # has an xid, no snapshot

    holders = {x.pid: x for x in xmin_holders(lock_db.diag)}

    assert set(holders) == {reader.pid, writer.pid}
    assert all(x.xmin_age is not None and x.xmin_age >= 0 for x in holders.values())
    summary = activity_summary(lock_db.diag)
    # One definition of xmin_age on the page: the strip's oldest is the list's oldest (a tie may name either;
    # ages grow with every xid the server hands out, so the later read is at least as old).
    oldest = max(x.xmin_age for x in holders.values())
    assert summary.oldest_xmin_pid in {p for p, x in holders.items() if x.xmin_age == oldest}
    assert summary.oldest_xmin_age >= oldest


def test_it_opens_a_short_autocommit_diagnostic_session(lock_db: LockDB) -> None:
    with diag_connection(lock_db.diag) as conn:
        assert conn.autocommit
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "100ms"
        assert conn.execute("SHOW application_name").fetchone()[0] == "mop:diag"
    with diag_connection(lock_db.diag, statement_timeout_ms=250) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "250ms"
