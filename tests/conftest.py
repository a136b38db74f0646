"""Fixtures shared by engine and portal tests: real PostgreSQL, real Redis.

Services come from `scripts/services.sh` (the test command runs it first);
addresses come from `.env` / the environment, as the portal reads them.
"""

from __future__ import annotations

import os
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
    """The portal's DATABASE_URL: a role allowed to create databases."""
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
