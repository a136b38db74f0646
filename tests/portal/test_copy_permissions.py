"""Only those who may schedule runs may copy or verify: a viewer's crafted POSTs get 403 and change nothing."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

from django.urls import reverse

from portal.ops.models import AuditEvent, Run
from tests.portal.admin_helpers import billing_project, dba_client, viewer_client  # noqa: F401
from tests.portal.copy_helpers import fts_sqlite, fts_target, import_dir, rel  # noqa: F401


def test_it_answers_403_to_a_viewer_on_the_copy_confirm_post(viewer_client, fts_target, fts_sqlite) -> None:
    url = reverse("admin:ops_target_copy", args=[fts_target.pk])
    events = AuditEvent.objects.count()
    confirm = {"source": rel(fts_sqlite), "post": "yes", "text_policy": "reject", "confirm_name": fts_target.name}
    assert viewer_client.post(url, confirm).status_code == 403
    assert viewer_client.post(url, {"pick": rel(fts_sqlite), "text_policy": "reject"}).status_code == 403
    assert viewer_client.get(url).status_code == 403
    verify = reverse("admin:ops_target_verify", args=[fts_target.pk])
    assert viewer_client.post(verify, {"target_only": "1"}).status_code == 403
    assert Run.objects.count() == 0 and AuditEvent.objects.count() == events


def test_it_lets_a_dba_schedule_the_copy_and_audits_it(dba_client, fts_target, fts_sqlite, monkeypatch) -> None:
    from portal.ops import dispatch

    monkeypatch.setattr(dispatch, "send_run", lambda run: None)
    url = reverse("admin:ops_target_copy", args=[fts_target.pk])
    resp = dba_client.post(url, {"source": rel(fts_sqlite), "post": "yes", "text_policy": "reject",
                                 "max_rejects": "5", "tables": "parent child"})
    run = Run.objects.get()
    assert resp.status_code == 302 and resp.url == reverse("admin:ops_run_change", args=[run.pk])
    assert run.operation == Run.Operation.COPY and run.status == Run.Status.QUEUED
    assert run.params["source"] == rel(fts_sqlite) and run.params["tables"] == ["parent", "child"]
    assert run.params["options"]["max_rejects"] == 5
    event = AuditEvent.objects.get(action="run.scheduled")
    assert event.operation == "copy" and event.params["copy_id"] == run.params["copy_id"]
    again = dba_client.post(url, {"source": rel(fts_sqlite), "post": "yes", "text_policy": "reject"}, follow=True)
    assert "A second copy into the same target is not started" in again.content.decode()
    assert Run.objects.count() == 1
    page = dba_client.get(reverse("admin:ops_run_change", args=[run.pk]))
    assert page.status_code == 200 and 'id="mop-copy-tables"' in page.content.decode()
