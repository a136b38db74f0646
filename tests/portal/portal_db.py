"""The test database as production has it: the owner role migrates it, the portal's role uses it.

scripts/lib.sh and the Docker image set the portal's database up with
``docker/postgres-init/portal-roles.psql``: the tables belong to an owner role
(``MOP_MIGRATE_DATABASE_URL``) and the portal's role (``DATABASE_URL``) may
read and write rows but not TRUNCATE, ALTER or own anything, and may only
SELECT and INSERT audit events. The test database gets the same:

1 the maintenance superuser (``tests.conftest.admin_url``) creates it owned by
  the owner role and runs ``portal-db.psql`` in it (default privileges);
2 Django's test set-up (keepdb: the database exists) migrates it as the owner;
3 the connection goes back to the portal's role for every test, and the workers
  the tests start use DATABASE_URL, the portal's role, too;
4 Django's flush between transactional tests runs as the owner (with the audit
  table's delete trigger disabled), since the portal's role may not do it; it
  deletes the rows instead of truncating the ~50 tables (0.07 s against 0.40 s a
  flush here: a TRUNCATE makes new files for every table and index).

Without MOP_MIGRATE_DATABASE_URL (a portal role that is still a superuser) the
set-up is Django's own.
"""

from __future__ import annotations

import glob
import graphlib
import os
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tests.conftest import admin_conn

ROOT = Path(__file__).resolve().parents[2]
PORTAL_DB_SQL = ROOT / "docker" / "postgres-init" / "portal-db.psql"
PORTAL_ROLES_SQL = ROOT / "docker" / "postgres-init" / "portal-roles.psql"
DISABLE_AUDIT_TRUNCATE = "ALTER TABLE ops_auditevent DISABLE TRIGGER ops_auditevent_no_truncate"
ENABLE_AUDIT_TRUNCATE = "ALTER TABLE ops_auditevent ENABLE TRIGGER ops_auditevent_no_truncate"
DISABLE_AUDIT_DELETE = "ALTER TABLE ops_auditevent DISABLE TRIGGER ops_auditevent_no_update_delete"
ENABLE_AUDIT_DELETE = "ALTER TABLE ops_auditevent ENABLE TRIGGER ops_auditevent_no_update_delete"


def owner_url() -> str | None:
    """The owner role's URL (MOP_MIGRATE_DATABASE_URL), or None where there is none."""
    return os.environ.get("MOP_MIGRATE_DATABASE_URL") or None


def _credentials(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or "")


def owner_kwargs(dbname: str, application_name: str = "mop-tests-owner") -> dict[str, Any]:
    """psycopg.connect() keyword arguments for the owner role on database ``dbname``."""
    url = owner_url()
    assert url, "MOP_MIGRATE_DATABASE_URL is not set"
    parts = urllib.parse.urlsplit(url)
    user, password = _credentials(url)
    return {"host": parts.hostname, "port": parts.port or 5432, "dbname": dbname, "user": user,
            "password": password, "application_name": application_name, "connect_timeout": 5}


def psql() -> str:
    """The psql binary (on PATH, else Debian's newest /usr/lib/postgresql/*/bin)."""
    found = shutil.which("psql") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), reverse=True)), None)
    assert found, "psql not found (scripts/test.sh installs PostgreSQL)"
    return found


def run_psql(script: Path, dbname: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run a psql script in ``dbname`` as the maintenance superuser, with psql variables."""
    admin = admin_conn()
    env = {**os.environ, "PGPASSWORD": admin.password}
    args = [arg for name, value in variables.items() for arg in ("-v", f"{name}={value}")]
    return subprocess.run(
        [psql(), "-X", "-q", "-h", admin.host, "-p", str(admin.port), "-U", admin.user, "-d", dbname, *args,
         "-f", str(script)],
        env=env, check=True, capture_output=True, text=True, timeout=60,
    )


def run_portal_db_sql(dbname: str, portal_role: str, owner_role: str) -> None:
    """Run docker/postgres-init/portal-db.psql in ``dbname`` as the maintenance superuser."""
    run_psql(PORTAL_DB_SQL, dbname, portal_role=portal_role, owner_role=owner_role)


def create_owned_database(name: str, portal_role: str, owner_role: str) -> None:
    """(Re)create database ``name`` owned by ``owner_role``, with the portal's privileges in place."""
    with psycopg.connect(**admin_conn().connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner_role)))
        c.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
        c.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(name), sql.Identifier(portal_role)))
    run_portal_db_sql(name, portal_role, owner_role)


