"""Fixtures for the admin UI tests: logged-in clients, the billing example on a throwaway target.

Imported by ``tests/portal/test_admin_*.py`` and ``tests/portal/browser`` (each of
those files says ``# ruff: noqa: F811``: pytest fixtures are imported by name).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from migrations_ops.target import TargetConn
from portal.ops.models import AlembicProject, Target
from tests.factories import BILLING, AlembicProjectFactory, target_for

BILLING_HEAD = "6e7a2c9d4b38"
BILLING_MERGE = "f08b3a5d6e21"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# Personas (dba, operator, viewer, auditor) come from tests/portal/conftest.py.
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
    return AlembicProjectFactory(name="billing", location=str(BILLING))


@pytest.fixture
def make_target(make_database: Callable[..., TargetConn]) -> Callable[..., Target]:
    """Targets on throwaway databases, the password stored encrypted as the form would."""

    def _make(project: AlembicProject, name: str = "dev-billing", environment: str = "development") -> Target:
        return target_for(make_database("ui"), project, name=name, environment=environment)

    return _make


@pytest.fixture
def billing_target(make_target, billing_project: AlembicProject) -> Target:
    return make_target(billing_project)


def assert_no_password(body: bytes | str, password: str) -> None:
    text = body.decode() if isinstance(body, bytes) else body
    assert password and password not in text, "a target password appeared on a page"
