"""With a real Celery worker: a copy with rejects, then its verification, then ``ops verify --wait``.

The verification that follows a copy reads that copy's rejects: the rows it
rejected are "explained" (named, with their reasons) and the run is green.
Once an unexplained difference is planted, the report fails, the run ends
FAILED with the report still stored and linked, and ``ops verify --wait``
exits 1 listing the located keys and differing columns, mixed-case names
(``Customer`` -> ``customer``) included.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import sqlite3

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from portal.ops import copying
from portal.ops.models import AuditEvent, Run, VerificationReport
from tests.factories import target_for
from tests.portal.admin_helpers import billing_project, client_for  # noqa: F401
from tests.portal.conftest import wait_run_finished
from tests.portal.copy_helpers import import_dir, make_sqlite, pg_exec, rel  # noqa: F401

pytestmark = [pytest.mark.worker]

BAD = {5, 77}  # text in an integer column: the copy rejects these rows


@pytest.fixture
def stock(import_dir, make_database, billing_project):
    rows = [(f"I{i:03d}", "many" if i in BAD else i) for i in range(200)]
    path = make_sqlite(import_dir / "stock.sqlite", "CREATE TABLE item (code TEXT PRIMARY KEY, qty INTEGER);",
                       {"item": rows})
    conn = make_database("verdict")
    pg_exec(conn, "CREATE TABLE item (code text PRIMARY KEY, qty integer)")
    return path, target_for(conn, billing_project, name="verdict-target")


def ops(*args) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("ops", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def test_it_explains_a_copys_rejects_then_fails_the_run_on_an_unexplained_difference(
    transactional_db, celery_worker_proc, dba, stock
) -> None:
    path, target = stock
    copy = wait_run_finished(copying.schedule_copy(target=target, source=rel(path), user=dba), timeout=120)
    assert copy.status != Run.Status.FAILED, (copy.error, celery_worker_proc.log_text()[-3000:])
    check = wait_run_finished(Run.objects.get(pk=copy.progress_data["verify_run_id"]), timeout=120)
    vr = VerificationReport.objects.get(run=check)
    assert check.status == Run.Status.SUCCEEDED and vr.status == "warn", (check.error, vr.report)
    item = next(t for t in vr.report["tables"] if t["name"] == "item")
    explained = next(f for f in item["findings"] if f["check"] == "explained")
    assert sorted(s["key"] for s in explained["samples"]) == ["I005", "I077"]
    assert explained["figures"]["copy_id"] == copy.params["copy_id"]
    assert not [f for f in item["findings"] if f["status"] == "fail"]

    # mixed-case names in the source, an unexplained change and a missing row in the target
    with sqlite3.connect(path) as lite:
        lite.execute('CREATE TABLE "Customer" ("Code" TEXT PRIMARY KEY, "FullName" TEXT)')
        lite.executemany('INSERT INTO "Customer" VALUES (?, ?)', [(f"K{i}", f"n{i}") for i in range(50)])
    pg_exec(target.conn(), "CREATE TABLE public.customer (code text PRIMARY KEY, fullname text);"
                           "INSERT INTO public.customer SELECT 'K' || i, 'n' || i FROM generate_series(0, 49) AS i;"
                           "UPDATE public.customer SET fullname = 'changed' WHERE code = 'K7';"
                           "DELETE FROM public.item WHERE code = 'I100'")
    text, code = ops("--user", dba.username, "verify", target.name, "--sqlite", rel(path), "--wait", "--show", "5")
    assert code == 1, text
    run = Run.objects.filter(operation=Run.Operation.VERIFY).latest("pk")
    vr = VerificationReport.objects.get(run=run)
    assert run.status == Run.Status.FAILED and vr.status == "fail"
    assert run.error.startswith(f"Verification report #{vr.pk}: fail") and run.error_code == "verification_failed"
    assert run.progress_data["report_id"] == vr.pk
    assert AuditEvent.objects.filter(run=run, action="run.finished", outcome="failed").exists()
    assert "Customer -> customer" in text
    assert "key K7: fullname" in text and "key I100" in text
    assert "key I005: qty: not_integer" in text  # explained, with the copy's reason
    assert f"copy {copy.params['copy_id']}" in text and "latest copy of this source file" in text
    page = client_for(dba).get(reverse("admin:ops_verificationreport_change", args=[vr.pk])).content.decode()
    assert '<code class="mop-source-name">Customer</code> &rarr;' in page
    assert 'data-table="customer" data-status="fail"' in page and 'data-check="explained"' in page
