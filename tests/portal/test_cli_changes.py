"""ops add-target / upgrade --wait / bootstrap-example: they change things, and never show a password."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
import subprocess
import urllib.parse

import pytest
from django.core.management import CommandError, call_command

from portal.ops.models import AlembicProject, AuditEvent, Run, RunLog, Target
from tests.engine.alembic_factory import alembic_current, linear
from tests.factories import BILLING, AlembicProjectFactory, target_for
from tests.portal.conftest import ROOT

BILLING_HEAD = "6e7a2c9d4b38"


def ops(*args, env_user="dba") -> str:
    out = io.StringIO()
    call_command("ops", "--user", env_user, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def url_of(conn) -> str:
    pw = urllib.parse.quote(conn.password, safe="")
    return f"postgresql://{conn.user}:{pw}@{conn.host}:{conn.port}/{conn.dbname}?sslmode={conn.sslmode}"


@pytest.mark.django_db
def test_it_adds_a_target_from_a_dsn_in_the_environment(make_database, monkeypatch, dba):
    conn = make_database("add")
    monkeypatch.setenv("MOP_TEST_DSN", url_of(conn))
    out = ops("add-target", "billing-new", "--dsn-env", "MOP_TEST_DSN", "--project", str(BILLING),
              "--environment", "staging")

    target = Target.objects.get(name="billing-new")
    assert (target.environment, target.dbname, target.user) == ("staging", conn.dbname, conn.user)
    assert target.project.location == str(BILLING.resolve()) and target.project.name == "billing"
    assert target.password() == conn.password and conn.password not in target.password_encrypted
    assert conn.password not in out and "***" in out
    event = AuditEvent.objects.get(action="target.created")
    assert event.actor == "dba" and conn.password not in json.dumps(event.params)

    monkeypatch.setenv("MOP_TEST_DSN", url_of(make_database("add2")))
    ops("add-target", "billing-second", "--dsn-env", "MOP_TEST_DSN", "--project", str(BILLING))
    assert AlembicProject.objects.count() == 1, "the project of the same path is reused"


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "env", "words"), [
    (["--dsn-env", "MOP_UNSET_VAR", "--project", str(BILLING)], None, "MOP_UNSET_VAR is not set"),
    (["--dsn-env", "MOP_TEST_DSN", "--project", "/no/such/project"], "postgresql://u:pw@h/db", "does not exist"),
    (["--dsn-env", "MOP_TEST_DSN", "--project", str(ROOT / "docs")], "postgresql://u:pw@h/db", "no alembic.ini"),
    (["--dsn-env", "MOP_TEST_DSN", "--project", str(BILLING)], "mysql://u:pw@h/db", "scheme must be postgresql"),
    (["--dsn-env", "MOP_TEST_DSN", "--project", str(BILLING)], "postgresql://u:pw@/db", "host is empty"),
])
def test_it_refuses_a_bad_target_and_changes_nothing(monkeypatch, dba, args, env, words):
    monkeypatch.delenv("MOP_UNSET_VAR", raising=False)
    if env:
        monkeypatch.setenv("MOP_TEST_DSN", env)
    with pytest.raises(CommandError, match=words) as err:
        ops("add-target", "broken", *args)
    assert err.value.returncode == 2 and "pw@" not in str(err.value)
    assert not Target.objects.exists() and not AlembicProject.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_it_refuses_add_target_for_an_operator(monkeypatch, operator):
    monkeypatch.setenv("MOP_TEST_DSN", "postgresql://u:pw@h/db")
    with pytest.raises(CommandError, match="ops.add_target"):
        ops("add-target", "x", "--dsn-env", "MOP_TEST_DSN", "--project", str(BILLING), env_user="olga")
    assert not Target.objects.exists()


@pytest.mark.django_db
def test_it_bootstraps_the_example_once(make_database, monkeypatch, settings, tmp_path):
    settings.MOP_VAR_DIR = tmp_path
    dev, prod = make_database("exdev"), make_database("exprod")
    monkeypatch.setenv("MOP_EXAMPLE_DEV_DSN", url_of(dev))
    monkeypatch.setenv("MOP_EXAMPLE_PROD_DSN", url_of(prod))
    first = ops("bootstrap-example")
    second = ops("bootstrap-example")

    password = (tmp_path / "admin-password.txt").read_text().strip()
    assert stat.S_IMODE((tmp_path / "admin-password.txt").stat().st_mode) == 0o600
    assert f"admin / {password}" in first and password not in second
    assert {t.name: t.environment for t in Target.objects.all()} == {
        "billing-dev": "development", "billing-prod": "production"}
    assert AlembicProject.objects.get().name == "billing-example"
    from django.contrib.auth.models import User
    from django_celery_beat.models import PeriodicTask
    assert User.objects.get(username="admin").check_password(password)
    assert PeriodicTask.objects.get(task="ops.reap_stale_runs").interval.every == 30
    assert dev.password not in first + second


@pytest.mark.django_db
def test_it_keeps_an_edited_snapshot_schedule_when_bootstrap_runs_again(monkeypatch, settings, tmp_path):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    settings.MOP_VAR_DIR = tmp_path
    monkeypatch.delenv("MOP_EXAMPLE_DEV_DSN", raising=False)
    monkeypatch.delenv("MOP_EXAMPLE_PROD_DSN", raising=False)
    ops("bootstrap-example")
    task = PeriodicTask.objects.get(task="ops.snapshot_all_targets")
    assert task.interval.every == settings.MOP_SNAPSHOT_INTERVAL_SECONDS
    hourly, _ = IntervalSchedule.objects.get_or_create(every=3600, period=IntervalSchedule.SECONDS)
    task.interval, task.enabled = hourly, False  # what an admin does in the beat admin
    task.save()

    ops("bootstrap-example")

    task.refresh_from_db()
    assert task.interval_id == hourly.pk and task.enabled is False
    assert PeriodicTask.objects.filter(task="ops.snapshot_all_targets").count() == 1


@pytest.mark.worker
def test_it_waits_for_the_run_and_exits_by_outcome(
    transactional_db, celery_worker_proc, make_database, tmp_path, dba, caplog
):
    caplog.set_level(logging.INFO)
    conn = make_database("wait")
    project = linear(tmp_path / "p", 2)
    project.rev("r3", "r2", "fails", upgrade='op.execute("SELECT no_such_function()")')
    target_for(conn, AlembicProjectFactory(name="lin", location=str(project.root)), name="lin-dev")

    out = ops("upgrade", "lin-dev", "r2", "--wait")
    assert "Scheduled run" in out and "Committed upgrade r2" in out
    assert Run.objects.get().status == Run.Status.SUCCEEDED and alembic_current(project.root, conn) == {"r2"}

    with pytest.raises(CommandError) as err:
        ops("upgrade", "lin-dev", "head", "--wait")
    assert err.value.returncode == 1 and "failed" in str(err.value) and "no_such_function" in str(err.value)
    failed = Run.objects.order_by("-id").first()
    assert failed.status == Run.Status.FAILED and failed.result_heads == ["r2"]

    data = json.loads(ops("downgrade", "lin-dev", "base", "--confirm", "lin-dev", "--wait", "--json"))
    assert data["status"] == "succeeded" and data["result_heads"] == [] and data["target"] == "lin-dev"

    logs = "".join(RunLog.objects.values_list("message", flat=True))
    events = json.dumps(list(AuditEvent.objects.values()), default=str)
    runs = json.dumps(list(Run.objects.values()), default=str)
    for text in (logs, events, runs, out, caplog.text, celery_worker_proc.log_text()):
        assert conn.password not in text


@pytest.mark.worker
def test_it_runs_as_a_real_command_line_process(transactional_db, celery_worker_proc, celery_broker,
                                                make_database, dba):
    from django.db import connection

    conn = make_database("proc")
    target_for(conn, AlembicProjectFactory(name="billing"), name="billing-proc")
    parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    env = {**os.environ, "DATABASE_URL": urllib.parse.urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"])),
           "REDIS_URL": celery_broker["broker_url"], "MOP_CELERY_QUEUE": celery_broker["queue"], "MOP_CLI_USER": "dba"}

    def manage(*args):
        return subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "ops", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    ok = manage("upgrade", "billing-proc", "head", "--wait")
    assert ok.returncode == 0, ok.stderr
    assert alembic_current(BILLING, conn) == {BILLING_HEAD}
    status = json.loads(manage("status", "billing-proc", "--json").stdout)
    assert status["current"] == [BILLING_HEAD] and status["up_to_date"]

    bad = manage("downgrade", "billing-proc", "base", "--wait")
    assert bad.returncode == 2 and "type the target's name (billing-proc) to confirm" in bad.stderr
    unknown = manage("upgrade", "nope", "head")
    assert unknown.returncode == 2 and "Unknown target 'nope'" in unknown.stderr
    assert Run.objects.count() == 1
    assert conn.password not in ok.stdout + ok.stderr + bad.stderr + status.__repr__()
