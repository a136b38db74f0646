"""Skipping a table, in the admin and the CLI, is an explicit, carried-through choice, listed with its rows."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from portal.ops.models import Run
from tests.portal.admin_helpers import billing_project, dba_client  # noqa: F401
from tests.portal.copy_helpers import fts_sqlite, fts_target, import_dir, rel  # noqa: F401


def test_it_carries_skip_tables_from_the_preflight_to_the_run(dba_client, fts_target, fts_sqlite) -> None:
    url = reverse("admin:ops_target_copy", args=[fts_target.pk])
    choice = {"pick": rel(fts_sqlite), "text_policy": "reject", "skip_tables": "docs_fts", "fts_contentful": "refuse"}
    body = dba_client.post(url, choice).content.decode()
    section = body.split('id="mop-preflight-skipped"', 1)[1].split("</table>", 1)[0]
    row = section.split('<tr data-table="docs_fts">', 1)[1].split("</tr>", 1)[0]
    assert "fts index (contentful)" in row and ">1<" in row and "NOT copied" in row
    assert "does not exist" not in body.split('id="mop-preflight-problems"', 1)[1].split("</div>", 1)[0]
    assert 'name="skip_tables" value="docs_fts"' in body and 'name="fts_contentful" value="refuse"' in body
    assert "CREATE VIRTUAL TABLE docs_fts" in body  # the definition, also in the .sql download link
    dba_client.post(url, {**choice, "source": rel(fts_sqlite), "post": "yes"})
    run = Run.objects.get(operation=Run.Operation.COPY)
    assert run.params["options"]["skip_tables"] == ["docs_fts"] and run.params["options"]["fts_contentful"] == "refuse"


def test_ops_copy_preflight_lists_a_skipped_table_and_refuses_an_unknown_one(fts_target, fts_sqlite) -> None:
    out = io.StringIO()
    call_command("ops", "copy", fts_target.name, "--sqlite", rel(fts_sqlite), "--preflight-only",
                 "--skip-table", "docs_fts", stdout=out)
    assert "not copied: fts index (contentful) docs_fts (1 rows): skipped at your request" in out.getvalue()
    with pytest.raises(CommandError) as exc:
        call_command("ops", "copy", fts_target.name, "--sqlite", rel(fts_sqlite), "--preflight-only",
                     "--skip-table", "nope", stdout=io.StringIO(), stderr=io.StringIO())
    assert exc.value.returncode == 2 and "source table 'nope' does not exist" in str(exc.value)
