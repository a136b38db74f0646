"""Change control end to end: a real worker, a real beat, real PostgreSQL targets and a local webhook server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import psycopg
import pytest
from django.utils.timezone import now

from portal.change import services as change
from portal.change.models import (
    Approval,
    ChangeRequest,
    MaintenanceWindow,
    Notification,
    NotificationChannel,
    Policy,
)
from portal.ops import secrets, services
from portal.ops.models import AuditEvent, Run
from tests.factories import AlembicProjectFactory, UserFactory, target_for
from tests.polling import wait_for
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.worker


class _Hook(BaseHTTPRequestHandler):
    status = 200

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.got.append((self.headers.get("X-MOP-Signature"), body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_server():
    servers = []

    def _make(status: int = 200) -> HTTPServer:
        srv = HTTPServer(("127.0.0.1", 0), _Hook)
        srv.got, srv.status = [], status
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    yield _make
    for srv in servers:
        srv.shutdown()


def test_it_starts_only_after_the_second_approval_and_signs_every_webhook(
    transactional_db, celery_worker_proc, make_database, dba, hook_server
):
    Policy.objects.filter(environment="production").update(approvals_required=2, approvals_required_high=2)
    good, bad = hook_server(200), hook_server(500)
    for name, srv in (("good", good), ("bad", bad)):
        NotificationChannel.objects.create(name=name, environment="production", kind="webhook",
                                           url=f"http://127.0.0.1:{srv.server_port}/hook",
                                           secret_encrypted=secrets.encrypt("s3cret"))
    anna = UserFactory(username="anna", roles=["viewer", "approver"])
    bert = UserFactory(username="bert", roles=["viewer", "approver"])
    target = target_for(make_database("chgw"), AlembicProjectFactory(name="billing"), name="billing-prod",
                        environment="production")
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                confirm_name="billing-prod")
    assert run.status == Run.Status.AWAITING_APPROVAL
    change.decide(run, anna, Approval.Decision.APPROVED, "SQL read")
    run.refresh_from_db()
    assert run.status == Run.Status.AWAITING_APPROVAL and run.started_at is None  # one of two: still held
    change.decide(run, bert, Approval.Decision.APPROVED, "risk low, tables new")
    run = wait_run_finished(run)
    assert run.status == Run.Status.SUCCEEDED, run.error
    actions = list(AuditEvent.objects.filter(run=run).order_by("id").values_list("action", "actor"))
    assert actions == [("run.scheduled", "dba"), ("change.requested", "dba"), ("change.approved", "anna"),
                       ("change.approved", "bert"), ("change.released", "system"), ("run.started", "dba"),
                       ("run.finished", "dba")]
    events = ["awaiting_approval", "approved", "approved", "started", "succeeded"]
    wait_for(lambda: len(good.got) >= len(events), 20, what="webhooks")
    got = [json.loads(body)["event"] for _sig, body in good.got]
    assert sorted(got) == sorted(events)
    for sig, body in good.got:
        assert sig == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    # The channel answering 500 is retried and marked, never touching the run.
    wait_for(lambda: Notification.objects.filter(channel__name="bad", attempts__gte=2).exists(), 20, what="retry")
    assert len(bad.got) >= 2 and Notification.objects.filter(channel__name="bad", status="sent").count() == 0
    assert Notification.objects.filter(channel__name="bad").exclude(last_error="").exists()
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED


def test_it_starts_a_run_bound_to_a_window_inside_it_through_beat(
    transactional_db, celery_worker_proc, celery_beat, make_database, dba
):
    target = target_for(make_database("chgwin"), AlembicProjectFactory(name="billing"), name="billing-stg",
                        environment="staging")
    opens = now() + timedelta(seconds=4)
    MaintenanceWindow.objects.create(name="soon", target=target, kind="one_off", starts_at=opens,
                                     ends_at=opens + timedelta(minutes=5))
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                start={"mode": "window"})
    assert run.status == Run.Status.SCHEDULED
    assert ChangeRequest.objects.get(run=run).start_at == opens
    run = wait_for(lambda: Run.objects.filter(pk=run.pk, started_at__isnull=False).first(), 30, what="start")
    assert run.started_at >= opens
    assert (run.started_at - opens).total_seconds() < 3  # beat ticks every second
    run = wait_run_finished(run)
    assert run.status == Run.Status.SUCCEEDED, run.error


def test_it_marks_missed_a_run_whose_window_passed_while_no_worker_took_it(transactional_db, make_database, dba):
    target = target_for(make_database("chgmiss"), AlembicProjectFactory(name="billing"), name="billing-stg",
                        environment="staging")
    opens = now() + timedelta(seconds=1)
    MaintenanceWindow.objects.create(name="short", target=target, kind="one_off", starts_at=opens,
                                     ends_at=opens + timedelta(seconds=1))
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                start={"mode": "window"})
    assert run.status == Run.Status.SCHEDULED
    assert change.start_due_runs(opens + timedelta(seconds=5)) == {"started": 0, "missed": 1, "expired": 0}
    run.refresh_from_db()
    assert run.status == Run.Status.MISSED and run.started_at is None
    assert "was not started late" in run.error
    assert AuditEvent.objects.filter(run=run, action="change.missed").exists()


def test_it_stops_between_steps_when_the_window_closes_while_a_lock_holds_the_run(
    transactional_db, celery_worker_proc, make_database, dba
):
    conn = make_database("chgclose")
    target = target_for(conn, AlembicProjectFactory(name="billing"), name="billing-stg", environment="staging")
    first = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="3f1c9a2b7d40",
                                                    user=dba))
    assert first.status == Run.Status.SUCCEEDED, first.error
    closes = now() + timedelta(seconds=8)
    MaintenanceWindow.objects.create(name="closing", target=target, kind="one_off",
                                     starts_at=now() - timedelta(minutes=1), ends_at=closes)
    holder = psycopg.connect(**conn.connect_kwargs("billing-app"))
    holder.execute("LOCK TABLE token_pricing IN ACCESS SHARE MODE")  # step 5 (token_pricing.currency) waits
    try:
        run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                    start={"mode": "window"}, lock_retries=5)
        run = wait_run_finished(run, timeout=120)
    finally:
        holder.close()
    assert run.status == Run.Status.CANCELLED and run.error_code == "window_closed", run.error
    assert run.error == "Window closed after step 4 of 8; target at e2a96b3f0c17"
    assert run.result_heads == ["e2a96b3f0c17"] and run.finished_at >= closes
    assert AuditEvent.objects.filter(run=run, action="run.lock_retry").exists()
