"""Real lock contention for the lock-diagnostics tests: background sessions that really block.

The chain, as a migration meets it in production:

- A (``billing-web``, role ``mopt_app``): ``BEGIN; UPDATE t ... WHERE id = 1`` and
  then nothing: idle in transaction, holding ROW EXCLUSIVE on ``t``;
- B (``mop:run:42``, the portal's migration): ``ALTER TABLE t ADD COLUMN``, queued
  for ACCESS EXCLUSIVE behind A;
- C, D (``billing-web``): ``SELECT * FROM t``, queued behind B's request.

Sessions use a non-superuser role, since superuser backends are never
signalled; the diagnostics use the superuser, which sees every query.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
import pytest
from psycopg import sql

from migrations_ops.target import TargetConn
from tests.conftest import admin_conn
from tests.polling import eventually

APP_ROLE = "mopt_app"
APP_PASSWORD = "mopt_app_pw"  # a test role on the local test server only
A_QUERY = "/* <script>alert('pwned')</script> */ UPDATE t SET v = v + 1 WHERE id = 1"





@dataclass
class Backend:
    """One background session: its connection, identity, and the statement its thread runs."""

    name: str
    conn: psycopg.Connection
    pid: int
    backend_start: dt.datetime
    thread: threading.Thread | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def run_in_background(self, statement: str) -> None:
        def work() -> None:
            try:
                self.conn.execute(statement)
            except BaseException as exc:  # noqa: BLE001 - kept for the test to look at
                self.error = exc
            finally:
                self.done.set()

        self.thread = threading.Thread(target=work, name=f"locks-{self.name}", daemon=True)
        self.thread.start()


def open_backend(target: TargetConn, name: str, application_name: str, *, autocommit: bool = True) -> Backend:
    conn = psycopg.connect(**target.connect_kwargs(application_name), autocommit=autocommit)
    row = conn.execute(
        "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
    ).fetchone()
    assert row is not None
    if not autocommit:
        conn.rollback()  # leave no transaction open from the lookup itself
    return Backend(name, conn, row[0], row[1])


def activity_of(target: TargetConn, pid: int) -> dict[str, Any] | None:
    """The backend's pg_stat_activity row, read as the superuser.

    Read from the portal's own database, so that these short-lived sessions never
    appear among the test database's sessions that the assertions count.
    """
    del target  # pg_stat_activity is server-wide
    with psycopg.connect(**admin_conn().connect_kwargs("mop-tests"), autocommit=True) as c:
        c.row_factory = psycopg.rows.dict_row
        return c.execute("SELECT * FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()


def _no_sessions_in(dbname: str) -> None:
    with psycopg.connect(**admin_conn().connect_kwargs("mop-tests"), autocommit=True) as c:
        row = c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (dbname,)).fetchone()
    assert row is not None and row[0] == 0, row


def is_waiting(target: TargetConn, pid: int) -> None:
    row = activity_of(target, pid)
    assert row is not None and row["wait_event_type"] == "Lock", row


@pytest.fixture(scope="session")
def app_role(pg_admin: TargetConn) -> str:
    """A non-superuser login role for the sessions that block (created once, kept)."""
    with psycopg.connect(**pg_admin.connect_kwargs("mop-tests"), autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone():
            try:
                c.execute(
                    sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER PASSWORD {}").format(
                        sql.Identifier(APP_ROLE), sql.Literal(APP_PASSWORD)
                    )
                )
            except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                pass  # another test process created it meanwhile
    return APP_ROLE


@dataclass
class LockDB:
    """A throwaway database with table ``t``: ``diag`` is the superuser, ``app`` the app role."""

    diag: TargetConn
    app: TargetConn
    backends: list[Backend] = field(default_factory=list)

    def open(self, name: str, application_name: str, *, autocommit: bool = True, superuser: bool = False) -> Backend:
        b = open_backend(self.diag if superuser else self.app, name, application_name, autocommit=autocommit)
        self.backends.append(b)
        return b


@pytest.fixture
def lock_db(make_database: Callable[..., TargetConn], app_role: str) -> Iterator[LockDB]:
    target = make_database("locks")
    with psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute(sql.SQL("GRANT CONNECT, TEMP ON DATABASE {} TO {}").format(
            sql.Identifier(target.dbname), sql.Identifier(app_role)))
        c.execute("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)")
        c.execute("INSERT INTO t (id) SELECT generate_series(1, 3)")
        c.execute(sql.SQL("ALTER TABLE t OWNER TO {}").format(sql.Identifier(app_role)))
    db = LockDB(diag=target, app=replace(target, user=app_role, password=APP_PASSWORD))
    eventually(lambda: _no_sessions_in(target.dbname))  # the setup session's backend exits asynchronously
    yield db
    with psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True) as c:
        for b in db.backends:
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = %s AND backend_start = %s",
                (b.pid, b.backend_start),
            )
    for b in db.backends:
        if b.thread:
            b.thread.join(timeout=10)
        b.conn.close()


@dataclass
class Chain:
    db: LockDB
    a: Backend
    b: Backend
    c: Backend
    d: Backend


@pytest.fixture
def chain(lock_db: LockDB) -> Chain:
    """A holds a row lock idle in transaction; B's ALTER TABLE waits for A; C and D's SELECTs wait for B."""
    a = lock_db.open("A", "billing-web", autocommit=False)
    a.conn.execute(A_QUERY)
    b = lock_db.open("B", "mop:run:42")
    b.run_in_background("ALTER TABLE t ADD COLUMN note text")
    eventually(lambda: is_waiting(lock_db.diag, b.pid))
    c = lock_db.open("C", "billing-web")
    d = lock_db.open("D", "billing-web")
    c.run_in_background("SELECT * FROM t")
    d.run_in_background("SELECT * FROM t")
    eventually(lambda: is_waiting(lock_db.diag, c.pid))
    eventually(lambda: is_waiting(lock_db.diag, d.pid))
    return Chain(lock_db, a, b, c, d)