def drop_database(name: str) -> None:
    with psycopg.connect(**admin_conn().connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def setup_test_database(verbosity: int, aliases: set[str], serialized_aliases: set[str]) -> Any:
    """Create and migrate the test database as the owner; leave the connection to the portal's role."""
    from django.db import connections
    from django.test.utils import setup_databases

    conn = connections["default"]
    settings = conn.settings_dict
    runtime = settings["USER"], settings["PASSWORD"]
    owner = _credentials(owner_url() or "")
    create_owned_database(conn.creation._get_test_db_name(), portal_role=runtime[0], owner_role=owner[0])
    settings["USER"], settings["PASSWORD"] = owner
    conn.close()
    try:
        config = setup_databases(verbosity=verbosity, interactive=False, keepdb=True, aliases=aliases,
                                 serialized_aliases=serialized_aliases)
        keep_migrated_rows(conn.settings_dict["NAME"])
        return config
    finally:
        conn.close()
        settings["USER"], settings["PASSWORD"] = runtime


def teardown_test_database(config: Any, verbosity: int) -> None:
    """Put the settings back and drop the test database (the portal's role may not)."""
    from django.db import connections
    from django.test.utils import teardown_databases

    name = connections["default"].settings_dict["NAME"]
    teardown_databases(config, verbosity=verbosity, keepdb=True)
    drop_database(name)


KEPT_SCHEMA = "mop_tests_kept"
KEPT_TABLES: list[str] = []
"""The tables that hold rows right after Django's own flush and its post_migrate (content types, permissions,
the role groups and their grants, change control's shipped policies and beat entries), parents first: kept
aside once by ``keep_migrated_rows``, put back by every later flush instead of emitting post_migrate."""


def keep_migrated_rows(dbname: str) -> None:
    """Flush once as Django does (post_migrate included), then copy every table's rows to a schema of their own."""
    from django.core.management import call_command

    global RESTORE_KEPT_ROWS
    RESTORE_KEPT_ROWS = False
    try:
        call_command("flush", interactive=False, verbosity=0)
    finally:
        RESTORE_KEPT_ROWS = True
    with psycopg.connect(**owner_kwargs(dbname), autocommit=True) as c, c.transaction():
        tables = [r[0] for r in c.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'django_migrations'")]
        parents = {t: set() for t in tables}
        for child, parent in c.execute(
                "SELECT ch.relname, pa.relname FROM pg_constraint k JOIN pg_class ch ON ch.oid = k.conrelid "
                "JOIN pg_class pa ON pa.oid = k.confrelid WHERE k.contype = 'f' "
                "AND k.connamespace = 'public'::regnamespace AND k.conrelid <> k.confrelid"):
            if child in parents and parent in parents:
                parents[child].add(parent)
        c.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(KEPT_SCHEMA)))
        for t in graphlib.TopologicalSorter(parents).static_order():
            if c.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(t))).fetchone()[0]:
                c.execute(sql.SQL("CREATE TABLE {} AS TABLE {}").format(sql.Identifier(KEPT_SCHEMA, t),
                                                                          sql.Identifier(t)))
                KEPT_TABLES.append(t)


RESTORE_KEPT_ROWS = True
"""False while a test checks Django's own flush (``real_flush`` fixture): post_migrate must do it."""


def restores_migrated_rows() -> bool:
    """True where flushes put post_migrate's rows back themselves (the owner runs them): no signal needed."""
    return RESTORE_KEPT_ROWS and owner_url() is not None


