"""Cancel/terminate stay inside the target: a backend of another database on the same server is refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import psycopg
import pytest
from psycopg import sql

from migrations_ops.locks import backend_row, cancel_backend, terminate_backend
from migrations_ops.locks.actions import SignalRow
from migrations_ops.locks.connection import diag_connection, fetch_all
from migrations_ops.locks.errors import BackendElsewhere
from migrations_ops.target import TargetConn

from .conftest import APP_PASSWORD, Backend, LockDB, activity_of, open_backend


@pytest.fixture
def other_backend(make_database: Callable[..., TargetConn], app_role: str) -> Iterator[Backend]:
    """A session of the app role, idle in transaction, in a second database of the same server."""
    other = make_database("other")
    with psycopg.connect(**other.connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(other.dbname), sql.Identifier(app_role)))
    b = open_backend(replace(other, user=app_role, password=APP_PASSWORD), "X", "other-app", autocommit=False)
    b.conn.execute("SELECT 1")  # opens a transaction and keeps it: a juicy victim
    yield b
    b.conn.close()


@pytest.mark.parametrize("act", [cancel_backend, terminate_backend])
def test_it_refuses_a_backend_of_another_database_and_says_so(lock_db: LockDB, other_backend: Backend, act) -> None:
    with pytest.raises(BackendElsewhere) as exc:
        act(lock_db.diag, other_backend.pid, other_backend.backend_start, "dba: from target A's page")

    message = str(exc.value)
    assert f"backend {other_backend.pid}" in message and "nothing was done" in message
    assert lock_db.diag.dbname in message and "another database" in exc.value.explanation
    assert exc.value.data()["datname"] != lock_db.diag.dbname
    row = activity_of(lock_db.diag, other_backend.pid)
    assert row is not None and row["backend_start"] == other_backend.backend_start
    assert row["state"] == "idle in transaction"


def test_the_signal_statement_itself_skips_other_databases(lock_db: LockDB, other_backend: Backend) -> None:
    """The second fence: even called directly, the SQL sends no signal outside the connected database."""
    with diag_connection(lock_db.diag) as conn:
        sent = fetch_all(conn, "signal_backend", SignalRow,
                         {"pid": other_backend.pid, "backend_start": other_backend.backend_start},
                         composed={"signal": sql.Identifier("pg_terminate_backend")})
    assert sent == []
    assert activity_of(lock_db.diag, other_backend.pid) is not None


def test_it_reads_the_backends_database(lock_db: LockDB, other_backend: Backend) -> None:
    found = backend_row(lock_db.diag, other_backend.pid)
    assert found is not None
    assert found.own_datname == lock_db.diag.dbname and found.datname != found.own_datname
