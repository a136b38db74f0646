"""In real Chromium: the activity page of a target with a real lock chain, and terminating its root."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest

from portal.ops.models import AuditEvent
from tests.engine.locks.conftest import activity_of
from tests.portal.activity_helpers import app_role, chain, chain_cleared, lock_db, locks_target
from tests.portal.admin_helpers import assert_no_password

pytestmark = [pytest.mark.browser]


def test_it_shows_the_blocking_tree_and_terminates_the_root(
    live_server, page, login, artifacts, dba, locks_target, chain
):
    password = locks_target.conn().password

    def shot(name: str) -> None:
        assert_no_password(page.content(), password)
        page.screenshot(path=str(artifacts / f"browser-activity-{name}.png"), full_page=True)

    login(dba)

    page.goto(f"{live_server.url}/admin/ops/target/{locks_target.pk}/activity/?every=2")
    page.wait_for_selector("#mop-tree")
    rows = page.locator("#mop-tree tbody tr")
    assert rows.count() == 4
    assert rows.first.get_attribute("data-pid") == str(chain.a.pid)
    assert rows.first.locator(".mop-blocks").inner_text().replace(" ", "") == "1/3"
    assert page.locator(f'#mop-tree-svg svg g.node[data-pid="{chain.a.pid}"]').count() == 1
    assert page.locator("#mop-tree-svg svg g.node").count() == 4
    # The query text is shown as text: the <script> in it never ran nor became an element.
    assert page.locator("#mop-activity script").count() == 0
    assert "<script>alert('pwned')</script>" in page.locator(f'#mop-tree tr[data-pid="{chain.a.pid}"]').inner_text()
    page.wait_for_function("() => document.getElementById('mop-refresh-state').textContent.startsWith('updated')")
    shot("1-chain")

    page.click(f'#mop-tree input[data-action="terminate"][data-pid="{chain.a.pid}"]')
    page.wait_for_selector("#mop-backend-confirm")
    assert "mopt_app" in page.inner_text("#mop-backend-row")
    page.fill("#id_reason", "idle in transaction, blocks the migration")
    shot("2-confirm")
    page.click("#mop-backend-confirm input[type=submit]")

    page.wait_for_selector("ul.messagelist")
    assert "the blocking cleared" in page.inner_text("ul.messagelist")
    chain_cleared(chain)
    assert activity_of(locks_target.conn(), chain.a.pid) is None
    page.wait_for_selector("text=No session is blocked.")
    shot("3-cleared")
    event = AuditEvent.objects.get(action="backend.terminated")
    assert event.params["cleared"] is True and event.actor == dba.username
