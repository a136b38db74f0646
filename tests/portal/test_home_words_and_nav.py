"""Pages say things in words (labels, parameters as a definition list) and every target page links the others."""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import re

from django.utils.timezone import now

from portal.ops import audit
from portal.ops.models import AuditEvent, Run
from tests.factories import BILLING, AlembicProjectFactory, RunFactory, TargetFactory, target_for
from tests.portal.admin_helpers import dba_client

NAV = ("Status", "Revisions", "Locks", "Copy", "Verify", "Health", "Runs", "Audit")


def _nav(body: str) -> list[str]:
    block = body.split('id="mop-target-nav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r">([A-Za-z]+)</a>", block)


def test_every_target_page_links_status_revisions_locks_copy_verify_health_runs_and_audit(dba_client, make_database):
    target = target_for(make_database("nav"), AlembicProjectFactory(name="billing", location=str(BILLING)),
                        name="billing-nav")
    for page in ("status/", "activity/", "snapshots/", "copy/", "verify/", "schedule/", "change/"):
        response = dba_client.get(f"/admin/ops/target/{target.pk}/{page}")
        assert response.status_code == 200, page
        links = _nav(response.content.decode())
        assert all(name in links for name in NAV), (page, links)
    health = dba_client.get(f"/admin/health/healthsnapshot/target/{target.pk}/")
    assert health.status_code == 200 and all(name in _nav(health.content.decode()) for name in NAV)
    body = dba_client.get(f"/admin/ops/target/{target.pk}/status/").content.decode()
    assert f'?target__id__exact={target.pk}">Runs' in body and '?target_name=billing-nav">Audit' in body
    assert dba_client.get(f"/admin/ops/run/?target__id__exact={target.pk}").status_code == 200
    assert dba_client.get("/admin/ops/auditevent/?target_name=billing-nav").status_code == 200


def test_run_parameters_read_as_a_definition_list(dba_client, dba):
    target = TargetFactory(name="words", project=AlembicProjectFactory(name="billing", location=str(BILLING)))
    run = RunFactory(target=target, operation="upgrade", revision="head", actor=dba.username,
                             status=Run.Status.SUCCEEDED, finished_at=now(),
                             params={"lock_timeout_ms": 1000, "statement_timeout_ms": 900000, "lock_retries": 3,
                                     "confirmed": False})
    body = dba_client.get(f"/admin/ops/run/{run.pk}/change/").content.decode()
    assert "confirmed=False" not in body
    dl = body.split('id="mop-run-params"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Lock timeout</dt><dd>1000 ms</dd>" in dl
    assert "<dt>Target name typed back</dt><dd>no (the confirm page did not ask for it" in dl


def test_an_audit_event_reads_as_a_sentence_and_copy_events_name_no_revisions(dba_client, dba):
    target = TargetFactory(name="story", project=AlembicProjectFactory(name="billing", location=str(BILLING)))
    run = RunFactory(target=target, operation="copy", actor=dba.username, status=Run.Status.SUCCEEDED)
    event = audit.record(actor=dba.username, actor_kind="user", action="run.scheduled", target=target, run=run,
                         operation="copy", params={"copy_id": "c-1", "tables": ["users", "invoices"],
                                                   "findings": {"danger": 1}})
    body = dba_client.get(f"/admin/ops/auditevent/{event.pk}/change/").content.decode()
    sentence = re.sub(r"\s+", " ", body.split('id="mop-event-sentence"', 1)[1].split("</p>", 1)[0])
    assert "scheduled a run on <strong>story</strong>" in sentence and "from <code>" not in sentence
    params = body.split('id="mop-event-params"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Tables</dt><dd>users, invoices</dd>" in params and "<dt>Safety findings</dt><dd>1 danger</dd>" in params
    listing = dba_client.get("/admin/ops/auditevent/").content.decode()
    assert "base</code> → <code>base" not in listing and "SQLite copy" in listing


def test_the_revisions_page_says_behind_head_not_its_code(dba_client, make_database):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    target_for(make_database("words"), project, name="billing-words")
    body = dba_client.get(f"/admin/ops/alembicproject/{project.pk}/revisions/").content.decode()
    assert 'data-code="no_version_table">Never migrated<' in body
    assert ">no_version_table<" not in body and ">not_up_to_date<" not in body
