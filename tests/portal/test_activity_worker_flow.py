"""The issue's whole flow on a real worker: a migration blocked by an idle-in-transaction session.

1. It fails on lock_timeout (after its retries) and a lock snapshot is kept, linked from the run page.
2. While a run waits, its page shows the blocker; terminating it from there lets the run succeed.
"""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

from pathlib import Path

import pytest

from portal.ops import diagnostics, services
from portal.ops.models import AuditEvent, LockSnapshot, Run
from tests.factories import AlembicProjectFactory, target_for
from tests.polling import wait_for
from tests.portal.activity_helpers import app_role, backend_url, client_for, lock_db
from tests.portal.admin_helpers import write_revision
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker


def _alter_project(tmp_path: Path) -> Path:
    root = tmp_path / "alter_t"
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text("")
    write_revision(root / "versions", "a1b2c3d4e5f6", None, "add note to t",
                   "op.execute('ALTER TABLE t ADD COLUMN note text')")
    return root


@pytest.fixture
def flow(transactional_db, celery_worker_proc, lock_db, tmp_path, dba):
    project = AlembicProjectFactory(name="alter-t", location=str(_alter_project(tmp_path)))
    target = target_for(lock_db.diag, project, name="locks-flow")
    a = lock_db.open("A", "billing-web", autocommit=False)
    a.conn.execute("UPDATE t SET v = v + 1 WHERE id = 1")  # then idle in transaction, holding its lock
    return target, a


def test_it_fails_on_lock_timeout_with_a_snapshot_then_succeeds_once_the_root_is_gone(flow, dba) -> None:
    target, a = flow
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba, lock_timeout_ms=200)
    run = wait_run_finished(run, timeout=120)
    assert (run.status, run.error_code) == (Run.Status.FAILED, "lock_timeout"), run.error
    assert str(a.pid) in run.error

    # The worker keeps the snapshot just after it recorded the outcome.
    row = wait_for(lambda: LockSnapshot.objects.filter(run=run).first(), timeout=30, what="the run's lock snapshot")
    assert row.reason == LockSnapshot.Reason.RUN_FAILED
    snap = diagnostics.snapshot_of(row)
    assert a.pid in [s.pid for s in snap.idle_in_transaction]
    # Taken while the run waited, so the tree still shows the root blocking the run's backend.
    assert [r.pid for r in snap.tree.roots if r.blocks_transitively] == [a.pid]
    client = client_for(dba)
    page = client.get(f"/admin/ops/run/{run.pk}/change/").content.decode()
    assert f"/admin/ops/target/{target.pk}/snapshots/{row.pk}/" in page
    detail = client.get(f"/admin/ops/target/{target.pk}/snapshots/{row.pk}/").content.decode()
    assert 'id="mop-run-blocker"' in detail and f"backend {a.pid}" in detail

    response = client.post(backend_url(target, "terminate"), {
        "pid": a.pid, "backend_start": a.backend_start.isoformat(), "post": "yes", "reason": "blocks the upgrade"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="backend.terminated", target_id=target.pk).exists()
    again = wait_run_finished(
        services.schedule_run(target=target, operation="upgrade", revision="head", user=dba), timeout=120)
    assert again.status == Run.Status.SUCCEEDED, again.error


def test_terminating_the_blocker_from_the_run_page_lets_the_waiting_run_succeed(flow, dba) -> None:
    target, a = flow
    client = client_for(dba)
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                lock_timeout_ms=60_000)

    def blocked_html():
        blockers = client.get(f"/admin/ops/run/{run.pk}/live/").json().get("blockers")
        return blockers and blockers["count"] and blockers["html"]

    html = wait_for(blocked_html, timeout=60, what="the run page to show the run's blocker")
    assert f'data-action="terminate" data-pid="{a.pid}"' in html
    response = client.post(backend_url(target, "terminate"), {
        "pid": a.pid, "backend_start": a.backend_start.isoformat(), "post": "yes", "reason": "blocks run",
        "next": f"/admin/ops/run/{run.pk}/change/"})
    assert response["Location"] == f"/admin/ops/run/{run.pk}/change/"
    event = AuditEvent.objects.get(action="backend.terminated", target_id=target.pk)
    assert event.params["cleared"] is True and event.params["victim"]["pid"] == a.pid
    run = wait_run_finished(run, timeout=60)
    assert run.status == Run.Status.SUCCEEDED, run.error
