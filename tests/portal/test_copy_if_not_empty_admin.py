"""A copy into target tables that hold rows: the pre-flight page counts them and makes the mode a required choice;
truncate on a production target needs the name typed back. Nothing is scheduled until both are given."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from portal.ops import copying
from portal.ops.models import AuditEvent, Run
from tests.factories import target_for
from tests.portal.admin_helpers import billing_project, dba_client  # noqa: F401
from tests.portal.copy_helpers import import_dir, make_sqlite, pg_exec, rel  # noqa: F401


@pytest.fixture
def source(import_dir):
    return rel(make_sqlite(import_dir / "users.sqlite", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
                           {"users": [(1, "a"), (2, "b"), (3, "c")]}))


@pytest.fixture
def filled(make_database, billing_project):
    def _make(environment: str = "development"):
        conn = make_database("nonempty")
        pg_exec(conn, "CREATE TABLE users (id bigint PRIMARY KEY, email text); INSERT INTO users VALUES (1, 'a'), (9, 'z')")
        return target_for(conn, billing_project, name=f"users-{environment}", environment=environment)
    return _make


def test_it_makes_the_mode_a_required_choice_when_target_tables_hold_rows(dba_client, filled, source) -> None:
    target = filled()
    url = reverse("admin:ops_target_copy", args=[target.pk])
    body = dba_client.post(url, {"path": source, "text_policy": "reject", "if_not_empty": "refuse"}).content.decode()
    assert 'id="mop-if-not-empty"' in body and "<code>users</code>: 2" in body
    assert "public.users is not empty (2 rows)" in body
    assert 'class="num mop-target-rows"><span class="mop-badge mop-status-succeeded_rejects"' in body
    assert 'name="if_not_empty" value="truncate"' in body and 'value="refuse" checked' not in body
    confirm = {"post": "yes", "source": source, "text_policy": "reject", "non_empty_tables": "users (2 rows)"}
    resp = dba_client.post(url, confirm, follow=True)
    assert "choose refuse, truncate or append" in resp.content.decode() and Run.objects.count() == 0
    resp = dba_client.post(url, {**confirm, "if_not_empty": "append"})
    run = Run.objects.get()
    assert resp.status_code == 302 and run.params["options"]["if_not_empty"] == "append"


def test_it_needs_the_name_typed_back_to_truncate_a_production_target(db, dba, filled, source) -> None:
    prod = filled("production")
    for typed in (None, "users-dev"):
        with pytest.raises(ValidationError) as exc:
            copying.schedule_copy(target=prod, source=source, user=dba, options={"if_not_empty": "truncate"},
                                  confirm_name=typed)
        assert "if_not_empty=truncate empties the copied tables of the production target users-production" in str(exc.value)
    assert Run.objects.count() == 0 and not AuditEvent.objects.filter(operation="copy").exists()
    with pytest.raises(ValidationError, match="if_not_empty must be one of refuse, truncate, append"):
        copying.schedule_copy(target=prod, source=source, user=dba, options={"if_not_empty": "replace"},
                              confirm_name=prod.name)
    run = copying.schedule_copy(target=prod, source=source, user=dba, options={"if_not_empty": "truncate"},
                                confirm_name=prod.name)
    assert run.params["options"]["if_not_empty"] == "truncate" and run.params["confirmed"] is True
    assert AuditEvent.objects.get(run=run, action="run.scheduled").params["options"]["if_not_empty"] == "truncate"
    assert pg_exec(prod.conn(), "SELECT count(*) FROM users") == [(2,)]


def test_it_prints_target_row_counts_in_the_cli_preflight(db, filled, source) -> None:
    target = filled()
    out = io.StringIO()
    call_command("ops", "copy", target.name, "--sqlite", source, "--preflight-only", stdout=out)
    text = out.getvalue()
    assert "users                                 3 rows -> users (holds 2 rows)" in text
    assert "problem: target table public.users is not empty (2 rows)" in text
    out = io.StringIO()
    call_command("ops", "copy", target.name, "--sqlite", source, "--preflight-only", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["non_empty_tables"] == [["users", 2]] and data["tables"][0]["target_rows"] == 2
    assert Run.objects.count() == 0
