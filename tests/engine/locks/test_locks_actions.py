"""Cancel and terminate: only the session the DBA saw, never a protected one, and say if it cleared."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import psycopg
import pytest
from psycopg import sql

from migrations_ops.errors import OpsError
from migrations_ops.locks import blocking_tree, cancel_backend, terminate_backend
from migrations_ops.locks.actions import _check_victim
from migrations_ops.locks.connection import diag_connection
from migrations_ops.locks.errors import BackendGone, BackendProtected, BackendReused, BadActionRequest

from .conftest import APP_PASSWORD, Chain, LockDB, activity_of


def test_it_terminates_the_root_blocker_and_the_chain_clears(chain: Chain) -> None:
    result = terminate_backend(chain.db.diag, chain.a.pid, chain.a.backend_start, "dba@example: unblock run 42")

    assert result.signalled and result.cleared and result.victim_gone
    assert result.blocked_before == tuple(sorted([chain.b.pid, chain.c.pid, chain.d.pid]))
    assert result.still_blocked == ()
    assert result.victim["pid"] == chain.a.pid
    assert result.victim["state"] == "idle in transaction"
    assert result.victim["usename"] == "mopt_app"
    assert dt.datetime.fromisoformat(result.victim["backend_start"]) == chain.a.backend_start
    assert json.loads(json.dumps(result.to_json()))["actor_note"] == "dba@example: unblock run 42"
    assert chain.b.done.wait(10) and chain.b.error is None  # the migration's ALTER went through
    assert chain.c.done.wait(10) and chain.d.done.wait(10)
    assert activity_of(chain.db.diag, chain.a.pid) is None
    assert not blocking_tree(chain.db.diag)


def test_it_does_nothing_when_backend_start_no_longer_matches(chain: Chain) -> None:
    seen_before = chain.a.backend_start - dt.timedelta(seconds=1)  # the pid's previous owner

    with pytest.raises(BackendReused) as exc:
        cancel_backend(chain.db.diag, chain.a.pid, seen_before.isoformat(), "stale page")

    assert "nothing was done" in str(exc.value)
    assert exc.value.data()["actual_start"] == chain.a.backend_start.isoformat()
    row = activity_of(chain.db.diag, chain.a.pid)
    assert row is not None and row["state"] == "idle in transaction"
    assert row["backend_start"] == chain.a.backend_start
    assert blocking_tree(chain.db.diag).roots[0].blocks_transitively == 3


def test_it_cancels_a_waiting_query(chain: Chain) -> None:
    result = cancel_backend(chain.db.diag, chain.c.pid, chain.c.backend_start, "reader can retry")

    assert result.signalled and result.cleared and not result.victim_gone
    assert result.blocked_before == ()
    assert chain.c.done.wait(10)
    assert isinstance(chain.c.error, psycopg.errors.QueryCanceled)
    assert chain.d.done.is_set() is False  # D still waits: only C was hit


def test_it_reports_not_cleared_when_the_blocking_goes_on(chain: Chain) -> None:
    # Cancelling an idle-in-transaction session cancels nothing: its locks stay.
    result = cancel_backend(chain.db.diag, chain.a.pid, chain.a.backend_start, "try gently", settle_seconds=0.3)

    assert result.signalled and not result.cleared
    assert result.still_blocked == tuple(sorted([chain.b.pid, chain.c.pid, chain.d.pid]))


def test_it_refuses_superuser_backends(lock_db: LockDB) -> None:
    su = lock_db.open("su", "psql", superuser=True)

    with pytest.raises(BackendProtected, match="superuser"):
        terminate_backend(lock_db.diag, su.pid, su.backend_start, "no")

    assert activity_of(lock_db.diag, su.pid) is not None


def test_it_refuses_the_portals_own_backends(chain: Chain) -> None:
    with pytest.raises(BackendProtected, match="portal's own") as exc:
        terminate_backend(chain.db.diag, chain.b.pid, chain.b.backend_start, "no")

    assert exc.value.data()["application_name"] == "mop:run:42"
    assert activity_of(chain.db.diag, chain.b.pid)["wait_event_type"] == "Lock"


def test_it_refuses_background_processes(lock_db: LockDB) -> None:
    with psycopg.connect(**lock_db.diag.connect_kwargs("mop-tests")) as c:
        pid, start = c.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE backend_type = 'checkpointer'"
        ).fetchone()

    with pytest.raises(BackendProtected, match="background process"):
        terminate_backend(lock_db.diag, pid, start, "no")


def test_it_says_so_when_the_backend_is_gone(lock_db: LockDB) -> None:
    with pytest.raises(BackendGone) as exc:
        cancel_backend(lock_db.diag, 2_000_000_000, dt.datetime.now(dt.UTC), "gone")
    assert isinstance(exc.value, OpsError) and exc.value.data()["pid"] == 2_000_000_000


@pytest.mark.parametrize(
    ("start", "note", "problem"),
    [
        (dt.datetime(2026, 1, 1), "x", "timezone-aware"),
        ("yesterday", "x", "ISO 8601"),
        (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "  ", "reason"),
    ],
)
def test_it_validates_the_request_first(lock_db: LockDB, start: object, note: str, problem: str) -> None:
    with pytest.raises(BadActionRequest, match=problem):
        cancel_backend(lock_db.diag, 123, start, note)  # type: ignore[arg-type]


def test_it_refuses_replication_backends(lock_db: LockDB, pg_admin) -> None:
    with psycopg.connect(**pg_admin.connect_kwargs("mop-tests"), autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_roles WHERE rolname = 'mopt_repl'").fetchone():
            try:
                c.execute(
                    sql.SQL("CREATE ROLE {} LOGIN REPLICATION NOSUPERUSER PASSWORD {}").format(
                        sql.Identifier("mopt_repl"), sql.Literal(APP_PASSWORD)
                    )
                )
            except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                pass
    repl_target = replace(lock_db.diag, user="mopt_repl", password=APP_PASSWORD)
    with psycopg.connect(**repl_target.connect_kwargs("standby"), replication="database", autocommit=True) as repl:
        start = activity_of(lock_db.diag, repl.info.backend_pid)["backend_start"]

        with pytest.raises(BackendProtected, match="replication"):
            terminate_backend(lock_db.diag, repl.info.backend_pid, start, "no")

        assert activity_of(lock_db.diag, repl.info.backend_pid) is not None


def test_it_refuses_its_own_session(lock_db: LockDB) -> None:
    with diag_connection(lock_db.diag) as conn:
        start = activity_of(lock_db.diag, conn.info.backend_pid)["backend_start"]
        with pytest.raises(BackendProtected, match="this diagnostic session"):
            _check_victim(conn, conn.info.backend_pid, start)
