"""A plan whose SQL preview stopped: banner at the top of the confirm page, explicit acknowledgement,
refused on production, and ``ops upgrade --sql`` exits non-zero."""
# ruff: noqa: F811 - pytest fixtures are imported by name

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from portal.ops.models import AlembicProject, AuditEvent, Run
from tests.engine.alembic_factory import linear
from tests.portal.admin_helpers import dba_client, make_target  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_preview(tmp_path):
    f = linear(tmp_path / "p", 1)
    f.rev("r2", "r1", "uses a removed name", upgrade='op.add_column("t1", sa.Column("b", sa.Binary()))')
    return AlembicProject.objects.create(name="broken-preview", location=str(f.root))


def test_the_banner_comes_first_and_scheduling_needs_the_acknowledgement(dba_client, make_target, broken_preview):
    target = make_target(broken_preview, name="dev-broken")
    url = reverse("admin:ops_target_schedule", args=[target.pk])
    body = dba_client.post(url, {"operation": "upgrade", "revision": "head"}).content.decode()
    banner = body.index('id="mop-preview-stopped"')
    assert banner < body.index('id="mop-plan-summary"') < body.index('id="mop-sql"')
    assert "at revision <code>r2</code>" in body and "AttributeError" in body and "versions/r2_.py:" in body
    assert 'name="acknowledge_preview_failure"' in body
    form = {"operation": "upgrade", "revision": "head", "post": "yes", "expected_from": ""}
    refused = dba_client.post(url, form)
    assert "acknowledge that explicitly" in refused.content.decode()
    assert not Run.objects.exists()
    dba_client.post(url, {**form, "acknowledge_preview_failure": "on"})
    run = Run.objects.get()
    assert run.params["preview_failure_acknowledged"].startswith("AttributeError")
    scheduled = AuditEvent.objects.get(run=run, action="run.scheduled")
    assert scheduled.params["preview_failure_acknowledged"] == run.params["preview_failure_acknowledged"]


def test_production_refuses_an_incomplete_preview(dba_client, make_target, broken_preview):
    target = make_target(broken_preview, name="prod-broken", environment="production")
    url = reverse("admin:ops_target_schedule", args=[target.pk])
    response = dba_client.post(url, {"operation": "upgrade", "revision": "head", "post": "yes", "expected_from": "",
                                     "confirm_name": "prod-broken", "acknowledge_preview_failure": "on"})
    assert "Production targets only run fully previewed plans" in response.content.decode()
    assert not Run.objects.exists()


def test_ops_upgrade_sql_exits_non_zero_and_still_prints_the_sql(make_target, broken_preview):
    make_target(broken_preview, name="cli-broken")
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("ops", "upgrade", "cli-broken", "head", "--sql", stdout=out, stderr=io.StringIO())
    assert caught.value.returncode == 1 and "revision r2" in str(caught.value)
    assert "CREATE TABLE t1" in out.getvalue() and "-- SQL preview stopped" in out.getvalue()
