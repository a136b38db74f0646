"""Lock retries on a real worker: a run blocked by an idle-in-transaction session succeeds once it commits.

Also: the per-run override (form, CLI) lands in run.params, each retry is an
audit event naming the blocker, and the run records the worker's host name.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time

import psycopg
import pytest
from django.core.management import call_command
from django.urls import reverse

from migrations_ops.schema.project import ProjectSource
from migrations_ops.schema.runner import run_plan
from portal.ops import services
from portal.ops.models import AuditEvent, Run, RunLog
from tests.engine.alembic_factory import Factory, alembic_current
from tests.factories import AlembicProjectFactory, target_for
from tests.portal.admin_helpers import assert_no_password, client_for
from tests.portal.conftest import wait_run_finished


def two_step(root) -> Factory:
    f = Factory(root)
    f.table_rev("r1", None, "t1")
    f.rev("r2", "r1", "add a column", upgrade='op.add_column("t1", sa.Column("n", sa.Integer))',
          downgrade='op.drop_column("t1", "n")')
    return f


@pytest.fixture
def at_r1(tmp_path, make_database):
    """A target at r1 (set up by the engine directly), r2 pending."""
    f = two_step(tmp_path / "retry")
    conn = make_database("retry")
    run_plan(conn, ProjectSource(str(f.root)), "upgrade", "r1", run_id="test-setup")
    target = target_for(conn, AlembicProjectFactory(name="retry", location=str(f.root)), name="retry-dev")
    return f, conn, target


@pytest.mark.worker
def test_a_run_blocked_by_an_idle_transaction_succeeds_after_a_retry(
    transactional_db, celery_worker_proc, at_r1, dba
):
    f, conn, target = at_r1
    with psycopg.connect(**conn.connect_kwargs("held-by-test")) as holder:
        holder.execute("SELECT count(*) FROM t1")  # ACCESS SHARE on t1, then idle in transaction
        holder_pid = holder.info.backend_pid
        release = threading.Timer(2.0, holder.commit)
        run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                    lock_timeout_ms=300, lock_retries=8)
        started = time.monotonic()
        release.start()
        try:
            run = wait_run_finished(run, timeout=60)
        finally:
            release.cancel()
            release.join()

    assert run.status == Run.Status.SUCCEEDED, (run.error, list(RunLog.objects.filter(run=run).values_list(
        "message", flat=True)))
    assert time.monotonic() - started >= 1.5, "it could only finish once the holder committed"
    assert run.params["lock_retries"] == 8 and run.result_heads == ["r2"]
    assert alembic_current(f.root, conn) == {"r2"}

    # Each retry is in the run log (a warning naming the blocker) and in the audit trail.
    retries = list(RunLog.objects.filter(run=run, level="warning", message__contains="retrying"))
    assert retries and str(holder_pid) in retries[0].message
    events = list(AuditEvent.objects.filter(run=run, action="run.lock_retry").order_by("id"))
    assert len(events) == len(retries) >= 1
    first = events[0]
    assert first.params["blocker"]["pid"] == holder_pid
    assert first.params["blocker"]["application"] == "held-by-test"
    assert "SELECT count(*) FROM t1" in first.params["blocker"]["query"]
    assert first.params["blocker"]["state"] == "idle in transaction"
    assert (first.params["attempt"], first.params["max_attempts"], first.params["revision"]) == (1, 9, "r2")
    assert first.params["delay_s"] >= 0 and first.outcome == "retrying" and first.actor == "dba"
    actions = list(AuditEvent.objects.filter(run=run).order_by("id").values_list("action", flat=True))
    assert actions[:2] == ["run.scheduled", "run.started"] and actions[-1] == "run.finished"

    # Alembic's own "Running upgrade" lines still reach the run log with the alembic logger at WARNING.
    assert RunLog.objects.filter(run=run, message__startswith="Running upgrade r1 -> r2").exists()

    # The worker's host name is recorded and shown.
    expected_worker = celery_worker_proc.hostname.replace("%h", socket.gethostname())
    assert run.worker == expected_worker
    page = client_for(dba).get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert f"<th>Worker</th><td>{expected_worker}</td>" in page
    assert "<dt>Retries on lock timeout</dt><dd>8</dd>" in page
    assert AuditEvent.objects.get(run=run, action="run.started").params["worker"] == expected_worker
    assert_no_password(page, conn.password)
    for e in events:
        assert conn.password not in json.dumps(e.params)


@pytest.mark.django_db
def test_the_schedule_form_carries_a_per_run_lock_retries(at_r1, dba):
    f, conn, target = at_r1
    client = client_for(dba)
    url = reverse("admin:ops_target_schedule", args=[target.pk])
    confirm = client.post(url, {"operation": "upgrade", "revision": "head", "lock_retries": "0"})
    assert confirm.templates[0].name == "admin/ops/target/schedule_confirm.html"
    assert '<td id="mop-lock-retries">0</td>' in confirm.content.decode()
    hidden = {k: ("" if v is None else v) for k, v in confirm.context["form"].initial.items()}
    done = client.post(url, {**hidden, "post": "yes"})
    assert done.status_code == 302
    assert Run.objects.get().params["lock_retries"] == 0

    default = client.post(url, {"operation": "upgrade", "revision": "head"})
    assert f'<td id="mop-lock-retries">{target.lock_retries}</td>' in default.content.decode()
    refused = client.post(url, {"operation": "upgrade", "revision": "head", "lock_retries": "-1"})
    assert refused.templates[0].name == "admin/ops/target/schedule.html"


@pytest.mark.django_db
def test_the_cli_takes_lock_retries_and_the_target_default_applies(at_r1, dba):
    f, conn, target = at_r1
    out = io.StringIO()
    call_command("ops", "--user", "dba", "upgrade", target.name, "head", "--lock-retries", "5", "--json",
                 stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue())["lock_retries"] == 5
    target.lock_retries = 1
    target.save()
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba)
    assert run.params["lock_retries"] == 1
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="lock_retries"):
        services.schedule_run(target=target, operation="upgrade", revision="head", user=dba, lock_retries=-2)
