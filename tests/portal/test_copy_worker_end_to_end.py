"""With a real Celery worker: copy a generated billing file as a chord, verification follows, the report is in the admin.

The target schema is the typed billing schema of the copy engine tests
(``TYPED_TARGET_DDL``, what the example project builds). Small ranges make
several range tasks per table so that ranges and tables run in parallel.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from portal.ops import copy_figures, copying, verifying
from portal.ops.models import AuditEvent, Run, VerificationReport
from tests.portal.admin_helpers import assert_no_password, billing_project, client_for  # noqa: F401
from tests.portal.conftest import wait_run_finished
from tests.portal.copy_helpers import billing_sqlite, import_dir, make_billing_target, pg_exec, rel  # noqa: F401

pytestmark = [pytest.mark.worker]


def test_it_copies_then_verifies_and_shows_the_report(
    transactional_db, celery_worker_proc, dba, billing_project, billing_sqlite, make_billing_target
) -> None:
    path, manifest = billing_sqlite
    target = make_billing_target()
    password = target.password()
    # a table of the target that this file does not carry (an earlier copy's, say): not this copy's to judge
    pg_exec(target.conn(), "CREATE TABLE unrelated_notes (id int PRIMARY KEY, note text)")
    run = copying.schedule_copy(target=target, source=rel(path), user=dba,
                                options={"range_rows": 100, "batch_rows": 50})
    run = wait_run_finished(run, timeout=120)
    # the generated file plants rejects: every table loaded, some rows rejected -> amber, not green
    assert run.status == Run.Status.SUCCEEDED_REJECTS, (run.error, celery_worker_proc.log_text()[-3000:])
    n_ranges = run.steps_total - 1
    assert n_ranges > len(manifest.rows) and run.steps_done == run.steps_total
    figures = copy_figures.live_figures(run)
    by_table = {t["table"]: t for t in figures["tables"]}
    assert set(by_table) == set(manifest.rows)
    for name, rows in manifest.rows.items():
        assert (by_table[name]["done"], by_table[name]["percent"], by_table[name]["state"]) == (rows, 100, "done")
        imported = pg_exec(target.conn(), f'SELECT count(*) FROM "{name}"')[0][0]  # noqa: S608 - table names of the test
        assert imported == rows - sum(1 for r in manifest.rejects if r[0] == name)
    summary = run.progress_data["summary"]
    assert summary["copy_id"] == run.params["copy_id"]
    assert sum(t["rejected"] for t in summary["tables"]) == len(manifest.rejects)
    assert "Total import time" in run.progress_data["summary_text"]
    assert [p[0] for p in summary["phases"]] == ["queued", "planning", "waiting for workers", "copy",
                                                 "waiting for post-load", "indexes", "foreign keys", "sequences",
                                                 "analyze", "post-load other"]

    check = Run.objects.get(pk=run.progress_data["verify_run_id"])
    assert check.operation == Run.Operation.VERIFY and check.params["after_copy"] == run.pk
    assert sorted(check.params["tables"]) == sorted(manifest.rows)  # the copied tables, not the whole target
    check = wait_run_finished(check, timeout=120)
    vr = VerificationReport.objects.get(run=check)
    # the planted orphans fail the report: the run ends FAILED, the report stored and linked
    assert check.status == Run.Status.FAILED and check.progress_data["report_id"] == vr.pk, check.error
    assert vr.copy_run_id == run.pk and vr.mode == "source" and len(vr.source_sha256) == 64
    statuses = {t["name"]: t["status"] for t in vr.report["tables"]}
    assert "unrelated_notes" not in statuses
    rejected_tables = {r[0] for r in manifest.rejects}
    orphan_tables = set(manifest.orphans)
    for name in manifest.rows:
        if name not in rejected_tables | orphan_tables:
            assert statuses[name] == "pass", (name, vr.report)
    for name in rejected_tables:  # the rows the copy rejected are explained by its rejects: warn, not fail
        assert statuses[name] == ("fail" if name in orphan_tables else "warn"), (name, vr.report)
    tx = next(t for t in vr.report["tables"] if t["name"] == "transactions")
    explained = next(f for f in tx["findings"] if f["check"] == "explained")
    assert not [f for f in tx["findings"] if f["check"] == "missing"]
    tx_rejects = sorted(int(r[1]) for r in manifest.rejects if r[0] == "transactions")
    assert any(r[3] == "invalid_utf8" for r in manifest.rejects)
    assert explained["figures"]["rows"] == len(tx_rejects)
    assert [s["key"] for s in explained["samples"]] == tx_rejects
    assert vr.status == "fail"

    actions = list(AuditEvent.objects.filter(run=run).order_by("id").values_list("action", flat=True))
    assert actions == ["run.scheduled", "run.started", "run.finished"]
    assert AuditEvent.objects.filter(run=check, action="run.finished", params__report=vr.pk).exists()

    client = client_for(dba)
    page = client.get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert "Total import time" in page and f"Verification run #{check.pk}" in page
    rejects_page = client.get(reverse("admin:ops_run_rejects", args=[run.pk])).content.decode()
    for table, key, column, code in manifest.rejects:
        assert f"<code>{key}</code>" in rejects_page and code in rejects_page
        assert table in rejects_page and column in rejects_page
    body = b"".join(client.get(reverse("admin:ops_run_rejects_csv", args=[run.pk])).streaming_content).decode()
    got = {(r["source_table"], r["key"], r["column"], r["reason"].split(":")[0]) for r in csv.DictReader(io.StringIO(body))}
    assert got == set(manifest.rejects)
    report_page = client.get(reverse("admin:ops_verificationreport_change", args=[vr.pk])).content.decode()
    assert vr.source_sha256 in report_page and 'data-table="credits" data-status="pass"' in report_page
    assert f'data-table="transactions" data-status="{statuses["transactions"]}"' in report_page
    assert client.get(reverse("admin:ops_verificationreport_json", args=[vr.pk])).json()["status"] == "fail"
    assert "table,table_status" in client.get(reverse("admin:ops_verificationreport_csv", args=[vr.pk])).content.decode()
    for text in (page, rejects_page, report_page, body):
        assert_no_password(text, password)

    # Target-only verification after the copy, then compare the two reports.
    later = wait_run_finished(verifying.schedule_verify(target=target, user=dba))
    vr2 = VerificationReport.objects.get(run=later)
    assert vr2.mode == "target-only"
    cmp = client.get(reverse("admin:ops_verificationreport_compare", args=[vr2.pk]) + f"?with={vr.pk}")
    assert cmp.status_code == 200 and f"#{vr.pk}" in cmp.content.decode()
