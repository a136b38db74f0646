"""Recurring jobs from the admin's periodic tasks: a verification run and a lock snapshot, run by a real worker."""

from __future__ import annotations

import pytest

from portal.change.recurring import recurring_lock_snapshot, recurring_verify
from portal.ops.models import AuditEvent, LockSnapshot, Run
from tests.factories import AlembicProjectFactory, RunFactory, target_for
from tests.polling import wait_for
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker


def test_it_runs_a_scheduled_verification_and_snapshot_like_any_other_run(
    transactional_db, celery_worker_proc, make_database
):
    target = target_for(make_database("chgrec"), AlembicProjectFactory(name="billing"), name="billing-stg",
                        environment="staging")
    recurring_verify.delay(target="billing-stg")
    run = wait_for(lambda: Run.objects.filter(target=target, operation="verify").first(), 30, what="verify run")
    run = wait_run_finished(run)
    assert run.actor.startswith("schedule:") and run.status in (Run.Status.SUCCEEDED, Run.Status.FAILED)
    assert AuditEvent.objects.filter(run=run, action="run.finished").exists()
    recurring_lock_snapshot.delay(target="billing-stg")
    snap = wait_for(lambda: LockSnapshot.objects.filter(target=target).first(), 30, what="snapshot")
    assert snap.reason == LockSnapshot.Reason.PERIODIC and snap.actor.startswith("schedule:")


def test_it_records_a_recurring_job_on_an_unknown_target_as_failed(transactional_db):
    assert recurring_lock_snapshot.apply(kwargs={"target": "nope"}).get() == "failed"
    event = AuditEvent.objects.get(action="schedule.snapshot_failed")
    assert "No active target named 'nope'" in event.error


def test_it_mails_an_event_through_djangos_email_backend(transactional_db, make_database, mailoutbox):
    from portal.change.models import Notification, NotificationChannel
    from portal.change.tasks import deliver_notification

    target = target_for(make_database("chgmail"), AlembicProjectFactory(name="billing"), name="billing-prod",
                        environment="production")
    run = RunFactory(target=target,
                             status=Run.Status.AWAITING_APPROVAL)
    channel = NotificationChannel.objects.create(name="dba", environment="production", kind="email",
                                                 emails="dba@example.org, oncall@example.org")
    note = Notification.objects.create(channel=channel, run=run, event="awaiting_approval",
                                       payload={"run": run.pk, "operation": "upgrade", "revision": "head",
                                                "target": "billing-prod", "environment": "production",
                                                "event": "awaiting_approval", "error": ""})
    assert deliver_notification.apply((note.pk,)).get() == "sent"
    (mail,) = mailoutbox
    assert mail.to == ["dba@example.org", "oncall@example.org"]
    assert f"Run #{run.pk} upgrade head on billing-prod (production): awaiting approval" in mail.subject
    note.refresh_from_db()
    assert (note.status, note.attempts) == ("sent", 1)
