"""The fleet dashboard (the admin index): behind head, a failed run, a blocked session, each shown right.

Real services: the status page reads a real database's version table (stored
for the dashboard), the blocked sessions are real backends waiting on a lock
(pg_locks), stored by a real periodic snapshot.
"""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now

from portal.home.models import RunSeen, TargetState
from portal.ops import diagnostics
from portal.ops.models import LockSnapshot, Run, Target
from tests.factories import BILLING, AlembicProjectFactory, RunFactory, TargetFactory, target_for
from tests.portal.activity_helpers import app_role, chain, dba_client, lock_db, locks_target
from tests.portal.admin_helpers import BILLING_HEAD, BILLING_MERGE

INDEX = "/admin/"


def _row(body: str, name: str) -> str:
    return body.split(f'id="mop-fleet-{name}"', 1)[1].split("</tr>", 1)[0]


def _count(body: str, key: str) -> int:
    return int(re.search(rf'id="mop-count-{key}"[^>]*><span class="v">(\d+)<', body).group(1))


def test_it_shows_a_never_migrated_target_behind_head_with_its_pending_count(dba_client, make_database):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    target = target_for(make_database("fresh"), project, name="billing-fresh")
    # Opening the status page reads the version table once; the dashboard reuses what it read.
    assert dba_client.get(f"/admin/ops/target/{target.pk}/status/").status_code == 200
    state = TargetState.objects.get(target=target)
    assert state.has_version_table is False and state.source == "status"
    body = dba_client.get(INDEX).content.decode()
    row = _row(body, "billing-fresh")
    assert 'data-state="behind"' in body
    assert "Behind head" in row and "9 pending" in row  # all nine billing revisions
    assert _count(body, "behind") == 1
    assert 'title="no drift check stored">—<' in row


def test_it_takes_the_revision_a_newer_run_read(dba_client, dba, make_database):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    at_merge = target_for(make_database("merge"), project, name="billing-merge")
    at_head = target_for(make_database("head"), project, name="billing-head")
    TargetState.objects.create(target=at_merge, current=[], has_version_table=False, source="status",
                               observed_at=now() - timedelta(hours=1))
    for target, heads in ((at_merge, [BILLING_MERGE]), (at_head, [BILLING_HEAD])):
        RunFactory(target=target, operation="upgrade", revision="head", actor=dba.username,
                           status=Run.Status.SUCCEEDED, started_at=now(), finished_at=now(), result_heads=heads,
                           steps_total=1, steps_done=1)
    body = dba_client.get(INDEX).content.decode()
    assert "1 pending" in _row(body, "billing-merge") and "Behind head" in _row(body, "billing-merge")
    assert "Up to date" in _row(body, "billing-head") and "pending" not in _row(body, "billing-head")


def test_it_counts_a_failed_run_and_shows_it_waiting_until_looked_at(dba_client, dba):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    target = TargetFactory(name="billing-failed", project=project)
    run = RunFactory(target=target, operation="upgrade", revision="head", actor=dba.username,
                             requested_by=dba, status=Run.Status.FAILED, started_at=now(), finished_at=now(),
                             error="lock timeout")
    RunFactory(target=target, operation="upgrade", revision="head", actor=dba.username, requested_by=dba,
                       status=Run.Status.FAILED, started_at=now() - timedelta(days=2),
                       finished_at=now() - timedelta(days=2))  # failed, but not in the last 24 h
    body = dba_client.get(INDEX).content.decode()
    assert _count(body, "failed") == 1
    row = _row(body, "billing-failed")
    assert "mop-status-failed" in row and f"#{run.pk}" in row
    assert f"/admin/ops/run/{run.pk}/change/" in body.split('id="mop-waiting"', 1)[1]
    assert dba_client.get(f"/admin/ops/run/{run.pk}/change/").status_code == 200  # opening it is looking at it
    assert RunSeen.objects.filter(run=run, user=dba).exists()
    body = dba_client.get(INDEX).content.decode()
    assert 'id="mop-waiting"' not in body or f"/admin/ops/run/{run.pk}/change/" not in body.split('id="mop-waiting"', 1)[1]
    assert _count(body, "failed") == 1  # still failed in the last 24 h, only no longer waiting


def test_it_shows_blocked_sessions_from_the_latest_periodic_snapshot(dba_client, locks_target, chain):
    diagnostics.store_snapshot(locks_target, LockSnapshot.Reason.PERIODIC, actor="schedule:lock-snapshots")
    body = dba_client.get(INDEX).content.decode()
    row = _row(body, locks_target.name)
    assert "3 blocked" in row and "mop-blocked" in row
    assert _count(body, "blocked") == 3
    assert re.search(r"longest xact \d+ (s|min)", row)


def test_it_filters_and_names_a_bad_filter(dba_client):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    TargetFactory(name="dev-one", project=project, environment=Target.Environment.DEVELOPMENT)
    TargetFactory(name="prod-one", project=project, environment=Target.Environment.PRODUCTION)
    body = dba_client.get(INDEX, {"environment": "production"}).content.decode()
    assert 'id="mop-fleet-prod-one"' in body and 'id="mop-fleet-dev-one"' not in body
    response = dba_client.get(INDEX, {"environment": "mars", "project": "x'1"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "No environment &#x27;mars&#x27;" in body and "No project" in body
    assert 'id="mop-fleet-prod-one"' in body and 'id="mop-fleet-dev-one"' in body
    live = dba_client.get("/admin/fleet/live/", {"environment": "production"}).json()
    assert 'id="mop-fleet-prod-one"' in live["html"] and 'id="mop-fleet-dev-one"' not in live["html"]
    assert dba_client.get("/admin/models/").status_code == 200


def test_it_reads_a_fixed_number_of_queries_whatever_the_fleet_size(dba_client, dba):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert dba_client.get(INDEX).status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        t = TargetFactory(name=f"t{i}", project=project)
        RunFactory(target=t, operation="upgrade", revision="head", actor="x", status=Run.Status.FAILED,
                           finished_at=now())
    queries()  # the first visit reads the project's scripts once and stores the graph
    few = queries()
    for i in range(3, 15):
        t = TargetFactory(name=f"t{i}", project=project)
        RunFactory(target=t, operation="upgrade", revision="head", actor="x", status=Run.Status.FAILED,
                           finished_at=now())
    assert queries() == few


def test_it_shows_a_running_run_with_its_progress_bar(dba_client, dba):
    target = TargetFactory(name="billing-busy", project=AlembicProjectFactory(name="billing", location=str(BILLING)))
    run = RunFactory(target=target, operation="upgrade", revision="head", actor=dba.username,
                             status=Run.Status.RUNNING, started_at=now(), steps_total=5, steps_done=2)
    body = dba_client.get(INDEX).content.decode()
    cell = _row(body, "billing-busy").split('class="mop-fleet-active"', 1)[1].split("</td>", 1)[0]
    assert f"#{run.pk}</a> running" in cell and 'max="5" value="2"' in cell and "2/5" in cell
    assert _count(body, "running") == 1
