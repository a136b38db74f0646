"""Fixtures for the admin UI tests: personas by role, the billing example on a throwaway target.

Imported by ``tests/portal/test_admin_*.py`` and ``tests/browser``; roles are
the groups that migration 0003 creates (viewer, operator, admin).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from migrations_ops.target import TargetConn
from portal.ops.models import AlembicProject, Target

ROOT = Path(__file__).resolve().parents[2]
BILLING = ROOT / "examples" / "billing"
BILLING_HEAD = "6e7a2c9d4b38"
BILLING_MERGE = "f08b3a5d6e21"
PASSWORD = "pw-for-tests-0"


def make_user(role: str, username: str | None = None) -> User:
    """A staff user in the role's group (no superuser shortcut: permissions come from the role)."""
    user = User.objects.create_user(username=username or role, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dba(db) -> User:
    return make_user("admin", "dba")


@pytest.fixture
def viewer(db) -> User:
    return make_user("viewer", "vera")


@pytest.fixture
def dba_client(dba: User) -> Client:
    return client_for(dba)


@pytest.fixture
def viewer_client(viewer: User) -> Client:
    return client_for(viewer)


def write_revision(versions: Path, rev: str, down: object, message: str, body: str = "pass") -> None:
    """A tiny revision file, as `alembic revision` would write it."""
    versions.joinpath(f"{rev}_{message.replace(' ', '_')}.py").write_text(
        f'"""{message}\n\nRevision ID: {rev}\nCreate Date: 2025-01-02 03:04:05\n"""\n'
        "from alembic import op\n\n"
        f"revision = {rev!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n    {body}\n\n\ndef downgrade():\n    pass\n"
    )


def two_heads_project(tmp_path: Path) -> Path:
    """A project whose history forks into two heads with no merge."""
    root = tmp_path / "twoheads"
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text("")
    write_revision(root / "versions", "aaa111", None, "create things", "op.execute('CREATE TABLE t (id int)')")
    write_revision(root / "versions", "bbb222", "aaa111", "left side")
    write_revision(root / "versions", "ccc333", "aaa111", "right side")
    return root


@pytest.fixture
def target_password(pg_admin: TargetConn) -> str:
    """The throwaway targets' password: it must never appear on a page."""
    return pg_admin.password


@pytest.fixture
def billing_project(db) -> AlembicProject:
    return AlembicProject.objects.create(name="billing", location=str(BILLING))


@pytest.fixture
def target_conn(make_database: Callable[..., TargetConn]) -> TargetConn:
    return make_database("ui")


@pytest.fixture
def make_target(make_database: Callable[..., TargetConn]) -> Callable[..., Target]:
    """Targets on throwaway databases, the password stored encrypted as the form would."""

    def _make(project: AlembicProject, name: str = "dev-billing", environment: str = "development",
              conn: TargetConn | None = None) -> Target:
        conn = conn or make_database("ui")
        target = Target(
            name=name, environment=environment, project=project, host=conn.host, port=conn.port,
            dbname=conn.dbname, user=conn.user, sslmode=conn.sslmode,
        )
        target.set_password(conn.password)
        target.save()
        return target

    return _make


@pytest.fixture
def billing_target(make_target, billing_project: AlembicProject) -> Target:
    return make_target(billing_project)


def assert_no_password(body: bytes | str, password: str) -> None:
    text = body.decode() if isinstance(body, bytes) else body
    assert password and password not in text, "a target password appeared on a page"