def flush_statements(statements: list[str], tables: list[str], reset_sequences: bool = False) -> list[str]:
    """Django's flush as deletes, past the audit table's triggers (the owner runs it, see execute_flush).

    Deletes, not Django's TRUNCATE: the tables hold a few rows after a test, and a TRUNCATE of them all
    cost 0.4 s a test here. Django's foreign keys are deferred to the commit, when every table is empty.
    Then post_migrate's rows are copied back (0.2 s a flush less than emitting the signal, and the same ids
    every time). A flush that resets sequences keeps Django's TRUNCATE ... RESTART IDENTITY.
    """
    if not statements:
        return statements
    if not reset_sequences:
        statements = ["SET CONSTRAINTS ALL DEFERRED",
                      *(sql.SQL("DELETE FROM {}").format(sql.Identifier(t)).as_string() for t in tables)]
        if restores_migrated_rows():
            statements += [sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
                sql.Identifier(t), sql.Identifier(KEPT_SCHEMA, t)).as_string() for t in KEPT_TABLES if t in tables]
    if "ops_auditevent" not in tables:
        return statements
    if owner_url() is None:  # a superuser portal role: ordinary triggers do not fire in replica mode
        return ["SET LOCAL session_replication_role = replica", *statements]
    if reset_sequences:
        return [DISABLE_AUDIT_TRUNCATE, *statements, ENABLE_AUDIT_TRUNCATE]
    return [DISABLE_AUDIT_DELETE, *statements, ENABLE_AUDIT_DELETE]


SETTLE_SECONDS = 60
"""How long a flush waits for the workers' writes to stop (a run still running, a session in a statement)."""
CLAIM_SECONDS = 2.0
"""How long a queued run may stay queued before the flush stops waiting for a worker to take it."""


def execute_flush(dbname: str, statements: list[str]) -> None:
    """Run the flush in one transaction as the tables' owner, once the workers' writes have settled.

    A test may end while a session worker still runs what the test queued last (the verification a copy
    queues itself, a rehearsal): its writes during the TRUNCATE deadlocked it, and a flush that fails leaves
    rows behind for the next test. So the flush waits until no run is running and no other session of
    this database is in a statement or a transaction, and runs again if it still meets a deadlock.
    """
    with psycopg.connect(**owner_kwargs(dbname), autocommit=True) as c:
        for attempt in range(5):
            _settle(c)
            try:
                with c.transaction():
                    for statement in statements:
                        c.execute(statement)
                return
            except psycopg.errors.DeadlockDetected:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))


def _settle(c: psycopg.Connection) -> None:
    """Wait (at most SETTLE_SECONDS) while a worker of the tests is connected to this database and busy: in a
    statement or a transaction, running a run it claimed that still beats (a run a test made 'running' itself has
    no worker: no wait), or not yet taking a run queued just now
    (CLAIM_SECONDS). Without a worker session nothing writes behind the test's back: no wait.

    Who is connected is visible to the owner; what another role's session is doing only to a superuser (the
    tests' maintenance role), asked only when a worker is there.
    """
    workers = "FROM pg_stat_activity WHERE datname = %s AND application_name = 'mop-worker'"
    dbname = c.info.dbname
    if not c.execute("SELECT count(*) " + workers, [dbname]).fetchone()[0]:
        return
    started = time.monotonic()
    with psycopg.connect(**admin_conn().connect_kwargs("mop-tests"), autocommit=True) as admin:
        while time.monotonic() - started < SETTLE_SECONDS:
            busy = admin.execute("SELECT count(*) " + workers + " AND (state = 'active' OR state LIKE "
                                 "'idle in transaction%%')", [dbname]).fetchone()[0]
            running, fresh = c.execute(
                "SELECT count(*) FILTER (WHERE status = 'running' AND worker <> '' AND heartbeat_at > now() - interval '15 s'), "
                "count(*) FILTER (WHERE status = 'queued' AND created_at > now() - interval '10 s') FROM ops_run"
            ).fetchone()
            if not busy and not running and (not fresh or time.monotonic() - started > CLAIM_SECONDS):
                return
            time.sleep(0.05)
