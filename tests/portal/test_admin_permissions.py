"""Permissions are checked on the request itself: a crafted POST without the permission gets 403."""
# ruff: noqa: F811 - pytest fixtures are imported by name

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.ops.models import AuditEvent, Run, Target
from tests.factories import RunFactory
from tests.portal.admin_helpers import (  # noqa: F401 - fixtures
    billing_project,
    billing_target,
    client_for,
    dba_client,
    make_target,
    viewer_client,
)

pytestmark = pytest.mark.django_db


def test_it_refuses_a_viewer_posting_the_schedule_confirm(viewer_client, billing_target):
    url = reverse("admin:ops_target_schedule", args=[billing_target.pk])
    for data in ({"operation": "upgrade", "revision": "head"},
                 {"operation": "upgrade", "revision": "head", "post": "yes", "expected_from": ""}):
        assert viewer_client.post(url, data).status_code == 403
    assert not Run.objects.exists()
    assert not AuditEvent.objects.filter(action="run.scheduled").exists()


def test_it_refuses_a_viewer_posting_cancel(viewer_client, billing_target):
    run = RunFactory(target=billing_target)
    response = viewer_client.post(reverse("admin:ops_run_cancel", args=[run.pk]), {"post": "yes"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED and run.cancel_requested_at is None


def test_it_lets_an_operator_cancel_a_queued_run(billing_target, operator):
    operator = client_for(operator)
    run = RunFactory(target=billing_target)
    page = operator.get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert "Cancel run" in page
    assert operator.get(reverse("admin:ops_run_cancel", args=[run.pk])).status_code == 405
    response = operator.post(reverse("admin:ops_run_cancel", args=[run.pk]), {"post": "yes"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.cancel_requested_by == "olga"


def test_it_refuses_a_viewer_the_audit_chain_check_and_exports(viewer_client):
    assert viewer_client.post(reverse("admin:ops_auditevent_verify_chain")).status_code == 403
    page = viewer_client.get(reverse("admin:ops_auditevent_changelist")).content.decode()
    assert "Verify chain" not in page and "export_selected" not in page


def test_it_refuses_a_viewer_changing_a_target(viewer_client, billing_target):
    url = reverse("admin:ops_target_change", args=[billing_target.pk])
    page = viewer_client.get(url).content.decode()
    assert 'name="password"' not in page  # read-only view for a viewer
    viewer_client.post(url, {"name": "renamed", "host": "elsewhere"})
    billing_target.refresh_from_db()
    assert billing_target.name == "dev-billing"
    assert viewer_client.post(reverse("admin:ops_target_add"), {"name": "x"}).status_code == 403
    assert Target.objects.count() == 1
