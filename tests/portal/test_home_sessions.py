"""The Locks page's full session list and pg_locks by relation, read from real backends that really wait."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

from tests.portal.activity_helpers import (
    activity_url,
    app_role,
    chain,
    dba_client,
    lock_db,
    locks_target,
    viewer_client,
)


def test_it_lists_every_session_and_draws_the_waiting_ones_in_the_waiting_colour(dba_client, locks_target, chain):
    data = dba_client.get(f"/admin/ops/target/{locks_target.pk}/sessions/").json()
    assert data["ok"] is True and data["sessions"] >= 4
    html = data["html"]
    table = html.split('id="mop-all-sessions"', 1)[1].split("</table>", 1)[0]
    for backend in (chain.a, chain.b, chain.c, chain.d):
        assert f'data-pid="{backend.pid}"' in table
    a_row = table.split(f'data-pid="{chain.a.pid}"', 1)[1].split("</tr>", 1)[0]
    b_row = table.split(f'data-pid="{chain.b.pid}"', 1)[1].split("</tr>", 1)[0]
    assert a_row.startswith(' class=""') and "idle in transaction" in a_row and "billing-web" in a_row
    assert b_row.startswith(' class="mop-waiting"')
    assert "Lock: relation" in b_row and "mop-dur-ok" not in b_row  # a waiter is never drawn green
    # The query text is escaped.
    assert "<script>alert(" not in html and "&lt;script&gt;alert(" in html


def test_it_groups_pg_locks_by_relation_waiting_first(dba_client, locks_target, chain):
    html = dba_client.get(f"/admin/ops/target/{locks_target.pk}/sessions/").json()["html"]
    table = html.split('id="mop-locks-by-relation"', 1)[1].split("</table>", 1)[0]
    first = table.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert 'data-relation="t"' in first and 'data-granted="no"' in first
    waiting = [r for r in table.split("<tr")[1:] if 'data-granted="no"' in r]
    modes = " ".join(waiting)
    assert "AccessExclusiveLock" in modes and "AccessShareLock" in modes
    assert str(chain.b.pid) in modes and str(chain.c.pid) in modes and str(chain.d.pid) in modes


def test_the_locks_page_loads_it_and_a_viewer_may_read_it(dba_client, viewer_client, locks_target, chain):
    page = dba_client.get(activity_url(locks_target)).content.decode()
    assert f'data-url="/admin/ops/target/{locks_target.pk}/sessions/"' in page and "ops/sessions.js" in page
    assert viewer_client.get(f"/admin/ops/target/{locks_target.pk}/sessions/").status_code == 200


def test_an_unknown_target_is_a_404(dba_client):
    assert dba_client.get("/admin/ops/target/999999/sessions/").status_code == 404
