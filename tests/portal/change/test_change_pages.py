"""The Approvals page, the decide action over HTTP (403 on the request), the confirm page's risk, and invalidation
when a revision file is edited after approval."""

from __future__ import annotations

import shutil

import psycopg
import pytest
from django.urls import reverse

from portal.change import services as change
from portal.change.gate import ChangeGate
from portal.change.models import Approval, ChangeRequest
from portal.ops import services
from portal.ops.models import Run
from tests.factories import BILLING, AlembicProjectFactory, UserFactory, target_for
from tests.portal.admin_helpers import client_for


@pytest.fixture
def prod(db, make_database):
    conn = make_database("chgp")
    return target_for(conn, AlembicProjectFactory(name="billing"), name="billing-prod", environment="production")


def test_it_lists_waiting_runs_and_answers_a_viewers_approval_with_403(prod, dba, viewer):
    run = services.schedule_run(target=prod, operation="upgrade", revision="head", user=dba,
                                confirm_name="billing-prod")
    anna = UserFactory(username="anna", roles=["viewer", "approver"])
    page = client_for(anna).get(reverse("admin:change_changerequest_approvals"))
    assert page.status_code == 200
    assert f'data-run="{run.pk}"' in page.content.decode() and "Approve" in page.content.decode()
    url = reverse("admin:change_changerequest_decide", args=[run.pk])
    assert client_for(viewer).post(url, {"decision": "approved", "comment": "x"}).status_code == 403
    own = client_for(dba).post(url, {"decision": "approved", "comment": "mine"}, follow=True)
    assert "another approver must review it" in own.content.decode() or own.status_code == 403
    ok = client_for(anna).post(url, {"decision": "approved", "comment": "read it"}, follow=True)
    assert ok.status_code == 200
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED
    live = client_for(dba).get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert 'id="chg-risk"' in live and "anna approved" in live


def test_it_shows_the_live_risk_and_figures_on_the_confirm_page(prod, dba):
    conn = prod.conn()
    with psycopg.connect(**conn.connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        c.execute("INSERT INTO alembic_version VALUES ('1d5c8f4e7a92')")
        c.execute("CREATE TABLE token_pricing (id serial PRIMARY KEY)")
        c.execute("CREATE TABLE users (user_id varchar PRIMARY KEY, created_at timestamp NOT NULL)")
        c.execute("INSERT INTO users SELECT 'u' || g, now() FROM generate_series(1, 20000) g")
        c.execute("ANALYZE users")
    url = reverse("admin:ops_target_schedule", args=[prod.pk])
    page = client_for(dba).post(url, {"operation": "upgrade", "revision": "head"}).content.decode()
    assert 'id="chg-risk-level"' in page and 'id="chg-tables"' in page
    assert "public.users" in page and "20 k" in page
    assert 'name="start_mode"' in page


def test_it_refuses_to_start_when_a_revision_file_changed_after_approval(make_database, dba, tmp_path):
    scripts = tmp_path / "billing"
    shutil.copytree(BILLING, scripts)
    target = target_for(make_database("chgs"), AlembicProjectFactory(name="billing-copy", location=str(scripts)),
                        name="billing-prod", environment="production")
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                confirm_name="billing-prod")
    change.decide(run, UserFactory(username="anna", roles=["approver"]), Approval.Decision.APPROVED, "ok")
    edited = next((scripts / "versions").glob("*.py"))
    edited.write_text(edited.read_text() + "\n# edited after approval\n")
    assert ChangeGate().before_claim(run.pk) == "approval_invalidated"
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.started_at is None
    assert "the scripts changed (approved sha256:" in run.error
    assert ChangeRequest.objects.get(run=run).approvals.get().invalidated_at is not None
