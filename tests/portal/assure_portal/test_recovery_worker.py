"""Recovery after a run killed mid-way: the page and the CLI say where the target stands; the prefilled
"downgrade to where the run started" button goes through the confirm page and works on a real worker."""

from __future__ import annotations

import html
import io
import json
import re
import uuid

import pytest
from django.core.management import call_command

from portal.assure import recovery
from portal.ops import lifecycle, services
from portal.ops.models import Run
from tests.engine.alembic_factory import alembic_current
from tests.polling import wait_for
from tests.portal.admin_helpers import client_for
from tests.portal.conftest import publishing_to, wait_run_finished
from tests.portal.test_worker_resilience import slow_target, wait_step

pytestmark = pytest.mark.worker


def test_it_guides_recovery_of_a_killed_run_and_downgrade_to_start_works(
        transactional_db, celery_worker_proc, make_worker, make_database, tmp_path, dba):
    conn, project_dir, target = slow_target(tmp_path, make_database, 5, "killed")
    queue = f"mop-kill-{uuid.uuid4().hex[:6]}"
    doomed = make_worker(queue=queue)
    with publishing_to(queue):
        run = services.schedule_run(target=target, operation="upgrade", revision="head", user=dba)
    wait_step(run, "s2")
    doomed.kill()
    wait_for(lambda: lifecycle.reap_stale_runs(stale_seconds=2), 30, what="the reaper")
    run.refresh_from_db()
    assert run.status == Run.Status.INTERRUPTED

    g = recovery.guidance(run)
    assert g.heads_now == ["s1"] and g.committed_steps == ["s1"] and g.failed_step == "s2"
    assert "part way: 1 of 3 step(s) committed" in g.where
    assert [(a.key, a.operation, a.revision) for a in g.actions] == [
        ("retry", "upgrade", "head"), ("back", "downgrade", "base"), ("stamp", "stamp", "s2")]

    out = io.StringIO()
    call_command("ops", "recovery", str(run.pk), stdout=out)
    text = out.getvalue()
    assert "part way: 1 of 3 step(s) committed" in text and "Next: Downgrade to where the run started" in text
    out = io.StringIO()
    call_command("ops", "recovery", str(run.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["failed_step"] == "s2"

    client = client_for(dba)
    page = client.get(f"/admin/ops/run/{run.pk}/change/").content.decode()
    assert "What now: recovery" in page and "Stamp only writes the version table" in page
    href = html.unescape(re.search(r'id="mop-recovery-back"\s+href="([^"]+)"', page).group(1))
    form = client.get(href)
    assert form.status_code == 200 and 'value="base"' in form.content.decode()
    preview = client.post(href.split("?")[0], {"operation": "downgrade", "revision": "base"})
    body = preview.content.decode()
    expected = re.search(r'name="expected_from" value="([^"]*)"', body).group(1)
    sql_hash = re.search(r'name="sql_hash" value="([^"]*)"', body).group(1)
    done = client.post(href.split("?")[0], {"operation": "downgrade", "revision": "base", "post": "yes",
                                            "expected_from": expected, "sql_hash": sql_hash,
                                            "confirm_name": target.name})
    assert done.status_code == 302
    back = wait_run_finished(Run.objects.exclude(pk=run.pk).get(target=target), timeout=60)
    assert back.operation == "downgrade" and back.status == Run.Status.SUCCEEDED, back.error
    assert alembic_current(project_dir, conn) == set()
