"""Lock snapshots: on demand, after a run failed on lock_timeout, periodically; history; retention."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import re
from datetime import timedelta

from django.test import Client
from django.utils.timezone import now

from portal.ops import diagnostics
from portal.ops.models import AuditEvent, LockSnapshot, Run, RunLog
from tests.factories import RunFactory, TargetFactory
from tests.portal.activity_helpers import (
    activity_url,
    app_role,
    backend_url,
    chain,
    chain_cleared,
    dba_client,
    lock_db,
    locks_target,
    viewer_client,
)


def test_it_takes_a_snapshot_on_demand_and_shows_the_tree_as_it_was(dba_client: Client, locks_target, chain) -> None:
    response = dba_client.post(f"/admin/ops/target/{locks_target.pk}/snapshots/take/")
    assert response.status_code == 302
    row = LockSnapshot.objects.get(target=locks_target)
    assert (row.reason, row.actor, row.root_blockers, row.blocked) == ("manual", "dba", 1, 3)
    assert row.summary["blocked"] == 3
    assert AuditEvent.objects.filter(action="locks.snapshot_taken", target_id=locks_target.pk).count() == 1
    assert response["Location"] == f"/admin/ops/target/{locks_target.pk}/snapshots/{row.pk}/"

    # The blocking ends; the snapshot still shows what it was.
    dba_client.post(backend_url(locks_target, "terminate"), {
        "pid": chain.a.pid, "backend_start": chain.a.backend_start.isoformat(), "post": "yes", "reason": "r"})
    chain_cleared(chain)
    body = dba_client.get(response["Location"]).content.decode()
    assert f'data-pid="{chain.a.pid}" data-depth="0"' in body
    assert '<span class="mop-blocks-direct">1</span> / <span class="mop-blocks-all">3</span>' in body
    assert 'data-action="terminate"' not in body  # history is not a place to act from
    assert "&lt;script&gt;" in body and "<script>alert(" not in body
    assert re.search(r"\(PostgreSQL \d+\.\d+\)", body)  # 15.20, not server_version_num 150020
    history = dba_client.get(f"/admin/ops/target/{locks_target.pk}/snapshots/").content.decode()
    assert f'data-snapshot="{row.pk}"' in history and "On demand" in history


def test_a_viewer_may_look_at_history_but_not_take_snapshots(viewer_client: Client, locks_target) -> None:
    assert viewer_client.post(f"/admin/ops/target/{locks_target.pk}/snapshots/take/").status_code == 403
    assert not LockSnapshot.objects.exists()
    assert viewer_client.get(f"/admin/ops/target/{locks_target.pk}/snapshots/").status_code == 200


def test_it_keeps_a_snapshot_when_a_run_fails_on_lock_timeout(dba_client: Client, locks_target, chain) -> None:
    run = RunFactory(target=locks_target,
                             status=Run.Status.FAILED, error="lock timeout", error_code="lock_timeout")
    row = diagnostics.snapshot_after_failure(run)
    assert row is not None
    row.refresh_from_db()
    assert (row.reason, row.run_id, row.root_blockers, row.blocked) == ("run_failed", run.pk, 1, 3)
    assert RunLog.objects.filter(run=run, message__contains=f"Lock snapshot #{row.pk}").exists()
    page = dba_client.get(f"/admin/ops/run/{run.pk}/change/").content.decode()
    assert 'id="mop-lock-snapshot-link"' in page
    assert f"/admin/ops/target/{locks_target.pk}/snapshots/{row.pk}/" in page


def test_it_keeps_no_snapshot_for_other_failures_and_never_raises(locks_target, db) -> None:
    other = RunFactory(target=locks_target, operation="upgrade", actor="dba",
                               status=Run.Status.FAILED, error_code="revision_not_found")
    assert diagnostics.snapshot_after_failure(other) is None
    nowhere = TargetFactory(name="nowhere", host="127.0.0.1", port=1, password="x")
    unreachable = RunFactory(target=nowhere, operation="upgrade", actor="dba",
                                     status=Run.Status.FAILED, error_code="lock_timeout")
    assert diagnostics.snapshot_after_failure(unreachable) is None
    unreachable.refresh_from_db()
    assert unreachable.error_code == "lock_timeout"
    assert not LockSnapshot.objects.exists()


def test_the_periodic_task_snapshots_every_active_target_and_purges_old_ones(locks_target, settings) -> None:
    settings.MOP_SNAPSHOT_RETENTION_DAYS = 30
    TargetFactory(name="unreachable", host="127.0.0.1", port=1, password="x")
    old = LockSnapshot.objects.create(target=locks_target, reason="periodic", taken_at=now() - timedelta(days=31))
    recent = LockSnapshot.objects.create(target=locks_target, reason="periodic", taken_at=now() - timedelta(days=29))
    result = diagnostics.snapshot_all_targets()  # what the task ops.snapshot_all_targets calls
    assert result == {"taken": 1, "failed": 1, "purged": 1}
    assert not LockSnapshot.objects.filter(pk=old.pk).exists()
    assert LockSnapshot.objects.filter(pk=recent.pk).exists()
    fresh = LockSnapshot.objects.exclude(pk=recent.pk).get()
    assert (fresh.reason, fresh.actor) == ("periodic", "schedule:lock-snapshots")
    assert not AuditEvent.objects.filter(action="locks.snapshot_taken").exists()


def test_bootstrap_registers_the_periodic_snapshot(db, settings) -> None:
    from django_celery_beat.models import PeriodicTask

    from portal.ops.cli.bootstrap import _snapshot_schedule

    settings.MOP_SNAPSHOT_INTERVAL_SECONDS = 120
    _snapshot_schedule()
    _snapshot_schedule()
    task = PeriodicTask.objects.get(task="ops.snapshot_all_targets")
    assert (task.interval.every, task.interval.period) == (120, "seconds")
