"""A target needs no superuser: a plain migration role upgrades it, and its locks page works.

The target's role here is what docs/security.md recommends: NOSUPERUSER,
CONNECT on the database, USAGE and CREATE on schema public (so it owns every
table its migrations create), plus the two predefined roles the diagnostics
want: pg_read_all_stats (other roles' query text and state) and
pg_signal_backend (cancel or terminate other roles' sessions). The blocking
session belongs to the application's own role, as in production.
"""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import psycopg
import pytest
from psycopg import sql

from migrations_ops.locks import terminate_backend
from migrations_ops.locks.errors import BackendHidden
from migrations_ops.target import TargetConn
from portal.ops import services
from portal.ops.models import AuditEvent, Run
from tests.engine.alembic_factory import alembic_current
from tests.engine.locks.conftest import (
    APP_PASSWORD,
    APP_ROLE,
    activity_of,
    app_role,
    is_waiting,
    open_backend,
)
from tests.factories import BILLING, AlembicProjectFactory, target_for
from tests.polling import eventually
from tests.portal.activity_helpers import activity_url, backend_url
from tests.portal.admin_helpers import client_for
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker
BILLING_HEAD = "6e7a2c9d4b38"
MIGRATOR_PASSWORD = "mopt_migrator_pw"  # test roles on the local test server only
DIAGNOSTICS_ROLES = ("pg_read_all_stats", "pg_signal_backend")


def ensure_role(pg_admin: TargetConn, name: str, member_of: tuple[str, ...]) -> str:
    """A login role with no attribute at all, member of exactly ``member_of`` (created once, kept)."""
    with psycopg.connect(**pg_admin.connect_kwargs("mop-tests"), autocommit=True) as c:
        try:
            c.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD {}")
                      .format(sql.Identifier(name), sql.Literal(MIGRATOR_PASSWORD)))
        except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pass  # kept from an earlier session, or created meanwhile by another test process
        for granted in member_of:
            c.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(granted), sql.Identifier(name)))
    return name


@pytest.fixture
def least_db(make_database: Callable[..., TargetConn], app_role: str) -> Callable[[str], TargetConn]:
    """A database the superuser owns; the migration role ``role`` may connect and create in schema public."""

    def _make(role: str) -> TargetConn:
        db = make_database("least")
        with psycopg.connect(**db.connect_kwargs("mop-tests"), autocommit=True) as c:
            name = sql.Identifier(db.dbname)
            c.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(name))
            c.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(
                name, sql.Identifier(role), sql.Identifier(app_role)))
            c.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(sql.Identifier(role)))
            c.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(app_role)))
        return replace(db, user=role, password=MIGRATOR_PASSWORD)

    return _make


def upgrade(target, dba) -> Run:
    run = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="head", user=dba))
    assert run.status == Run.Status.SUCCEEDED, run.error
    return run


def blocked_table(conn: TargetConn) -> str:
    """The migrator hands one of its tables' rows to the application's role; returns its name."""
    with psycopg.connect(**conn.connect_kwargs("mop-tests"), autocommit=True) as c:
        owners = set(c.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall())
        assert owners == {(conn.user,)}, owners  # it owns what it created: later migrations need no superuser
        table = c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                          "AND tablename <> 'alembic_version' ORDER BY tablename LIMIT 1").fetchone()[0]
        c.execute(sql.SQL("GRANT SELECT, UPDATE ON {} TO {}").format(sql.Identifier(table), sql.Identifier(APP_ROLE)))
    return table


def hold_and_queue(conn: TargetConn, table: str):
    """A: the app's session holds ROW EXCLUSIVE idle in transaction; B: the migrator's ALTER queues behind it."""
    a = open_backend(replace(conn, user=APP_ROLE, password=APP_PASSWORD), "A", "billing-web", autocommit=False)
    a.conn.execute(sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(sql.Identifier(table)))
    b = open_backend(conn, "B", "billing-migrate")
    b.run_in_background(sql.SQL("ALTER TABLE {} ADD COLUMN mopt_note text").format(sql.Identifier(table))
                        .as_string(b.conn))
    eventually(lambda: is_waiting(conn, b.pid))
    return a, b


def terminate(client, target, backend, reason: str):
    data = {"pid": backend.pid, "backend_start": backend.backend_start.isoformat()}
    assert client.post(backend_url(target, "terminate"), data).status_code == 200  # the confirmation page
    return client.post(backend_url(target, "terminate"), {**data, "post": "yes", "reason": reason}, follow=True)


def close(*backends) -> None:
    for b in backends:
        b.conn.close()
        if b.thread:
            b.thread.join(timeout=10)


def test_a_plain_migration_role_upgrades_and_its_locks_page_sees_and_ends_the_blocker(
    transactional_db, celery_worker_proc, pg_admin, least_db, dba
) -> None:
    conn = least_db(ensure_role(pg_admin, "mopt_migrator", DIAGNOSTICS_ROLES))
    target = target_for(conn, AlembicProjectFactory(name="billing"), name="billing-least")
    upgrade(target, dba)
    assert alembic_current(BILLING, conn) == {BILLING_HEAD}

    a, b = hold_and_queue(conn, blocked_table(conn))
    try:
        client = client_for(dba)
        body = client.get(activity_url(target)).content.decode()
        assert f'data-pid="{a.pid}" data-depth="0"' in body and f'data-pid="{b.pid}" data-depth="1"' in body
        assert "LOCK TABLE" in body and "insufficient privilege" not in body  # pg_read_all_stats

        page = terminate(client, target, a, "idle in transaction during the migration").content.decode()
        assert b.done.wait(10) and b.error is None, b.error  # pg_signal_backend: A was another role's
        assert activity_of(conn, a.pid) is None
        assert "terminated" in page
        event = AuditEvent.objects.get(action="backend.terminated")
        assert (event.outcome, event.params["victim"]["usename"]) == ("succeeded", APP_ROLE)
    finally:
        close(a, b)


def test_without_the_diagnostics_roles_the_page_says_what_to_grant(
    transactional_db, pg_admin, least_db, dba
) -> None:
    """A bare migration role: other roles' sessions are opaque and may not be signalled; nothing is done."""
    conn = least_db(ensure_role(pg_admin, "mopt_migrator_bare", ()))
    with psycopg.connect(**conn.connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute("CREATE TABLE t (id int PRIMARY KEY)")
    target = target_for(conn, AlembicProjectFactory(name="billing"), name="billing-bare")
    a, b = hold_and_queue(conn, blocked_table(conn))
    try:
        client = client_for(dba)
        body = client.get(activity_url(target)).content.decode()
        assert f'data-pid="{a.pid}"' in body and "LOCK TABLE" not in body
        data = {"pid": a.pid, "backend_start": a.backend_start.isoformat()}
        page = client.post(backend_url(target, "terminate"), data, follow=True).content.decode()
        assert f"Backend {a.pid} is another role&#x27;s session the target&#x27;s role cannot see" in page
        assert "Grant the target&#x27;s role pg_read_all_stats, and pg_signal_backend" in page
        with pytest.raises(BackendHidden):  # the engine (and so the CLI) says the same
            terminate_backend(conn, a.pid, a.backend_start, "try without pg_read_all_stats")
        assert activity_of(conn, a.pid) is not None and not b.done.is_set()
        assert not AuditEvent.objects.filter(action="backend.terminated").exists()
    finally:
        close(a, b)
