"""A copy whose worker is SIGKILLed mid-copy is interrupted by the reaper, and "Resume" finishes it exactly.

The killed worker has a queue of its own; the resumed run goes to the shared
worker. Committed ranges are skipped, the range in flight (rolled back by the
server when the connection died) is redone: no duplicate, no missing row.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from portal.ops import copying, lifecycle
from portal.ops.models import Run
from tests.polling import wait_for
from tests.portal.admin_helpers import billing_project, client_for  # noqa: F401
from tests.portal.conftest import publishing_to, wait_run_finished
from tests.portal.copy_helpers import billing_sqlite, import_dir, make_billing_target, pg_exec, rel  # noqa: F401

pytestmark = [pytest.mark.worker]


def test_it_resumes_a_copy_whose_worker_was_killed(
    transactional_db, celery_worker_proc, make_worker, dba, billing_project, billing_sqlite, make_billing_target
) -> None:
    path, manifest = billing_sqlite
    target = make_billing_target()
    doomed = make_worker(queue=f"mop-doomed-{uuid.uuid4().hex[:6]}", concurrency=1)
    with publishing_to(doomed.queue):
        run = copying.schedule_copy(target=target, source=rel(path), user=dba,
                                    options={"range_rows": 8, "batch_rows": 4})

    def some_ranges_done() -> bool:
        run.refresh_from_db()
        return run.steps_total > 0 and run.steps_done >= 3

    wait_for(some_ranges_done, timeout=60, interval=0.02, what="three committed ranges")
    doomed.kill()
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING and run.steps_done < run.steps_total - 1, "the copy ended before the kill"
    done_before = run.steps_done

    assert [r.pk for r in lifecycle.reap_stale_runs(stale_seconds=0)] == [run.pk]
    run.refresh_from_db()
    assert run.status == Run.Status.INTERRUPTED and copying.can_resume(run)

    resp = client_for(dba).post(reverse("admin:ops_run_resume", args=[run.pk]))
    again = Run.objects.exclude(pk=run.pk).get(operation=Run.Operation.COPY)
    assert resp.status_code == 302 and resp.url == reverse("admin:ops_run_change", args=[again.pk])
    assert again.params["copy_id"] == run.params["copy_id"] and again.params["resume_of"] == run.pk
    again = wait_run_finished(again, timeout=120)
    assert again.status == Run.Status.SUCCEEDED_REJECTS, again.error  # the file's planted rejects
    skipped = again.log_lines.filter(message__contains="already committed earlier, skipped").count()
    assert skipped >= done_before
    for name, rows in manifest.rows.items():
        expected = rows - sum(1 for r in manifest.rejects if r[0] == name)
        assert pg_exec(target.conn(), f'SELECT count(*) FROM "{name}"')[0][0] == expected, name  # noqa: S608
    ids = pg_exec(target.conn(), "SELECT count(*), count(DISTINCT transaction_id) FROM transactions")[0]
    assert ids[0] == ids[1]
    assert sum(t["rejected"] for t in again.progress_data["summary"]["tables"]) == len(manifest.rejects)
    assert not copying.can_resume(run)
