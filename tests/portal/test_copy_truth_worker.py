"""With a real Celery worker: what the copy and the verification say about NULL keys, keyless appends,
mixed epoch units, and which copy's rejects a verification links (admin form and CLI alike).

The file has a mixed-case table keyed by text with a NULL key (rejected,
keyed ``rowid:N``), a keyless table, and a timestamp column holding epoch
seconds beside milliseconds. The copy runs on the worker; a verification
chosen in the admin form with "Rejects of copy run" explains the NULL-keyed
row by ``rowid:N``; ``ops verify --copy-run`` does the same; the rejects CSV
names the source and the target table. A second copy with ``append`` into the
keyless table is refused, and ``append_duplicates`` ends amber naming it.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from portal.ops import copying
from portal.ops.models import Run, VerificationReport
from tests.factories import target_for
from tests.portal.admin_helpers import billing_project, client_for  # noqa: F401
from tests.portal.conftest import wait_run_finished
from tests.portal.copy_helpers import import_dir, make_sqlite, pg_exec, rel  # noqa: F401

pytestmark = [pytest.mark.worker]

DDL = ('CREATE TABLE "Codes" ("Code" TEXT PRIMARY KEY, "Qty" INTEGER);'
       "CREATE TABLE readings (sensor TEXT, value INTEGER);"
       "CREATE TABLE events (id INTEGER PRIMARY KEY, at TIMESTAMP);")
ROWS = {"Codes": [(f"C{i:02d}", i) for i in range(20)] + [(None, 99)],  # rowid 21: a NULL key
        "readings": [(f"s{i % 3}", i) for i in range(12)],
        "events": [(i, 1_700_000_000 + i if i % 2 else 1_700_000_000_000 + i * 1000) for i in range(1, 11)]}
TARGET_DDL = ("CREATE TABLE codes (code text PRIMARY KEY, qty int);"
              "CREATE TABLE readings (sensor text, value int);"
              "CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz)")


@pytest.fixture
def source(import_dir):
    return rel(make_sqlite(import_dir / "truth.sqlite", DDL, ROWS))


@pytest.fixture
def target(make_database, billing_project):
    conn = make_database("truth")
    pg_exec(conn, TARGET_DDL)
    return target_for(conn, billing_project, name="truth-dev")


def ops(*args) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("ops", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue() + f"\n{exc}", exc.returncode
    return out.getvalue(), 0


def explained_keys(vr: VerificationReport, table: str) -> list[str]:
    t = next(t for t in vr.report["tables"] if t["name"] == table)
    return sorted(str(s["key"]) for f in t["findings"] if f["check"] == "explained" for s in f["samples"])


def test_null_keys_keyless_appends_and_the_linked_copy_through_the_worker(
    transactional_db, celery_worker_proc, dba, source, target
) -> None:
    copy = wait_run_finished(copying.schedule_copy(target=target, source=source, user=dba), timeout=120)
    assert copy.status == Run.Status.SUCCEEDED_REJECTS, (copy.error, celery_worker_proc.log_text()[-3000:])
    assert pg_exec(target.conn(), "SELECT count(*) FROM events WHERE at < '2000-01-01'") == [(0,)]

    # the rejects CSV names both tables (Codes -> codes) and keys the NULL-key row by rowid
    body = b"".join(client_for(dba).get(reverse("admin:ops_run_rejects_csv", args=[copy.pk])).streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [(r["source_table"], r["target_table"], r["key"]) for r in rows] == [("Codes", "codes", "rowid:21")]

    # the admin's verify form links the copy's rejects by its run number
    client = client_for(dba)
    url = reverse("admin:ops_target_verify", args=[target.pk])
    form = client.get(url).content.decode()
    assert 'name="copy_run"' in form and f"#{copy.pk}: copy id {copy.params['copy_id']}" in form
    response = client.post(url, {"path": source, "copy_run": str(copy.pk), "with_source": "1"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    check = wait_run_finished(Run.objects.filter(operation=Run.Operation.VERIFY).latest("pk"), timeout=120)
    assert check.params["after_copy"] == copy.pk
    vr = VerificationReport.objects.get(run=check)
    assert check.status == Run.Status.SUCCEEDED and vr.status == "warn", vr.report
    assert explained_keys(vr, "codes") == ["rowid:21"]
    bad = client.post(url, {"path": source, "copy_run": "999999", "with_source": "1"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()  # only its copy runs

    # the CLI takes the same choice: --copy-run N
    text, code = ops("--user", dba.username, "verify", target.name, "--sqlite", source, "--copy-run", str(copy.pk),
                     "--wait")
    run = Run.objects.filter(operation=Run.Operation.VERIFY).latest("pk")
    assert code == 0 and run.params["after_copy"] == copy.pk, text
    assert "rowid:21" in text and "None" not in text
    assert explained_keys(VerificationReport.objects.get(run=run), "codes") == ["rowid:21"]
    text, code = ops("--user", dba.username, "verify", target.name, "--sqlite", source, "--copy-run", "abc")
    assert code != 0 and "must be a run number" in text

    # append into the filled keyless table: refused, nothing written; append_duplicates: amber, named
    text, code = ops("--user", dba.username, "copy", target.name, "--sqlite", source, "--tables", "readings",
                     "--if-not-empty", "append", "--wait")
    refused = Run.objects.filter(operation="copy").latest("pk")
    assert refused.status == Run.Status.FAILED and refused.error_code == "copy_keyless_append", text
    assert "public.readings (12 rows)" in refused.error
    assert pg_exec(target.conn(), "SELECT count(*) FROM readings") == [(12,)]
    text, code = ops("--user", dba.username, "copy", target.name, "--sqlite", source, "--tables", "readings",
                     "--if-not-empty", "append_duplicates", "--wait")
    dup = Run.objects.filter(operation="copy").latest("pk")
    assert code == 4 and dup.status == Run.Status.SUCCEEDED_REJECTS, text
    assert "their rows may now be there twice: public.readings (12 rows held)" in dup.progress_data["outcome"]
    assert "DUPLICATED: appended into keyless table public.readings" in text
    assert pg_exec(target.conn(), "SELECT count(*) FROM readings") == [(24,)]
