"""Fixtures shared by engine and portal tests: real PostgreSQL, real Redis.

Services come from `scripts/services.sh` (the test command runs it first);
addresses come from `.env` / the environment, as the portal reads them.
"""

from __future__ import annotations

import os
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import environ
import psycopg
import pytest
from psycopg import sql

from migrations_ops.target import TargetConn

ROOT = Path(__file__).resolve().parent.parent
if (ROOT / ".env").exists():
    environ.Env.read_env(ROOT / ".env", overwrite=False)
# Tests use their own Redis database and queue so a running dev worker never
# takes a test's task.
os.environ.setdefault("MOP_TEST_REDIS_DB", "14")


def admin_url() -> str:
    """A maintenance superuser: creates throwaway databases and roles, sees every session.

    Never the portal's role, which is no superuser (docs/security.md). MOP_TEST_ADMIN_URL
    if set, else the local cluster's ``postgres`` superuser (scripts/lib.sh keeps its
    password in var/pg/superuser.pw), else DATABASE_URL (a portal role that is still a
    superuser, as scripts made it before the portal's roles lost superuser).
    """
    if os.environ.get("MOP_TEST_ADMIN_URL"):
        return os.environ["MOP_TEST_ADMIN_URL"]
    var = Path(os.environ.get("MOP_VAR_DIR") or ROOT / "var")
    port = os.environ.get("MOP_PG_PORT", "55432")
    pw_file = var / "pg" / "superuser.pw"
    if (var / "pg" / "run" / f".s.PGSQL.{port}").exists() and pw_file.exists():
        password = urllib.parse.quote(pw_file.read_text().strip(), safe="")
        return f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    return os.environ["DATABASE_URL"]


def admin_conn() -> TargetConn:
    return TargetConn.from_url(admin_url().replace("postgres://", "postgresql://", 1))


@pytest.fixture(scope="session")
def pg_admin() -> TargetConn:
    return admin_conn()


@pytest.fixture
def make_database(pg_admin: TargetConn) -> Iterator[Callable[..., TargetConn]]:
    """Create throwaway databases (dropped at teardown) and return their TargetConn."""
    created: list[str] = []

    def _make(prefix: str = "t") -> TargetConn:
        name = f"mopt_{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(**pg_admin.connect_kwargs("mop-tests"), autocommit=True) as c:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return TargetConn(
            host=pg_admin.host, port=pg_admin.port, dbname=name, user=pg_admin.user,
            password=pg_admin.password, sslmode=pg_admin.sslmode,
        )

    yield _make
    with psycopg.connect(**pg_admin.connect_kwargs("mop-tests"), autocommit=True) as c:
        for name in created:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def target_db(make_database: Callable[..., TargetConn]) -> TargetConn:
    """One empty target database."""
    return make_database()
