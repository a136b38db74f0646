"""The pre-flight page: FTS5 tables and what is not copied, orphans, profiles, NULLs; nothing written, nothing scheduled."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import re

from django.urls import reverse

from portal.ops.models import Run
from tests.portal.admin_helpers import assert_no_password, billing_project, dba_client, target_password  # noqa: F401
from tests.portal.copy_helpers import fts_sqlite, fts_target, import_dir, pg_exec, rel  # noqa: F401


def _row(body: str, table_id: str, name: str) -> str:
    section = body.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    match = re.search(rf'<tr data-table="{re.escape(name)}">(.*?)</tr>', section, re.S)
    assert match, f"no row {name} in {table_id}"
    return match.group(1)


def test_it_shows_skipped_fts5_tables_and_orphans(dba_client, fts_target, fts_sqlite, target_password) -> None:
    url = reverse("admin:ops_target_copy", args=[fts_target.pk])
    assert rel(fts_sqlite) in dba_client.get(url).content.decode()  # offered in the pick list
    resp = dba_client.post(url, {"pick": rel(fts_sqlite), "text_policy": "reject"})
    assert resp.status_code == 200
    body = resp.content.decode()
    assert 'id="mop-copy-confirm-form"' in body
    # docs_fts holds its own rows (no content=): copied into a table with a tsvector, its storage listed as not copied
    assert "tsvector" in _row(body, "mop-preflight-tables", "docs_fts")
    for shadow in ("docs_fts_data", "docs_fts_idx", "docs_fts_config"):
        assert "shadow table" in _row(body, "mop-preflight-skipped", shadow)
    orphans = _row(body, "mop-preflight-orphans", "child")
    assert "<code>parent</code>" in orphans and ">1<" in orphans.replace(" ", "")
    assert ">3<" in _row(body, "mop-preflight-tables", "child").replace(" ", "")
    assert "ok" in body.split('id="mop-integrity"', 1)[1][:200]
    assert "storage class" in body.lower()
    assert_no_password(body, target_password)
    assert Run.objects.count() == 0
    assert pg_exec(fts_target.conn(), "SELECT count(*) FROM pg_namespace WHERE nspname = 'mop'")[0][0] == 0
