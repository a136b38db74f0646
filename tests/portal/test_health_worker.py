"""Health end to end on a real worker: the periodic task keeps readings of generated load, the page and
``ops health --json`` show them, a blocked-sessions threshold raises one event (on the home page), and a
search parity check runs on the worker."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import hashlib
import hmac
import io
import json
import shutil

import pytest
from django.core.management import call_command

from portal.change.models import NotificationChannel
from portal.health import parity as parity_service
from portal.health.models import HealthEvent, HealthSnapshot, HealthThreshold, ParityCheck
from portal.health.tasks import snapshot_all_targets
from portal.ops import secrets
from tests.engine.health.helpers import build, load
from tests.engine.health.parity_helpers import copy_to, make_fts
from tests.engine.locks.conftest import app_role, lock_db
from tests.factories import target_for
from tests.polling import wait_for
from tests.portal.admin_helpers import client_for
from tests.portal.change.test_change_worker import hook_server

pytestmark = pytest.mark.worker


def _snap_via_worker(target, before: int) -> HealthSnapshot:
    snapshot_all_targets.delay()
    return wait_for(lambda: HealthSnapshot.objects.filter(target=target).count() > before
                    and HealthSnapshot.objects.filter(target=target).latest(), timeout=60, what="a health snapshot")


def test_it_keeps_readings_of_load_and_raises_one_event_for_a_long_block(
        transactional_db, celery_worker_proc, lock_db, dba, hook_server) -> None:
    hook = hook_server(200)
    NotificationChannel.objects.create(name="on-call", environment="staging", kind="webhook",
                                       url=f"http://127.0.0.1:{hook.server_port}/hook",
                                       secret_encrypted=secrets.encrypt("s3cret"))
    build(lock_db.diag)
    target = target_for(lock_db.diag, name="health-flow", environment="staging")
    HealthThreshold.objects.create(environment="staging", metric="blocked", above=0, for_minutes=0)
    first = _snap_via_worker(target, 0)
    load(lock_db.diag, inserts=30, rollbacks=40, slow_seconds=0.3)

    # A session holds a row lock idle in transaction; another waits on it: blocked = 1 for three snapshots.
    a = lock_db.open("A", "billing-web", autocommit=False)
    a.conn.execute("UPDATE t SET v = v + 1 WHERE id = 1")
    b = lock_db.open("B", "billing-web")
    b.run_in_background("UPDATE t SET v = v + 1 WHERE id = 1")
    rows = [first]
    for _ in range(3):
        rows.append(_snap_via_worker(target, len(rows)))
    assert [r.blocked for r in rows[1:]] == [1, 1, 1]
    events = HealthEvent.objects.filter(target=target)
    assert events.count() == 1 and events.get().closed_at is None and events.get().value == 1

    # The event went once through the staging channel, signed with its secret.
    wait_for(lambda: HealthEvent.objects.get(target=target).notified == 1, timeout=30, what="the delivery")
    assert len(hook.got) == 1
    signature, body = hook.got[0]
    assert signature == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    sent = json.loads(body)
    assert (sent["event"], sent["target"], sent["metric"], sent["value"]) == ("health_event", "health-flow",
                                                                             "blocked", 1)

    # The rollback storm shows in the deltas of the first snapshot after it.
    assert rows[1].rollback_rate is not None and rows[1].rollback_rate > 0
    assert rows[1].tps is not None and rows[1].tps > 0

    # The DBA home lists the open event; the Health page shows charts, the unused index, the never-analyzed table.
    client = client_for(dba)
    home = client.get("/admin/").content.decode()
    assert "Health of health-flow: blocked sessions 1 above 0" in home
    page = client.get(f"/admin/health/healthsnapshot/target/{target.pk}/").content.decode()
    assert page.count('class="mop-svg mop-health-chart"') == 7 and f"/admin/health/healthsnapshot/{rows[-1].pk}/change/" in page
    assert "orders_note_unused" in page and "public.fresh" in page

    out = io.StringIO()
    call_command("ops", "health", "health-flow", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert [s["snapshot"] for s in data["series"]] == [r.pk for r in rows]
    assert "orders_note_unused" in [i["index"] for i in data["latest"]["unused_indexes"]]
    assert [e["metric"] for e in data["events"]] == ["blocked"]

    # The block ends: the next snapshot closes the event; no second one is opened.
    a.conn.rollback()
    assert b.done.wait(10)
    last = _snap_via_worker(target, len(rows))
    assert last.blocked == 0
    assert HealthEvent.objects.filter(target=target).count() == 1
    assert HealthEvent.objects.get(target=target).closed_at is not None


def test_a_search_parity_check_runs_on_the_worker(transactional_db, celery_worker_proc, make_database, dba,
                                                  import_root, tmp_path) -> None:
    target_conn = make_database("parity")
    src = tmp_path / "search.sqlite"
    copy_to(target_conn, make_fts(src))
    shutil.copy(src, import_root / "parity-search.sqlite")
    target = target_for(target_conn, name="parity-flow")
    check = parity_service.request_check(target, sqlite="parity-search.sqlite", table="docs", regconfig="english",
                                         queries=["running", "the", "gardens"], user=dba)
    check = wait_for(lambda: ParityCheck.objects.filter(pk=check.pk, status__in=["succeeded", "failed"]).first(),
                     timeout=60, what="the parity check")
    assert check.status == "succeeded", check.error
    assert (check.matching, check.total) == (1, 3)
    page = client_for(dba).get(f"/admin/health/paritycheck/{check.pk}/change/").content.decode()
    assert "1 of 3 queries find the same rows" in page and "stemming" in page and "stop words" in page
