"""The schedule flow in the admin: form, confirm page with plan and SQL, post=yes; errors schedule nothing."""
# ruff: noqa: F811 - pytest fixtures are imported by name

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from portal.ops.models import AlembicProject, AuditEvent, Run
from tests.portal.admin_helpers import (  # noqa: F401 - fixtures
    BILLING_HEAD,
    assert_no_password,
    billing_project,
    billing_target,
    dba_client,
    make_target,
    target_password,
    two_heads_project,
    viewer_client,
)

pytestmark = pytest.mark.django_db


def schedule_url(target) -> str:
    return reverse("admin:ops_target_schedule", args=[target.pk])


def test_it_previews_the_plan_and_sql_before_scheduling(dba_client, billing_target, target_password):
    response = dba_client.post(schedule_url(billing_target), {"operation": "upgrade", "revision": "head"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="mop-plan-steps"' in body and BILLING_HEAD in body
    plan = response.context["plan"]
    assert plan.from_heads == () and plan.to_heads == (BILLING_HEAD,)
    assert "CREATE TABLE users" in plan.sql and plan.sql.splitlines()[0] in body
    assert plan.sql_hash == hashlib.sha256(plan.sql.encode()).hexdigest() and plan.sql_hash in body
    assert 'name="confirm_name"' not in body  # an upgrade of a development target needs no typed name
    assert_no_password(body, target_password)
    assert not Run.objects.exists()


def test_it_schedules_on_post_yes_and_redirects_to_the_run_page(dba_client, billing_target):
    response = dba_client.post(schedule_url(billing_target), {
        "operation": "upgrade", "revision": "head", "post": "yes", "expected_from": "",
        "lock_timeout_ms": "2000",
    })
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:ops_run_change", args=[run.pk])
    assert (run.status, run.operation, run.revision, run.actor) == ("queued", "upgrade", "head", "dba")
    assert run.params["lock_timeout_ms"] == 2000 and run.to_heads == [BILLING_HEAD]
    assert AuditEvent.objects.filter(action="run.scheduled", run=run).exists()


def test_it_asks_for_the_name_on_production_and_refuses_a_wrong_one(dba_client, make_target, billing_project):
    prod = make_target(billing_project, name="prod-billing", environment="production")
    confirm = dba_client.post(schedule_url(prod), {"operation": "upgrade", "revision": "head"}).content.decode()
    assert 'name="confirm_name"' in confirm
    response = dba_client.post(schedule_url(prod), {
        "operation": "upgrade", "revision": "head", "post": "yes", "expected_from": "", "confirm_name": "prod",
    })
    assert response.status_code == 200
    assert "does not match" in response.content.decode()
    assert not Run.objects.exists()
    dba_client.post(schedule_url(prod), {
        "operation": "upgrade", "revision": "head", "post": "yes", "expected_from": "",
        "confirm_name": "prod-billing",
    })
    assert Run.objects.get().target == prod


def test_it_refuses_when_the_target_moved_since_the_preview(dba_client, billing_target):
    response = dba_client.post(schedule_url(billing_target), {
        "operation": "upgrade", "revision": "head", "post": "yes", "expected_from": "3f1c9a2b7d40",
    })
    assert "moved since the plan was previewed" in response.content.decode()
    assert not Run.objects.exists()


@pytest.mark.parametrize(("revision", "words"), [
    ("nosuchrev", "Can't locate revision"),
    ("-1", ""),  # nothing to go down from on an empty target
])
def test_it_shows_a_bad_revision_on_the_form_and_schedules_nothing(dba_client, billing_target, revision, words):
    response = dba_client.post(schedule_url(billing_target), {"operation": "downgrade" if revision == "-1" else
                                                              "upgrade", "revision": revision})
    assert response.status_code == 200
    assert response.templates[0].name == "admin/ops/target/schedule.html"
    errors = [str(m) for m in response.context["messages"]]
    assert errors and words in errors[0]
    assert not Run.objects.exists()


def test_it_explains_multiple_heads_when_head_is_asked(dba_client, make_target, tmp_path):
    project = AlembicProject.objects.create(name="twoheads", location=str(two_heads_project(tmp_path)))
    target = make_target(project, name="forked")
    response = dba_client.post(schedule_url(target), {"operation": "upgrade", "revision": "head"})
    body = response.content.decode()
    assert "Multiple head revisions are present" in body
    assert "add a merge revision" in body  # the plain explanation
    assert not Run.objects.exists()


def test_it_explains_a_wrong_password(dba_client, billing_target):
    billing_target.set_password("not-the-password")
    billing_target.save()
    response = dba_client.post(schedule_url(billing_target), {"operation": "upgrade", "revision": "head"})
    body = response.content.decode()
    assert "Password authentication failed" in body and "not-the-password" not in body
    assert not Run.objects.exists()


def test_it_explains_an_unreachable_target(dba_client, billing_target):
    billing_target.port = 1
    billing_target.save()
    response = dba_client.post(schedule_url(billing_target), {"operation": "upgrade", "revision": "head"})
    assert "Cannot connect to" in response.content.decode()
    assert not Run.objects.exists()


def test_it_offers_known_revisions_in_a_datalist(dba_client, billing_target):
    body = dba_client.get(schedule_url(billing_target), {"operation": "downgrade"}).content.decode()
    assert '<datalist id="known-revisions">' in body
    for value in ("head", "heads", "base", "+1", "-1", BILLING_HEAD):
        assert f'<option value="{value}">' in body
