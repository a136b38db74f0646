"""Abandoning a stopped copy (page, confirm with a reason, 403 for a viewer, CLI twin), the defer_constraints
option on its way to the engine, and ConstraintsNotRestored explained on the run page. No worker: the stopped
copy is a run record whose copy the target holds no state of (it stopped before planning)."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from migrations_ops.copy import ConstraintsNotRestored, CopyOptions
from portal.ops import copy_worker, copying, dispatch, lifecycle
from portal.ops.models import AuditEvent, Run
from tests.factories import RunFactory
from tests.portal.admin_helpers import billing_project, dba_client, viewer_client  # noqa: F401
from tests.portal.copy_helpers import fts_sqlite, fts_target, import_dir, rel  # noqa: F401


def stopped_copy(target, source: str, status: str = Run.Status.FAILED, **params) -> Run:
    copy_id = uuid.uuid4().hex[:12]
    return RunFactory(
        target=target, operation=Run.Operation.COPY, revision="", actor="dba", status=status,
        params={"copy_id": copy_id, "source": source, "tables": None, "options": CopyOptions().to_dict(), **params},
        progress_data={"copy_id": copy_id, "phase": status}, error="stopped", error_code="copy_too_many_rejects",
    )


@pytest.fixture
def no_enqueue(monkeypatch):
    monkeypatch.setattr(dispatch, "send_run", lambda run: None)


def test_a_viewer_gets_403_and_nothing_changes(viewer_client, fts_target, fts_sqlite) -> None:
    run = stopped_copy(fts_target, rel(fts_sqlite))
    events = AuditEvent.objects.count()
    url = reverse("admin:ops_run_abandon", args=[run.pk])
    assert viewer_client.post(url, {"post": "yes", "reason": "crafted"}).status_code == 403
    assert viewer_client.get(url).status_code == 403
    run.refresh_from_db()
    assert "abandoned" not in run.params and AuditEvent.objects.count() == events
    page = viewer_client.get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert 'id="mop-abandon"' not in page


def test_a_stopped_copy_blocks_a_new_one_until_abandoned(dba, dba_client, fts_target, fts_sqlite, no_enqueue) -> None:
    run = stopped_copy(fts_target, rel(fts_sqlite))
    with pytest.raises(ValidationError) as exc:
        copying.schedule_copy(target=fts_target, source=rel(fts_sqlite), user=dba)
    assert exc.value.code == "copy_unfinished" and f"copy run #{run.pk}" in exc.value.messages[0]
    assert "abandon it" in exc.value.messages[0]
    page = dba_client.get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert 'id="mop-abandon"' in page
    url = reverse("admin:ops_run_abandon", args=[run.pk])
    confirm = dba_client.get(url)
    assert confirm.status_code == 200 and 'id="mop-abandon-confirm"' in confirm.content.decode()
    blank = dba_client.post(url, {"post": "yes", "reason": "  "})
    assert blank.status_code == 200 and "required" in blank.content.decode()
    run.refresh_from_db()
    assert "abandoned" not in run.params and not AuditEvent.objects.filter(action="run.copy_abandoned").exists()

    resp = dba_client.post(url, {"post": "yes", "reason": "source re-exported"})
    assert resp.status_code == 302 and resp.url == reverse("admin:ops_run_change", args=[run.pk])
    run.refresh_from_db()
    assert run.params["abandoned"]["reason"] == "source re-exported" and run.params["abandoned"]["by"] == dba.username
    event = AuditEvent.objects.get(action="run.copy_abandoned")
    assert event.run_id == run.pk and event.actor == dba.username and event.operation == "copy"
    assert event.params["copy_id"] == run.params["copy_id"] and event.params["reason"] == "source re-exported"
    assert event.params["restored"] == [] and event.params["rows_loaded"] == 0
    assert run.log_lines.filter(message__contains="abandoned by").exists()
    assert not copying.can_resume(run) and not copying.can_abandon(run)
    page = dba_client.get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert 'id="mop-abandoned"' in page and 'id="mop-abandon"' not in page and 'id="mop-resume"' not in page
    again = dba_client.post(url, {"post": "yes", "reason": "twice"})
    assert again.status_code == 302 and AuditEvent.objects.filter(action="run.copy_abandoned").count() == 1
    new = copying.schedule_copy(target=fts_target, source=rel(fts_sqlite), user=dba)
    assert new.params["copy_id"] != run.params["copy_id"]


def test_a_succeeded_or_active_copy_cannot_be_abandoned(dba, fts_target, fts_sqlite) -> None:
    for status in (Run.Status.SUCCEEDED, Run.Status.RUNNING):
        run = stopped_copy(fts_target, rel(fts_sqlite), status=status)
        with pytest.raises(ValidationError):
            copying.abandon_copy_run(run, user=dba, reason="no")
        run.delete()


def ops(*args) -> str:
    out = io.StringIO()
    call_command("ops", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_cli_twin_abandons_and_refuses_a_viewer(dba, viewer, fts_target, fts_sqlite) -> None:
    run = stopped_copy(fts_target, rel(fts_sqlite), status=Run.Status.INTERRUPTED)
    with pytest.raises(CommandError) as exc:
        ops("--user", viewer.username, "copy-abandon", str(run.pk), "--reason", "x")
    assert "Permission denied" in str(exc.value)
    with pytest.raises(CommandError):
        ops("--user", dba.username, "copy-abandon", str(run.pk))
    data = json.loads(ops("--user", dba.username, "copy-abandon", str(run.pk), "--reason", "given up", "--json"))
    assert data["run"] == run.pk and data["copy_id"] == run.params["copy_id"] and data["failed"] == []
    assert AuditEvent.objects.get(action="run.copy_abandoned").params["reason"] == "given up"
    with pytest.raises(CommandError) as exc:
        ops("--user", dba.username, "copy-abandon", str(run.pk), "--reason", "again")
    assert "cannot be abandoned" in str(exc.value) and exc.value.returncode == 2


def test_defer_constraints_reaches_the_run_and_the_engine_options(dba, dba_client, fts_target, fts_sqlite,
                                                                 no_enqueue) -> None:
    assert copying.copy_options({}).defer_constraints is False
    assert copying.copy_options({"defer_constraints": True}).defer_constraints is True
    form = dba_client.get(reverse("admin:ops_target_copy", args=[fts_target.pk])).content.decode()
    assert "Drop keys and indexes of empty tables during the load, rebuild after (fastest)" in form
    url = reverse("admin:ops_target_copy", args=[fts_target.pk])
    preflight = dba_client.post(url, {"pick": rel(fts_sqlite), "text_policy": "reject", "defer_constraints": "on"})
    assert preflight.status_code == 200
    assert ("<dt>Drop keys and indexes of empty tables during the load, rebuild after (fastest)</dt><dd>yes</dd>"
            in preflight.content.decode())  # the options in words, as the form names them
    resp = dba_client.post(url, {"source": rel(fts_sqlite), "post": "yes", "text_policy": "reject",
                                 "defer_constraints": "True"})
    run = Run.objects.get()
    assert resp.status_code == 302 and run.params["options"]["defer_constraints"] is True
    assert copy_worker.engine_args(run)[1].defer_constraints is True
    assert AuditEvent.objects.get(action="run.scheduled").params["options"]["defer_constraints"] is True
    run.delete()
    ops("--user", dba.username, "copy", fts_target.name, "--sqlite", rel(fts_sqlite), "--defer-constraints")
    assert Run.objects.get().params["options"]["defer_constraints"] is True


def test_constraints_not_restored_is_explained_on_the_run_page(dba_client, fts_target, fts_sqlite) -> None:
    run = stopped_copy(fts_target, rel(fts_sqlite), status=Run.Status.RUNNING)
    error = ConstraintsNotRestored(run.params["copy_id"], [("parent", "parent_pkey", "could not create unique index")])
    assert lifecycle.record_failure(run, error) == Run.Status.FAILED
    page = dba_client.get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert ConstraintsNotRestored.explanation in page
    assert 'id="mop-constraints-not-restored"' in page and "parent_pkey" in page
