"""Through a real Celery worker: name mapping, everything not copied, contentful FTS5 copied or refused.

The SQLite file (tests/engine/copy/copynames_dataset.py) has mixed-case
names, a space and a quote in names, 3 views, a trigger, a contentful FTS5
table, an external-content and a trigram FTS5 index. The copy runs as the
portal runs it (plan, ranges as a chord, finish, verification queued).
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest
from django.urls import reverse

from portal.ops import copying
from portal.ops.models import AuditEvent, Run, VerificationReport
from tests.engine.copy.copynames_dataset import MAPPING, NOTES, TARGET_DDL, VIEWS, build
from tests.factories import target_for
from tests.portal.admin_helpers import billing_project, client_for  # noqa: F401
from tests.portal.conftest import wait_run_finished
from tests.portal.copy_helpers import import_dir, pg_exec, rel  # noqa: F401

pytestmark = [pytest.mark.worker]


@pytest.fixture
def names_target(make_database, billing_project):
    conn = make_database("copynames")
    pg_exec(conn, TARGET_DDL)
    return target_for(conn, billing_project, name="names-target")


def _verification(run: Run) -> VerificationReport:
    check = wait_run_finished(Run.objects.get(pk=run.progress_data["verify_run_id"]), timeout=120)
    assert not check.is_active, check.error
    return VerificationReport.objects.get(run=check)


def test_it_copies_with_the_mapping_lists_what_is_not_copied_and_makes_fts_rows_searchable(
    transactional_db, celery_worker_proc, dba, import_dir, names_target
) -> None:
    path = build(import_dir / "chinook-like.sqlite")
    run = copying.schedule_copy(target=names_target, source=rel(path), user=dba)
    run = wait_run_finished(run, timeout=120)
    assert run.status == Run.Status.SUCCEEDED, (run.error, celery_worker_proc.log_text()[-3000:])
    summary = run.progress_data["summary"]
    assert dict(map(tuple, summary["mapping"])) == MAPPING
    skipped = {o["name"]: o for o in summary["skipped"]}
    assert {n for n, o in skipped.items() if o["kind"] == "view"} == set(VIEWS)
    assert skipped["docs_ai"]["kind"] == "trigger"
    assert (skipped["docs_ext"]["kind"], skipped["docs_ext"]["rows"]) == ("fts index (external)", 3)
    assert any("gin_trgm_ops" in d for d in skipped["docs_tri"]["postgres_ddl"])
    assert skipped["sqlite_sequence"]["rows"] == 1 and summary["rows_not_copied"] == 0
    text = run.progress_data["summary_text"]
    assert "table Order Details -> order details" in text and "not copied: view v_albums" in text
    found = pg_exec(names_target.conn(), "SELECT subject FROM notes_fts WHERE search_tsv @@ to_tsquery('simple', 'zebra')")
    assert found == [("meeting",)]

    client = client_for(dba)
    page = client.get(reverse("admin:ops_run_change", args=[run.pk])).content.decode()
    assert 'id="mop-copy-not-copied"' in page and 'data-table="v order totals"' in page
    download = client.get(reverse("admin:ops_run_not_copied_sql", args=[run.pk]))
    assert download.status_code == 200 and download["Content-Disposition"].endswith('.sql"')
    sql_text = download.content.decode()
    assert "CREATE VIEW v_albums AS SELECT Title" in sql_text and 'CREATE VIEW "v order totals"' in sql_text
    assert "CREATE TRIGGER docs_ai" in sql_text and '"docs_ext_tsv" tsvector' in sql_text

    vr = _verification(run)
    report_skipped = {o["name"]: o for o in vr.report["skipped"]}
    assert set(VIEWS) | {"docs_ai", "docs_ext", "docs_tri", "sqlite_sequence"} <= set(report_skipped)
    assert "notes_fts" not in report_skipped
    notes = next(t for t in vr.report["tables"] if t["name"] == "notes_fts")  # compared row by row, like a table
    figures = {f["check"]: (f["status"], f["figures"]) for f in notes["findings"]}
    assert figures["counts"][0] == "pass" and figures["counts"][1]["source"] == len(NOTES) == figures["counts"][1][
        "target"]
    assert figures["checksum"][0] == "pass"
    assert not [f for f in vr.report["findings"] if f["check"] in ("fts", "skipped")]
    report_page = client.get(reverse("admin:ops_verificationreport_change", args=[vr.pk])).content.decode()
    assert 'id="mop-report-skipped"' in report_page and "skipped: view" in report_page


def test_it_refuses_a_contentful_fts_table_until_skipped_and_then_names_its_rows(
    transactional_db, celery_worker_proc, dba, import_dir, names_target
) -> None:
    path = build(import_dir / "search.sqlite")
    refused = wait_run_finished(copying.schedule_copy(
        target=names_target, source=rel(path), user=dba, options={"fts_contentful": "refuse"}), timeout=120)
    assert refused.status == Run.Status.FAILED
    assert "notes_fts" in refused.error and "--skip-table notes_fts" in refused.error
    assert pg_exec(names_target.conn(), "SELECT count(*) FROM album")[0][0] == 0

    run = wait_run_finished(copying.schedule_copy(
        target=names_target, source=rel(path), user=dba,
        options={"fts_contentful": "refuse", "skip_tables": "notes_fts"}), timeout=120)
    assert run.status != Run.Status.FAILED, (run.error, celery_worker_proc.log_text()[-3000:])
    summary = run.progress_data["summary"]
    notes = next(o for o in summary["skipped"] if o["name"] == "notes_fts")
    assert (notes["kind"], notes["rows"]) == ("fts index (contentful)", len(NOTES))
    assert summary["rows_not_copied"] == len(NOTES)
    assert "not copied: fts index (contentful) notes_fts (3 rows)" in run.progress_data["summary_text"]
    assert pg_exec(names_target.conn(), "SELECT to_regclass('public.notes_fts')")[0][0] is None
    finished = AuditEvent.objects.get(run=run, action="run.finished")
    assert finished.params["rows_not_copied"] == len(NOTES) and "fts index (contentful):notes_fts" in finished.params[
        "not_copied"]

    vr = _verification(run)
    assert next(o for o in vr.report["skipped"] if o["name"] == "notes_fts")["rows"] == len(NOTES)
    warn = [f for f in vr.report["findings"] if f["check"] == "skipped"]
    assert [(f["status"], f["figures"]["not_copied"]) for f in warn] == [("warn", len(NOTES))]
    assert vr.status != "pass"
