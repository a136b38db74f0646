"""Fixtures of the activity/locks portal tests: the engine's real lock chain, registered as a Target.

Imported by ``tests/portal/test_activity_*.py`` and ``tests/portal/browser/test_activity_browser.py``
(``# ruff: noqa: F811``: pytest fixtures are imported by name).
"""

# ruff: noqa: F401, F811 - fixtures re-exported and used by name
from __future__ import annotations

import pytest

from portal.ops.models import Target
from tests.engine.locks.conftest import A_QUERY, Chain, LockDB, app_role, chain, is_waiting, lock_db
from tests.factories import target_for
from tests.portal.admin_helpers import client_for, dba_client, viewer_client


@pytest.fixture
def locks_target(db, lock_db: LockDB) -> Target:
    """The lock test database as a registered target (the portal connects as the superuser)."""
    return target_for(lock_db.diag, name="locks-target")


def activity_url(target: Target) -> str:
    return f"/admin/ops/target/{target.pk}/activity/"


def backend_url(target: Target, action: str) -> str:
    return f"/admin/ops/target/{target.pk}/backend/{action}/"


def chain_cleared(chain: Chain) -> None:
    """B's ALTER, then C's and D's SELECTs, got their locks and finished."""
    for b in (chain.b, chain.c, chain.d):
        assert b.done.wait(10), f"{b.name} still waiting"
        assert b.error is None, b.error
