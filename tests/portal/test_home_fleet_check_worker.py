"""The dashboard's "Check revisions now" queues the fleet check; a real worker reads every target and stores it."""

from __future__ import annotations

import pytest
from django.test import Client

from migrations_ops.schema.project import ProjectSource
from migrations_ops.schema.runner import run_plan
from portal.home.models import ProjectGraph, TargetState
from tests.factories import BILLING, AlembicProjectFactory, target_for
from tests.polling import wait_for

pytestmark = pytest.mark.worker
BILLING_HEAD = "6e7a2c9d4b38"


def test_it_reads_every_target_on_a_worker_and_the_dashboard_shows_it(
    transactional_db, celery_worker_proc, make_database, dba
):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    head_conn = make_database("fleethead")
    run_plan(head_conn, ProjectSource(str(BILLING)), "upgrade", "head", run_id="test-setup")
    at_head = target_for(head_conn, project, name="fleet-head")
    fresh = target_for(make_database("fleetfresh"), project, name="fleet-fresh")
    client = Client()
    client.force_login(dba)
    before = client.get("/admin/").content.decode()
    assert 'data-state="unchecked"' in before

    response = client.post("/admin/fleet/check/", follow=True)
    assert "Revision check queued" in response.content.decode()
    wait_for(lambda: TargetState.objects.filter(source="fleet_check").count() == 2, timeout=60,
             what="the worker's fleet check")
    assert TargetState.objects.get(target=at_head).current == [BILLING_HEAD]
    assert TargetState.objects.get(target=fresh).has_version_table is False
    assert ProjectGraph.objects.get(project=project).heads == [BILLING_HEAD]
    body = client.get("/admin/").content.decode()
    head_row = body.split('id="mop-fleet-fleet-head"', 1)[1].split("</tr>", 1)[0]
    fresh_row = body.split('id="mop-fleet-fleet-fresh"', 1)[1].split("</tr>", 1)[0]
    assert "Up to date" in head_row and "(fleet check)" in head_row
    assert "Behind head" in fresh_row and "9 pending" in fresh_row


def test_a_viewer_may_not_queue_it(db, viewer):
    client = Client()
    client.force_login(viewer)
    assert client.post("/admin/fleet/check/").status_code == 403


def test_a_periodic_snapshot_stores_the_revision_on_the_way(transactional_db, make_database):
    from portal.ops import diagnostics
    from portal.ops.models import LockSnapshot

    conn = make_database("fleetsnap")
    run_plan(conn, ProjectSource(str(BILLING)), "upgrade", "head", run_id="test-setup")
    target = target_for(conn, AlembicProjectFactory(name="billing", location=str(BILLING)), name="fleet-snap")
    diagnostics.store_snapshot(target, LockSnapshot.Reason.MANUAL, actor="system")
    assert not TargetState.objects.filter(target=target).exists()  # on demand: no extra read
    diagnostics.store_snapshot(target, LockSnapshot.Reason.PERIODIC, actor="schedule:lock-snapshots")
    state = TargetState.objects.get(target=target)
    assert state.source == "snapshot" and state.current == [BILLING_HEAD] and not state.error
