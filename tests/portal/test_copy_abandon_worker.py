"""With a real Celery worker: a copy stopped by max_rejects blocks a new copy until it is abandoned from its page
(what it dropped is rebuilt, it is audited); a copy with defer_constraints drops and rebuilds the keys."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.ops import copying, dispatch
from portal.ops.models import AuditEvent, Run
from tests.polling import wait_for
from tests.portal.admin_helpers import billing_project, client_for  # noqa: F401
from tests.portal.conftest import wait_run_finished
from tests.portal.copy_helpers import (  # noqa: F401
    billing_sqlite,
    fts_sqlite,
    fts_target,
    import_dir,
    make_billing_target,
    pg_exec,
    rel,
)

pytestmark = [pytest.mark.worker]

SCHEMA_OBJECTS = """
SELECT 'index:' || indexname FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint:' || conrelid::regclass::text || '.' || conname FROM pg_constraint
WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'u', 'f')
"""


def schema_objects(target) -> set[str]:
    return {r[0] for r in pg_exec(target.conn(), SCHEMA_OBJECTS)}


def test_a_copy_stopped_by_max_rejects_is_abandoned_then_a_new_copy_is_accepted(
    transactional_db, celery_worker_proc, dba, billing_project, billing_sqlite, make_billing_target, monkeypatch
) -> None:
    path, manifest = billing_sqlite
    target = make_billing_target()
    before = schema_objects(target)
    run = copying.schedule_copy(target=target, source=rel(path), user=dba, options={
        "max_rejects": 0, "range_rows": 100, "batch_rows": 50, "drop_secondary_indexes": True,
        "defer_constraints": True})
    run = wait_run_finished(run, timeout=120)
    assert run.status == Run.Status.FAILED and run.error_code == "copy_too_many_rejects", run.error
    copy_id = run.params["copy_id"]
    app = f"mop:copy:{copy_id}"
    wait_for(lambda: not pg_exec(target.conn(), "SELECT 1 FROM pg_stat_activity WHERE application_name = %s", (app,)),
             timeout=60, what="the copy's range tasks to stop")
    assert schema_objects(target) < before, "the copy dropped nothing for the load"
    assert copying.can_resume(run) and copying.can_abandon(run)

    with pytest.raises(ValidationError) as exc:
        copying.schedule_copy(target=target, source=rel(path), user=dba)
    assert exc.value.code == "copy_unfinished" and f"copy run #{run.pk}" in exc.value.messages[0]

    client = client_for(dba)
    url = reverse("admin:ops_run_abandon", args=[run.pk])
    assert 'id="mop-abandon-confirm"' in client.get(url).content.decode()
    resp = client.post(url, {"post": "yes", "reason": "too many bad rows; source to be fixed"})
    assert resp.status_code == 302 and resp.url == reverse("admin:ops_run_change", args=[run.pk])
    assert schema_objects(target) == before
    assert pg_exec(target.conn(), "SELECT status FROM mop.copy_run WHERE copy_id = %s", (copy_id,)) == [("abandoned",)]
    event = AuditEvent.objects.get(action="run.copy_abandoned", run=run)
    assert event.params["previous_status"] == "running" and event.params["failed"] == []
    assert event.params["restored"] and any(r.startswith("fk:") for r in event.params["restored"])
    # The range in flight rolled back (rows_rejected counts committed ranges); its reject record was kept.
    assert event.params["reject_records"] >= 1 and event.params["rows_loaded"] >= 0
    assert set(event.params["foreign_keys_not_valid"]) == {r[3:] for r in event.params["restored"] if r[:3] == "fk:"}
    assert event.params["reason"] == "too many bad rows; source to be fixed"
    assert run.log_lines.filter(message__startswith="Restored: ").exists()
    assert not copying.can_resume(run)

    monkeypatch.setattr(dispatch, "send_run", lambda r: None)
    new = copying.schedule_copy(target=target, source=rel(path), user=dba)
    assert new.status == Run.Status.QUEUED and new.params["copy_id"] != copy_id


def test_a_copy_with_defer_constraints_rebuilds_the_keys(transactional_db, celery_worker_proc, dba, fts_target,
                                                         fts_sqlite) -> None:
    before = schema_objects(fts_target)
    run = copying.schedule_copy(target=fts_target, source=rel(fts_sqlite), user=dba,
                                options={"defer_constraints": True})
    run = wait_run_finished(run, timeout=120)
    assert run.status == Run.Status.SUCCEEDED, (run.error, celery_worker_proc.log_text()[-3000:])
    options = pg_exec(fts_target.conn(), "SELECT options FROM mop.copy_run WHERE copy_id = %s",
                      (run.params["copy_id"],))[0][0]
    assert options["defer_constraints"] is True
    saved = pg_exec(fts_target.conn(), "SELECT count(*) FROM mop.copy_saved_ddl WHERE copy_id = %s",
                    (run.params["copy_id"],))[0][0]
    assert saved >= 2, "the keys were not dropped for the load"
    # the contentful FTS table is copied into a table of its own; the rest is as it was
    assert {o for o in schema_objects(fts_target) if "docs_fts" not in o} == before
    assert pg_exec(fts_target.conn(), "SELECT count(*) FROM parent")[0][0] == 2
    wait_run_finished(Run.objects.get(pk=run.progress_data["verify_run_id"]), timeout=120)
