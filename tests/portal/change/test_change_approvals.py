"""Four eyes on production: the policy holds the run, refusals are clear, approvals are bound to what was reviewed."""

from __future__ import annotations

import psycopg
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.change import services as change
from portal.change.gate import ChangeGate
from portal.change.models import Approval, ChangeRequest
from portal.ops import services
from portal.ops.models import AuditEvent, Run
from tests.factories import AlembicProjectFactory, UserFactory, target_for


@pytest.fixture
def approvers(db):
    return (UserFactory(username="anna", roles=["viewer", "approver"]),
            UserFactory(username="bert", roles=["viewer", "approver"]))


def _prod_run(make_database, dba, location=None):
    conn = make_database("chg")
    project = AlembicProjectFactory(name="billing", **({"location": str(location)} if location else {}))
    target = target_for(conn, project, name="billing-prod", environment="production")
    return services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                 confirm_name="billing-prod")


def test_it_holds_a_production_run_until_two_approvals_from_others(make_database, dba, approvers):
    run = _prod_run(make_database, dba)
    req = ChangeRequest.objects.get(run=run)
    assert run.status == Run.Status.AWAITING_APPROVAL
    # From base every table is new: low risk, so production's "every run needs one approval" applies.
    assert (req.risk_level, req.approvals_required) == ("low", 1)
    assert req.sql_hash == run.sql_hash and req.project_fingerprint == run.project_fingerprint
    change.decide(run, approvers[0], Approval.Decision.APPROVED, "looked at the SQL")
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED
    actions = list(AuditEvent.objects.filter(run=run).order_by("id").values_list("action", flat=True))
    assert actions == ["run.scheduled", "change.requested", "change.approved", "change.released"]


def test_it_refuses_self_approval_twice_and_a_viewer(make_database, dba, approvers, viewer):
    dba.groups.add(*approvers[0].groups.filter(name="approver"))
    run = _prod_run(make_database, dba)
    with pytest.raises(ValidationError, match="another approver must review it"):
        change.decide(run, dba, Approval.Decision.APPROVED, "mine")
    with pytest.raises(PermissionDenied):
        change.decide(run, viewer, Approval.Decision.APPROVED, "me too")
    with pytest.raises(ValidationError, match="comment is required"):
        change.decide(run, approvers[0], Approval.Decision.APPROVED, "  ")
    change.decide(run, approvers[0], Approval.Decision.REJECTED, "no backup yet")
    run.refresh_from_db()
    assert run.status == Run.Status.REJECTED and "no backup yet" in run.error
    with pytest.raises(ValidationError, match="not awaiting approval"):
        change.decide(run, approvers[1], Approval.Decision.APPROVED, "late")


def test_it_refuses_to_start_when_the_target_moved_after_approval(make_database, dba, approvers):
    run = _prod_run(make_database, dba)
    change.decide(run, approvers[0], Approval.Decision.APPROVED, "ok")
    req = ChangeRequest.objects.get(run=run)
    conn = run.target.conn()
    with psycopg.connect(**conn.connect_kwargs("someone-else"), autocommit=True) as c:  # the target moves
        c.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        c.execute("INSERT INTO alembic_version VALUES ('3f1c9a2b7d40')")
    assert ChangeGate().before_claim(run.pk) == "approval_invalidated"
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.error_code == "approval_invalidated"
    assert "the target's heads moved (approved at base, now at 3f1c9a2b7d40)" in run.error
    assert run.started_at is None
    assert Approval.objects.get(request=req).invalidated_reason.startswith("the target's heads moved")
    assert AuditEvent.objects.filter(run=run, action="change.invalidated").exists()


def test_it_expires_an_old_approval_and_audits_it(make_database, dba, approvers):
    from datetime import timedelta

    from django.utils.timezone import now

    from portal.change.models import Policy

    Policy.objects.filter(environment="production").update(approvals_required=2)
    run = _prod_run(make_database, dba)
    change.decide(run, approvers[0], Approval.Decision.APPROVED, "ok")
    later = now() + timedelta(days=2)  # the default validity is one day
    assert change.start_due_runs(later)["expired"] == 1
    assert change.valid_approvals(ChangeRequest.objects.get(run=run), later).count() == 0
    assert AuditEvent.objects.filter(run=run, action="change.approval_expired").exists()
    run.refresh_from_db()
    assert run.status == Run.Status.AWAITING_APPROVAL


def test_it_signs_webhooks_and_speaks_slack():
    import hashlib
    import hmac
    import json

    from portal.change import notify
    from portal.change.models import NotificationChannel

    body = notify.body_for(NotificationChannel(kind="slack"), {"run": 7, "operation": "upgrade", "revision": "head",
                                                               "target": "t", "environment": "production",
                                                               "event": "awaiting_approval", "error": ""})
    assert json.loads(body) == {"text": "Run #7 upgrade head on t (production): awaiting approval"}
    assert notify.sign("k", b"x") == "sha256=" + hmac.new(b"k", b"x", hashlib.sha256).hexdigest()
