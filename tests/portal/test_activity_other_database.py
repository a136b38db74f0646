"""From target A's Locks page, a session of another database on the same server cannot be touched."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest
from django.test import Client

from portal.ops.models import AuditEvent
from tests.engine.locks.conftest import activity_of
from tests.engine.locks.test_locks_other_database import other_backend
from tests.portal.activity_helpers import app_role, backend_url, dba_client, lock_db, locks_target


@pytest.mark.parametrize("action", ["cancel", "terminate"])
def test_it_refuses_a_pid_of_another_database_and_audits_it(
    dba_client: Client, locks_target, other_backend, action: str
) -> None:
    data = {"pid": other_backend.pid, "backend_start": other_backend.backend_start.isoformat(),
            "post": "yes", "reason": "crafted from A's page"}
    response = dba_client.post(backend_url(locks_target, action), data, follow=True)

    body = response.content.decode()
    assert response.status_code == 200
    assert "not to this target&#x27;s database" in body or "not to this target's database" in body, body[-3000:]
    assert activity_of(locks_target.conn(), other_backend.pid) is not None
    event = AuditEvent.objects.get(action=f"backend.{action}_refused")
    assert event.outcome == "refused" and event.target_id == locks_target.pk
    assert event.params["refusal"]["code"] == "backend_elsewhere"
    assert event.params["pid"] == other_backend.pid
    assert not AuditEvent.objects.filter(action__in=["backend.cancelled", "backend.terminated"]).exists()
