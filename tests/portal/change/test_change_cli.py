"""ops approvals / approve / reject, and 'ops upgrade --wait' waiting for approval (real worker, real processes)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import urllib.parse

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from portal.ops.models import Run
from tests.factories import AlembicProjectFactory, UserFactory, target_for
from tests.portal.conftest import ROOT, wait_for

pytestmark = pytest.mark.worker


def ops(*args, user="dba") -> str:
    out = io.StringIO()
    call_command("ops", "--user", user, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_waits_for_approval_then_for_the_run(transactional_db, celery_worker_proc, celery_broker,
                                                make_database, dba):
    from django.db import connection

    target_for(make_database("chgcli"), AlembicProjectFactory(name="billing"), name="billing-prod",
               environment="production")
    UserFactory(username="anna", roles=["viewer", "approver"])
    dba.groups.add(Group.objects.get(name="approver"))  # an approver still may not approve their own run
    parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    env = {**os.environ, "DATABASE_URL": urllib.parse.urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"])),
           "REDIS_URL": celery_broker["broker_url"], "MOP_CELERY_QUEUE": celery_broker["queue"]}
    proc = subprocess.Popen([str(ROOT / ".venv/bin/python"), "manage.py", "ops", "--user", "dba", "upgrade",
                             "billing-prod", "head", "--confirm", "billing-prod", "--wait"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run = wait_for(lambda: Run.objects.filter(status=Run.Status.AWAITING_APPROVAL).first(), 60, what="request")
    time.sleep(1)
    assert proc.poll() is None  # still waiting for the approval

    listed = json.loads(ops("approvals", "--json", user="anna"))
    assert [(r["run"], r["risk"], r["approvals"], r["required"]) for r in listed] == [(run.pk, "low", 0, 1)]
    with pytest.raises(CommandError, match="another approver must review it"):
        ops("approve", str(run.pk), "--comment", "mine")
    assert "it is now queued" in ops("approve", str(run.pk), "--comment", "read the SQL", user="anna")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert f"Run #{run.pk} is awaiting approval; see 'ops approvals'; waiting for it (--wait)" in out
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert "Nothing waits for approval." in ops("approvals", user="anna")


def test_it_rejects_with_a_comment(db, make_database, dba):
    from portal.ops import services

    target = target_for(make_database("chgrej"), AlembicProjectFactory(name="billing"), name="billing-prod",
                        environment="production")
    run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba,
                                confirm_name="billing-prod")
    UserFactory(username="anna", roles=["viewer", "approver"])
    assert "it is now rejected" in ops("reject", str(run.pk), "--comment", "no backup", user="anna")
    with pytest.raises(CommandError, match="not awaiting approval"):
        ops("approve", str(run.pk), "--comment", "late", user="anna")
    with pytest.raises(CommandError, match="No run #999999"):
        ops("approve", "999999", "--comment", "x", user="anna")
