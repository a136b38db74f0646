"""The report survives JSON, exports to CSV, and two reports compare."""

from __future__ import annotations

import csv
import io
import json

from migrations_ops.progress import Progress
from migrations_ops.verify import FAIL, PASS, Report, compare_reports, verify


def test_it_round_trips_through_json_and_exports_csv(billing, pg_exec):
    target, src = billing
    pg_exec("UPDATE invoices SET note = 'changed' WHERE id = 1")
    report = verify(target, src)
    again = Report.from_json(report.to_json())
    assert again == report
    assert json.loads(report.to_json())["status"] == FAIL
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    changed = [r for r in rows if r["check"] == "changed"]
    assert len(changed) == 1 and changed[0]["table"] == "invoices" and changed[0]["columns"] == "note"
    assert json.loads(changed[0]["samples"]) == [{"key": 1, "columns": ["note"]}]
    assert len(rows) == len(report.all_findings())


def test_it_compares_two_reports_of_the_same_target(billing, pg_exec):
    target, src = billing
    clean = verify(target, src)
    pg_exec("SELECT setval('users_id_seq', 1)", "DELETE FROM line_notes WHERE id = 3")
    broken = verify(target, src)
    diff = compare_reports(clean, broken)
    assert (diff.old_status, diff.new_status) == (PASS, FAIL)
    assert {(f.check, f.table) for f in diff.new_problems} == {
        ("sequence", "users"), ("counts", "line_notes"), ("checksum", "line_notes"), ("missing", "line_notes")}
    assert ("line_notes", 3, 2) in diff.row_changes
    assert ("users", PASS, FAIL) in diff.status_changes
    back = compare_reports(broken, clean)
    assert {f.check for f in back.resolved} == {"sequence", "counts", "checksum", "missing"}
    assert back.new_problems == ()


def test_it_reports_progress_per_table_and_batch(billing):
    target, src = billing
    seen: list[Progress] = []
    verify(target, src, progress=seen.append)
    steps = [p.step for p in seen if p.step]
    assert {"users", "invoices", "invoice_lines", "line_notes"} <= set(steps)
    assert seen[-1].done == seen[-1].total == 4
