"""The checks run beside the checksums (the source's foreign-key check, the target-only checks on a session
of their own) give the report the inline path gives: same findings, same order, same figures and samples."""

from __future__ import annotations

import sqlite3

from migrations_ops.verify import HeadTable, VerifyOptions, verify


def _comparable(report) -> dict:
    d = report.to_dict()
    for t in d["tables"]:
        t.pop("seconds")
    d["header"] = {k: v for k, v in d["header"].items() if k not in ("started_at", "finished_at", "settings")}
    return d


def test_beside_and_inline_reports_are_identical(billing, pg_exec):
    target, src = billing
    pg_exec("ALTER TABLE invoices DROP CONSTRAINT invoices_user_id_fkey",
            "INSERT INTO invoices VALUES (5, 99, '2024-01-01', 1, true, 'orphan')",
            "ALTER TABLE invoices ADD CONSTRAINT invoices_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) "
            "NOT VALID",
            "ALTER TABLE invoices ADD CONSTRAINT note_required CHECK (note IS NOT NULL) NOT VALID",
            "UPDATE users SET name = 'changed' WHERE id = 1")
    with sqlite3.connect(src) as lite:
        lite.execute("INSERT INTO invoices VALUES (9, 42, NULL, 1, 0, 'orphan in source')")
    head = {"users": HeadTable(not_null=frozenset({"name"}))}
    inline = verify(target, src, options=VerifyOptions(target_sessions=2), head_schema=head)
    beside = verify(target, src, options=VerifyOptions(target_sessions=3), head_schema=head)
    checks = {f.check for f in beside.all_findings() if f.status != "pass"}
    assert {"orphans", "source_orphans", "nulls", "changed", "missing", "not_valid"} <= checks, checks
    assert _comparable(beside) == _comparable(inline)
    assert [t.name for t in beside.tables] == [t.name for t in inline.tables]
