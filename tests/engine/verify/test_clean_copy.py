"""A clean copy passes with no false alarm."""

from __future__ import annotations

from migrations_ops.verify import PASS, verify


def test_it_passes_a_clean_billing_copy_with_nasty_values(billing):
    target, src = billing
    report = verify(target, src)
    assert report.problems() == []
    assert report.status == PASS
    assert {t.name for t in report.tables} == {"users", "invoices", "invoice_lines", "line_notes"}
    users = report.table("users")
    assert (users.source_rows, users.target_rows) == (6, 6)
    checks = {f.check for f in users.findings}
    assert {"counts", "checksum", "sequence"} <= checks
    assert report.header.source.integrity_check == ("ok",)
    assert len(report.header.source.sha256) == 64


def test_it_passes_a_clean_big_table(events):
    target, src, rows = events
    report = verify(target, src)
    assert report.problems() == []
    t = report.table("events")
    assert (t.source_rows, t.target_rows) == (rows, rows)
