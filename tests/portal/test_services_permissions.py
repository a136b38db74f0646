"""Each service checks the caller's permission before touching anything."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from portal.ops import services
from portal.ops.models import AuditEvent, Run, Target
from tests.factories import RunFactory, TargetFactory

pytestmark = pytest.mark.django_db


def test_it_refuses_a_viewer_scheduling_a_run(viewer):
    target = TargetFactory()
    with pytest.raises(PermissionDenied, match="ops.schedule_run"):
        services.schedule_run(target=target, operation="upgrade", revision="head", user=viewer)
    assert not Run.objects.exists() and not AuditEvent.objects.filter(action="run.scheduled").exists()


def test_it_refuses_a_viewer_cancelling_a_run(viewer):
    run = RunFactory(target=TargetFactory())
    with pytest.raises(PermissionDenied, match="ops.cancel_run"):
        services.cancel_run(run, user=viewer)
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED and run.cancel_requested_at is None


def test_it_refuses_an_operator_managing_targets(operator):
    target = TargetFactory.build(project=TargetFactory().project, name="new-one")
    with pytest.raises(PermissionDenied, match="ops.add_target"):
        services.save_target(target, user=operator, password="pw", created=True)
    assert not Target.objects.filter(name="new-one").exists()


def test_it_lets_an_operator_cancel_a_queued_run_at_once(operator):
    run = RunFactory(target=TargetFactory())
    services.cancel_run(run, user=operator)
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.finished_at and run.cancel_requested_by == "olga"
    event = AuditEvent.objects.get(run=run, action="run.cancel_requested")
    assert (event.actor, event.outcome) == ("olga", "cancelled")


def test_it_gives_each_role_its_permissions(viewer, operator, dba, auditor):
    assert viewer.has_perm("ops.view_run") and not viewer.has_perm("ops.schedule_run")
    assert operator.has_perm("ops.schedule_run") and operator.has_perm("ops.cancel_run")
    assert not operator.has_perm("ops.change_target")
    assert dba.has_perm("ops.add_target") and dba.has_perm("ops.terminate_backend")
    assert dba.has_perm("ops.verify_audit_chain")
    assert auditor.has_perm("ops.export_audit") and not auditor.has_perm("ops.schedule_run")
