"""An upgrade of a target already at head is not scheduled: the confirm page, the service and the CLI say so."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from migrations_ops.schema.project import ProjectSource
from migrations_ops.schema.runner import run_plan
from portal.ops import services
from portal.ops.models import AuditEvent, Run
from tests.factories import BILLING, AlembicProjectFactory, target_for
from tests.portal.admin_helpers import BILLING_HEAD, dba_client


@pytest.fixture
def at_head(db, make_database):
    conn = make_database("athead")
    run_plan(conn, ProjectSource(str(BILLING)), "upgrade", "head", run_id="test-setup")
    return target_for(conn, AlembicProjectFactory(name="billing", location=str(BILLING)), name="billing-at-head")


def test_it_says_already_at_head_on_the_confirm_page_and_offers_no_button(dba_client, at_head):
    url = f"/admin/ops/target/{at_head.pk}/schedule/"
    body = dba_client.post(url, {"operation": "upgrade", "revision": "head"}).content.decode()
    assert "billing-at-head is already at head, nothing to do." in body
    assert 'id="mop-confirm-form"' not in body
    # Nothing to review either: no empty plan, no empty SQL box with the hash of nothing.
    assert 'id="mop-plan-steps"' not in body and 'id="mop-sql"' not in body and 'id="mop-sql-hash"' not in body
    # A crafted confirm POST makes no run either, and says why.
    response = dba_client.post(url, {"operation": "upgrade", "revision": "head", "post": "yes",
                                     "expected_from": BILLING_HEAD}, follow=True)
    assert "already at head" in response.content.decode() and "no run was scheduled" in response.content.decode()
    assert not Run.objects.filter(target=at_head).exists()
    assert not AuditEvent.objects.filter(action="run.scheduled").exists()


def test_it_refuses_in_the_service_with_its_own_code(dba, at_head):
    with pytest.raises(ValidationError) as info:
        services.schedule_run(target=at_head, operation="upgrade", revision="head", user=dba)
    assert info.value.code == "nothing_to_do"
    assert BILLING_HEAD in info.value.message


def test_it_exits_0_from_the_cli_without_a_run(dba, at_head):
    out = io.StringIO()
    call_command("ops", "--user", dba.username, "upgrade", at_head.name, "head", stdout=out, stderr=io.StringIO())
    assert f"billing-at-head is already at head ({BILLING_HEAD}), nothing to do" in out.getvalue()
    out = io.StringIO()
    call_command("ops", "--user", dba.username, "upgrade", at_head.name, "head", "--json", "--wait",
                 stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue())["nothing_to_do"] is True
    assert not Run.objects.filter(target=at_head).exists()
