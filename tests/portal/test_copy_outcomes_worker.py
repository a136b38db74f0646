"""With a real Celery worker: a second copy of the same file into the filled target, under each --if-not-empty mode.

What must hold: ``refuse`` (the default) fails with a message naming
the tables and their row counts and writes nothing; ``append`` ends
``succeeded_rejects`` (amber, exit 4) with the duplicates counted by reason in
the CLI and on the run; an append that imports nothing ends ``failed`` and
says why; ``truncate`` empties the tables in the plan's transaction, is
audited with the rows removed, and the copy then succeeds. A NULL primary key
is rejected under ``rowid:N``; ``ops rejects`` shows the same rows as the
admin's CSV; the summary's phases add up to the run's wall time.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from portal.ops import copying
from portal.ops.models import AuditEvent, Run
from tests.factories import RunFactory, target_for
from tests.portal.admin_helpers import billing_project, client_for  # noqa: F401
from tests.portal.conftest import wait_run_finished
from tests.portal.copy_helpers import import_dir, make_sqlite, pg_exec, rel  # noqa: F401

pytestmark = [pytest.mark.worker]

DDL = ("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);"
       "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), total INTEGER);"
       "CREATE TABLE codes (code TEXT PRIMARY KEY, qty INTEGER);")
ROWS = {"users": [(i, f"u{i}@x") for i in range(1, 31)],
        "orders": [(i, 1 + i % 30, i * 10) for i in range(1, 71)],
        "codes": [("a", 1), (None, 2), ("c", 3)]}
TARGET_DDL = ("CREATE TABLE users (id bigint PRIMARY KEY, email text);"
              "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id), total int);"
              "CREATE TABLE codes (code text PRIMARY KEY, qty int)")


@pytest.fixture
def source(import_dir):
    return rel(make_sqlite(import_dir / "shop.sqlite", DDL, ROWS))


@pytest.fixture
def shop_target(make_database, billing_project):
    conn = make_database("outcome")
    pg_exec(conn, TARGET_DDL)
    return target_for(conn, billing_project, name="shop-dev")


def ops(*args) -> tuple[str, int]:
    """Run ``manage.py ops``; return its output and exit code."""
    out = io.StringIO()
    try:
        call_command("ops", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue() + f"\n{exc}", exc.returncode
    return out.getvalue(), 0


def counts(target) -> tuple[int, int]:
    return pg_exec(target.conn(), "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM orders)")[0]


def copy_and_wait(target, source, dba, **options) -> Run:
    run = copying.schedule_copy(target=target, source=source, user=dba, tables=["users", "orders"], options=options)
    return wait_run_finished(run, timeout=120)


def test_it_refuses_appends_fails_and_truncates_a_second_copy(
    transactional_db, celery_worker_proc, dba, source, shop_target
) -> None:
    first = copy_and_wait(shop_target, source, dba)
    assert first.status == Run.Status.SUCCEEDED, (first.error, celery_worker_proc.log_text()[-3000:])
    assert first.progress_data["outcome"] == "all 100 rows imported"
    phases = first.progress_data["summary"]["phases"]
    assert [p[0] for p in phases][:5] == ["queued", "planning", "waiting for workers", "copy", "waiting for post-load"]
    assert {"indexes", "foreign keys", "sequences", "analyze", "post-load other"} <= {p[0] for p in phases}
    wall = (first.finished_at - first.created_at).total_seconds()
    assert abs(sum(p[1] for p in phases) - wall) < 0.01 and all(p[1] >= 0 for p in phases)
    total_line = next(ln for ln in first.progress_data["summary_text"].splitlines() if ln.startswith("Total import time"))
    assert abs(float(total_line.split()[-1]) - wall) < 0.01, (total_line, wall)

    # refuse (the default): failed, the message names the tables and counts, nothing written, nothing blocked
    refused = copy_and_wait(shop_target, source, dba)
    assert refused.status == Run.Status.FAILED and refused.error_code == "copy_target_not_empty"
    assert "public.users (30 rows)" in refused.error and "public.orders (70 rows)" in refused.error
    assert "--if-not-empty truncate" in refused.error and "--if-not-empty append" in refused.error
    assert counts(shop_target) == (30, 70)
    assert pg_exec(shop_target.conn(), "SELECT count(*) FROM mop.copy_run") == [(1,)]
    assert copying.unfinished_copy(shop_target) is None

    # append with 10 orders gone: those 10 come back, 90 duplicates are named rejects -> amber, exit 4
    pg_exec(shop_target.conn(), "DELETE FROM orders WHERE id > 60")
    text, code = ops("--user", dba.username, "copy", shop_target.name, "--sqlite", source, "--tables", "users",
                     "orders", "--if-not-empty", "append", "--wait")
    appended = Run.objects.filter(operation="copy").latest("pk")
    assert code == 4 and appended.status == Run.Status.SUCCEEDED_REJECTS, text
    assert counts(shop_target) == (30, 70)
    assert "rejects by reason: duplicate_key 90" in text and "  orders: duplicate_key 60" in text
    assert "  users: duplicate_key 30" in text
    assert "Outcome: Succeeded with rejects: 10 of 100 rows imported, 90 rejected (duplicate_key 90)" in text
    assert text.count("Total import time") == 1  # the summary once, with the run's last log line
    assert appended.progress_data["summary"]["rejects_by_table"] == {"orders": {"duplicate_key": 60},
                                                                     "users": {"duplicate_key": 30}}
    finished = AuditEvent.objects.get(run=appended, action="run.finished")
    assert finished.outcome == "succeeded_rejects" and finished.params["rejects_by_reason"] == {"duplicate_key": 90}
    assert appended.progress_data.get("verify_run_id")
    page = client_for(dba).get(reverse("admin:ops_run_change", args=[appended.pk])).content.decode()
    assert 'mop-status-succeeded_rejects' in page and "Succeeded with rejects" in page
    assert "10 of 100 rows imported, 90 rejected" in page and "mop-has-rejects" in page

    # append again: every row is already there -> failed, saying why; nothing to resume, nothing blocked
    text, code = ops("--user", dba.username, "copy", shop_target.name, "--sqlite", source, "--tables", "users",
                     "orders", "--if-not-empty", "append", "--wait")
    nothing = Run.objects.filter(operation="copy").latest("pk")
    assert code == 1 and nothing.status == Run.Status.FAILED, text
    assert nothing.error == "0 of 100 rows imported: all rejected as duplicate keys (the target already held them)"
    assert nothing.error_code == "copy_nothing_imported" and "truncate" in nothing.error_explanation
    assert AuditEvent.objects.get(run=nothing, action="run.finished").outcome == "failed"
    assert "verify_run_id" not in nothing.progress_data
    assert not copying.can_resume(nothing) and copying.unfinished_copy(shop_target) is None

    # truncate: one TRUNCATE in the plan's transaction, audited with the rows removed; the copy succeeds
    pg_exec(shop_target.conn(), "INSERT INTO users VALUES (500, 'only in the target')")
    text, code = ops("--user", dba.username, "copy", shop_target.name, "--sqlite", source, "--tables", "users",
                     "orders", "--if-not-empty", "truncate", "--wait")
    truncated = Run.objects.filter(operation="copy").latest("pk")
    assert code == 0 and truncated.status == Run.Status.SUCCEEDED, text
    assert counts(shop_target) == (30, 70)
    assert pg_exec(shop_target.conn(), "SELECT count(*) FROM users WHERE id = 500") == [(0,)]
    event = AuditEvent.objects.get(run=truncated, action="run.copy_truncated")
    assert event.params["tables"] == {"public.users": 31, "public.orders": 70} and event.params["rows_removed"] == 101
    assert "Emptied before the copy" in text and "rejects: none" in text
    page = client_for(dba).get(reverse("admin:ops_run_change", args=[truncated.pk])).content.decode()
    assert "emptied first: <code>public.users</code> (31 rows)" in page


def test_it_keys_a_null_primary_key_by_rowid_and_ops_rejects_shows_it(
    transactional_db, celery_worker_proc, dba, source, shop_target
) -> None:
    run = copying.schedule_copy(target=shop_target, source=source, user=dba, tables=["codes"])
    run = wait_run_finished(run, timeout=120)
    assert run.status == Run.Status.SUCCEEDED_REJECTS, (run.error, celery_worker_proc.log_text()[-3000:])
    assert pg_exec(shop_target.conn(), "SELECT code FROM codes ORDER BY 1") == [("a",), ("c",)]

    text, code = ops("rejects", str(run.pk))
    assert code == 0 and "1 record(s)" in text and "by reason: null_in_not_null 1" in text
    assert "key rowid:2" in text and "None" not in text
    rows = json.loads(ops("rejects", str(run.pk), "--json")[0])
    assert [(r["table"], r["key"], r["column"], r["code"]) for r in rows] == [("codes", "rowid:2", "code",
                                                                              "null_in_not_null")]
    body = ops("rejects", str(run.pk), "--csv")[0]
    admin_csv = b"".join(client_for(dba).get(reverse("admin:ops_run_rejects_csv", args=[run.pk])).streaming_content)
    assert list(csv.DictReader(io.StringIO(body))) == list(csv.DictReader(io.StringIO(admin_csv.decode())))
    assert [r["key"] for r in json.loads(ops("rejects", str(run.pk), "--table", "CODES", "--json")[0])] == ["rowid:2"]
    text, code = ops("rejects", str(run.pk), "--table", "users")  # not loaded by this copy: said, not "0 record(s)"
    assert code == 2 and "loaded no table 'users' (it loaded: codes)" in text, text
    text, code = ops("rejects", "999999")
    assert code == 2 and "No run #999999" in text
    upgrade = RunFactory(target=run.target)
    text, code = ops("rejects", str(upgrade.pk))
    assert code == 2 and f"Run #{upgrade.pk} is upgrade head, not a copy" in text
