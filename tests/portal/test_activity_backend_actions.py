"""Cancel / terminate from the activity page: confirm first, then act on pid *and* backend_start, audited."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from portal.ops import diagnostics
from portal.ops.models import AuditEvent
from tests.engine.locks.conftest import activity_of
from tests.portal.activity_helpers import (
    app_role,
    backend_url,
    chain,
    chain_cleared,
    dba_client,
    lock_db,
    locks_target,
    viewer_client,
)


def _post(client: Client, target, action: str, backend, follow: bool = False, **extra):
    data = {"pid": backend.pid, "backend_start": backend.backend_start.isoformat(), **extra}
    return client.post(backend_url(target, action), data, follow=follow)


def test_it_terminates_the_root_after_confirmation_and_the_chain_clears(
    dba_client: Client, locks_target, chain
) -> None:
    first = _post(dba_client, locks_target, "terminate", chain.a)
    assert first.status_code == 200
    body = first.content.decode()
    assert 'id="mop-backend-confirm"' in body
    assert f"Yes, terminate backend {chain.a.pid}" in body
    assert "<th>usename</th><td><code>mopt_app</code>" in body  # the full pg_stat_activity row
    assert "&lt;script&gt;" in body and "<script>alert(" not in body
    assert activity_of(locks_target.conn(), chain.a.pid) is not None  # nothing done yet
    assert not AuditEvent.objects.filter(action="backend.terminated").exists()

    second = _post(dba_client, locks_target, "terminate", chain.a, post="yes", reason="idle in tx for ages")
    assert second.status_code == 302
    chain_cleared(chain)
    assert activity_of(locks_target.conn(), chain.a.pid) is None
    event = AuditEvent.objects.get(action="backend.terminated")
    assert event.actor == "dba" and event.target_id == locks_target.pk and event.outcome == "succeeded"
    assert event.params["reason"] == "idle in tx for ages"
    assert event.params["cleared"] is True
    assert event.params["pid"] == chain.a.pid
    assert sorted(event.params["blocked_before"]) == sorted([chain.b.pid, chain.c.pid, chain.d.pid])
    victim = event.params["victim"]
    assert victim["pid"] == chain.a.pid and victim["usename"] == "mopt_app"
    assert victim["state"] == "idle in transaction" and "UPDATE t SET" in victim["query"]
    page = dba_client.get(second["Location"]).content.decode()
    assert "the blocking cleared" in page


def test_it_requires_a_reason(dba_client: Client, locks_target, chain) -> None:
    response = _post(dba_client, locks_target, "terminate", chain.a, post="yes", reason="  ")
    assert response.status_code == 200
    assert 'id="mop-backend-confirm"' in response.content.decode()
    assert activity_of(locks_target.conn(), chain.a.pid) is not None


@pytest.mark.parametrize("action", ["cancel", "terminate"])
def test_it_gives_403_to_a_viewer_even_on_a_crafted_post(
    viewer_client: Client, locks_target, chain, action: str
) -> None:
    for extra in ({}, {"post": "yes", "reason": "crafted"}):
        assert _post(viewer_client, locks_target, action, chain.a, **extra).status_code == 403
    assert activity_of(locks_target.conn(), chain.a.pid) is not None
    assert not AuditEvent.objects.filter(action__startswith="backend.").exists()


def test_it_does_nothing_to_a_reused_pid_and_says_so(dba_client: Client, locks_target, chain) -> None:
    stale = (chain.a.backend_start - dt.timedelta(seconds=1)).isoformat()
    for extra in ({}, {"post": "yes", "reason": "stale page"}):
        response = dba_client.post(
            backend_url(locks_target, "terminate"),
            {"pid": chain.a.pid, "backend_start": stale, **extra}, follow=True,
        )
        body = response.content.decode()
        assert "Nothing was done" in body or "nothing was done" in body, body[-2000:]
    assert activity_of(locks_target.conn(), chain.a.pid) is not None
    event = AuditEvent.objects.get(action="backend.terminate_refused")
    assert event.outcome == "refused" and event.params["refusal"]["code"] == "backend_reused"


def test_it_refuses_the_portals_own_backend_with_a_clear_message(dba_client: Client, locks_target, chain) -> None:
    response = _post(dba_client, locks_target, "cancel", chain.b, post="yes", reason="try", follow=True)
    body = response.content.decode()
    assert "Refused to signal backend" in body and "portal" in body
    assert chain.b.done.is_set() is False  # still waiting on its lock: nothing was cancelled


def test_it_cancels_a_waiting_query(dba_client: Client, locks_target, chain) -> None:
    response = _post(dba_client, locks_target, "cancel", chain.c, post="yes", reason="reporting query can wait")
    assert response.status_code == 302
    assert chain.c.done.wait(10) and chain.c.error is not None  # its SELECT was cancelled
    event = AuditEvent.objects.get(action="backend.cancelled")
    assert event.params["victim"]["pid"] == chain.c.pid


def test_the_service_refuses_a_user_without_the_permission(viewer, locks_target, chain) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        diagnostics.signal_backend(locks_target, "terminate", pid=chain.a.pid,
                                   backend_start=chain.a.backend_start, reason="x", user=viewer)
    assert activity_of(locks_target.conn(), chain.a.pid) is not None


@pytest.mark.parametrize("next_url", ["head; DROP TABLE ops_run", "//evil.example/", "https://evil.example/x"])
def test_it_ignores_a_next_that_is_not_a_path_of_this_site(dba_client: Client, locks_target, next_url) -> None:
    response = dba_client.post(backend_url(locks_target, "cancel"), {"pid": "x", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == f"/admin/ops/target/{locks_target.pk}/activity/"
