"""The source's integrity check of a verification: ``quick_check`` by default, the full one on request.

Through the real path: ``ops verify --wait`` with and without ``--integrity full``, a real Celery
worker, real PostgreSQL. The report's header says which check ran and what it found, and the
source's sha256 is there either way; an unknown choice is refused before anything is queued.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import CommandError, call_command

from portal.ops import verifying
from portal.ops.models import Run, VerificationReport
from tests.factories import target_for
from tests.portal.admin_helpers import billing_project  # noqa: F401
from tests.portal.copy_helpers import import_dir, make_sqlite, pg_exec, rel  # noqa: F401


@pytest.fixture
def stock(import_dir, make_database, billing_project):
    rows = [(f"I{i:03d}", i) for i in range(300)]
    path = make_sqlite(import_dir / "stock.sqlite", "CREATE TABLE item (code TEXT PRIMARY KEY, qty INTEGER);",
                       {"item": rows})
    conn = make_database("integrity")
    pg_exec(conn, "CREATE TABLE item (code text PRIMARY KEY, qty integer)")
    pg_exec(conn, "INSERT INTO item SELECT 'I' || lpad(i::text, 3, '0'), i FROM generate_series(0, 299) AS i")
    return path, target_for(conn, billing_project, name="integrity-target")


def _verify(dba, target, path, *extra: str) -> dict:
    out = io.StringIO()
    call_command("ops", "--user", dba.username, "verify", target.name, "--sqlite", rel(path), "--wait", "--json",
                 *extra, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


@pytest.mark.worker
def test_quick_by_default_and_full_on_request_through_the_worker(transactional_db, celery_worker_proc, dba, stock):
    path, target = stock
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    default = _verify(dba, target, path)
    full = _verify(dba, target, path, "--integrity", "full")
    for report, check in ((default, "quick"), (full, "full")):
        assert report["header"]["settings"]["integrity_check"] == check, celery_worker_proc.log_text()[-2000:]
        assert report["header"]["source"]["integrity_check"] == ["ok"]
        assert report["header"]["source"]["sha256"] == sha
        checksums = [f["status"] for t in report["tables"] for f in t["findings"] if f["check"] == "checksum"]
        assert checksums == ["pass"] and report["status"] != "fail"
    runs = Run.objects.filter(operation=Run.Operation.VERIFY, target=target).order_by("pk")
    assert [r.params.get("integrity") for r in runs] == [None, "full"]
    assert VerificationReport.objects.filter(run__in=runs).count() == 2


def test_an_unknown_integrity_check_is_refused_before_anything_is_queued(db, dba, stock,
                                                                        django_capture_on_commit_callbacks):
    path, target = stock
    with pytest.raises(CommandError):
        call_command("ops", "--user", dba.username, "verify", target.name, "--sqlite", rel(path), "--integrity",
                     "paranoid", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(Exception, match="quick or full"):
        verifying.schedule_verify(target=target, source=rel(path), user=dba, integrity="paranoid")
    assert Run.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=False):
        run = verifying.schedule_verify(target=target, source=rel(path), user=dba, integrity="full")
    assert verifying.engine_args(run)["options"].integrity_check == "full"
