"""A verification only reads, holds nothing between batches, fails fast on locks, and cancels."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from verify_dataset import pg_connect

from migrations_ops.target import connect
from migrations_ops.verify import (
    SourceUnreadable,
    TablesNotFound,
    VerifyCancelled,
    VerifyLockTimeout,
    VerifyOptions,
    VerifyTimeout,
    verify,
)
from migrations_ops.verify.schema import open_session

APP = "mop:verify:safety"


def test_it_opens_a_read_only_session(billing):
    with connect(billing[0], "t") as conn:
        open_session(conn, 1000, 1000)
        # every setting, sent in one statement; no parallel workers taken from a live target's other sessions
        got = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", ([
            "default_transaction_read_only", "statement_timeout", "lock_timeout", "TimeZone",
            "max_parallel_workers_per_gather"],)).fetchall())
        assert got == {"default_transaction_read_only": "on", "statement_timeout": "1000", "lock_timeout": "1000",
                       "TimeZone": "UTC", "max_parallel_workers_per_gather": "0"}, got
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO invoices (total) VALUES (1)")


@pytest.mark.parametrize("sessions", [1, 2])
def test_it_takes_only_access_share_and_is_idle_between_batches(events, sessions):
    target, src, rows = events
    seen_locks: set[str] = set()
    states: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        with pg_connect(target) as w:
            while not stop.is_set():
                seen_locks.update(r[0] for r in w.execute(
                    "SELECT l.mode FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                    "WHERE a.application_name = %s AND l.locktype = 'relation'", (APP,)))

    def between_batches(p) -> None:
        with pg_connect(target) as w:
            found = [r[0] for r in w.execute("SELECT state FROM pg_stat_activity WHERE application_name = %s", (APP,))]
        assert len(found) <= sessions
        states.extend(found)

    t = threading.Thread(target=watch)
    t.start()
    try:
        report = verify(target, src, options=VerifyOptions(batch_rows=rows // 8, target_sessions=sessions),
                        run_id="safety", progress=between_batches)
    finally:
        stop.set()
        t.join()
    assert report.problems() == []
    assert seen_locks == {"AccessShareLock"}
    # never "idle in transaction" between batches: each statement is its own transaction; with a partner
    # session, the other one may be running its own statement at that moment
    assert states and set(states) <= ({"idle"} if sessions == 1 else {"idle", "active"})
    assert "idle" in states


def test_it_fails_fast_when_a_table_is_locked_exclusively(billing):
    target, src = billing
    with pg_connect(target) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        t0 = time.monotonic()
        with pytest.raises(VerifyLockTimeout) as exc:
            verify(target, src, tables=["users"], options=VerifyOptions(lock_timeout_ms=300))
        assert time.monotonic() - t0 < 10
        assert exc.value.fields["table"] == "users" and exc.value.retryable
        blocker.execute("ROLLBACK")


def test_it_stops_a_batch_at_statement_timeout(events):
    target, src, _ = events
    with pytest.raises(VerifyTimeout) as exc:
        verify(target, src, options=VerifyOptions(statement_timeout_ms=30, batch_rows=10_000_000, bisection_factor=2))
    assert exc.value.retryable


def test_it_cancels_between_batches_and_leaves_no_session(events):
    target, src, rows = events
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(VerifyCancelled):
        verify(target, src, options=VerifyOptions(batch_rows=rows // 10), run_id="safety", should_cancel=cancel)
    with pg_connect(target) as w:
        assert w.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                         (APP,)).fetchone()[0] == 0


def test_it_refuses_unknown_tables_and_missing_sources(billing, tmp_path):
    target, src = billing
    with pytest.raises(TablesNotFound, match="nope"):
        verify(target, src, tables=["users", "nope"])
    with pytest.raises(SourceUnreadable):
        verify(target, tmp_path / "absent.sqlite")
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(SourceUnreadable):
        verify(target, tmp_path / "junk.sqlite")


@pytest.mark.parametrize("workers", [1, 2])
def test_it_interrupts_a_long_source_statement_on_cancel(events, workers):
    """SQLite work in the thread or in worker processes stops mid-statement once should_cancel turns true
    (two ranges of 100,000 rows: without the interrupt each would run to its end). The canonical-text
    checksum: the native one is done with 200,000 rows before 0.3 s (its stop test is below)."""
    target, src, rows = events
    t0 = time.monotonic()
    with pytest.raises(VerifyCancelled):
        verify(target, src, options=VerifyOptions(source_workers=workers, batch_rows=10 * rows, bisection_factor=2,
                                                  native_hash=False),
               should_cancel=lambda: time.monotonic() - t0 > 0.3)
    assert time.monotonic() - t0 < 5
    with pg_connect(target) as w:
        assert w.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'mop:verify:%%' "
                         "AND datname = current_database()").fetchone()[0] == 0
