"""The activity page shows a real blocking chain: root first with its counts, escaped query, the picture."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import re

from django.test import Client

from tests.portal.activity_helpers import (
    activity_url,
    app_role,
    chain,
    dba_client,
    lock_db,
    locks_target,
    viewer_client,
)


def _rows(body: str) -> list[tuple[int, int]]:
    """(pid, depth) of each row of the blocking-tree table, in order."""
    table = body.split('id="mop-tree"', 1)[1].split("</table>", 1)[0]
    return [(int(p), int(d)) for p, d in re.findall(r'data-pid="(\d+)" data-depth="(\d+)"', table)]


def test_it_shows_the_root_blocker_first_with_its_counts(dba_client: Client, locks_target, chain) -> None:
    response = dba_client.get(activity_url(locks_target))
    assert response.status_code == 200
    body = response.content.decode()
    rows = _rows(body)
    assert rows[0] == (chain.a.pid, 0)
    assert {p for p, _ in rows} == {chain.a.pid, chain.b.pid, chain.c.pid, chain.d.pid}
    root_row = body.split(f'data-pid="{chain.a.pid}" data-depth="0"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="mop-blocks-direct">1</span> / <span class="mop-blocks-all">3</span>' in root_row
    assert "idle in transaction" in root_row
    assert "Blocking tree: 1 root blocker, 3 sessions blocked" in body
    b_row = body.split(f'data-pid="{chain.b.pid}"', 1)[1].split("</tr>", 1)[0]
    assert "<code>AccessExclusiveLock</code>" in b_row
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="mop-blocking-tree"' in body
    assert f'data-pid="{chain.a.pid}"' in body.split('id="mop-tree-svg"', 1)[1]
    assert 'data-k="blocked">3<' in body
    assert 'data-k="idle_in_transaction">1<' in body
    # The idle-in-transaction list names A too.
    assert f'data-pid="{chain.a.pid}"' in body.split('id="mop-idle-in-tx"', 1)[1].split("</table>", 1)[0]


def test_it_shows_query_text_escaped(dba_client: Client, locks_target, chain) -> None:
    body = dba_client.get(activity_url(locks_target)).content.decode()
    assert "<script>alert(" not in body
    assert "&lt;script&gt;alert(" in body


def test_it_shows_the_buttons_only_to_those_who_may_act(
    dba_client: Client, viewer_client: Client, locks_target, chain
) -> None:
    dba_body = dba_client.get(activity_url(locks_target)).content.decode()
    assert f'data-action="terminate" data-pid="{chain.a.pid}"' in dba_body
    assert f'data-action="cancel" data-pid="{chain.a.pid}"' in dba_body
    # The portal's own backend (B, mop:run:42) gets no button: its run is cancelled from its page.
    assert f'data-action="terminate" data-pid="{chain.b.pid}"' not in dba_body
    viewer = viewer_client.get(activity_url(locks_target))
    assert viewer.status_code == 200
    assert 'data-action="terminate"' not in viewer.content.decode()
    assert "Take snapshot" not in viewer.content.decode()


def test_it_refreshes_through_the_live_endpoint(dba_client: Client, locks_target, chain) -> None:
    data = dba_client.get(activity_url(locks_target) + "live/").json()
    assert data["ok"] and data["blocked"] == 3
    assert data["roots"][0] == {"pid": chain.a.pid, "blocks_directly": 1, "blocks_transitively": 3}
    assert 'id="mop-tree"' in data["html"] and "&lt;script&gt;" in data["html"]


def test_it_says_when_nobody_is_blocked(dba_client: Client, locks_target) -> None:
    body = dba_client.get(activity_url(locks_target)).content.decode()
    assert "No session is blocked." in body


def test_it_refuses_a_user_without_view_permission(client: Client, locks_target, django_user_model) -> None:
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))
    assert client.get(activity_url(locks_target)).status_code == 403
