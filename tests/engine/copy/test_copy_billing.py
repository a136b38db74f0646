"""The billing file: every planted bad value is rejected with its reason, orphans are reported, not rejected."""

from __future__ import annotations

import pytest
from copy_helpers import pg_exec

from migrations_ops.copy import CopyOptions, TooManyRejects, copy_database, format_summary, list_rejects


def test_it_rejects_each_planted_value_with_its_reason(billing_sqlite, billing_target) -> None:
    path, manifest = billing_sqlite
    summary = copy_database(path, billing_target, CopyOptions(range_rows=700, batch_rows=200), copy_id="bill")
    got = {(r.table, r.key, r.column, r.code) for r in list_rejects(billing_target, "bill")}
    assert got == set(manifest.rejects)
    assert {r[3] for r in manifest.rejects} >= {"nul_in_text", "json_nul", "not_integer", "invalid_timestamp",
                                                 "invalid_json", "invalid_utf8"}
    for t in summary.tables:
        assert t.read == manifest.rows[t.table]
        assert t.imported + t.rejected == t.read
        assert pg_exec(billing_target, f"SELECT count(*) FROM {t.table}")[0][0] == t.imported
    assert summary.rows_rejected == len(manifest.rejects)


def test_it_puts_foreign_keys_back_and_reports_orphans(billing_sqlite, billing_target) -> None:
    path, manifest = billing_sqlite
    summary = copy_database(path, billing_target, CopyOptions(drop_secondary_indexes=True), copy_id="fk")
    fks = {f.table: f for f in summary.foreign_keys}
    assert fks["transactions"].orphans == manifest.orphans["transactions"] and not fks["transactions"].validated
    assert fks["device_auth"].orphans == manifest.orphans["device_auth"]
    assert fks["credits"].validated and fks["credits"].orphans == 0
    state = dict(pg_exec(billing_target, "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f'"))
    assert state == {"transactions_user_id_fkey": False, "device_auth_user_id_fkey": False,
                     "credits_user_id_fkey": True, "token_balances_user_id_fkey": True}
    indexes = {r[0] for r in pg_exec(billing_target, "SELECT indexname FROM pg_indexes WHERE tablename = 'transactions'")}
    assert {"ix_transactions_user_id", "ix_transactions_created_at"} <= indexes
    assert pg_exec(billing_target, "SELECT last_value FROM transactions_id_seq")[0][0] == manifest.rows["transactions"]
    assert [p for p, _ in summary.phases] == ["planning", "copy", "indexes", "foreign keys", "sequences", "analyze",
                                             "post-load other"]
    text = format_summary(summary)
    assert "Total import time" in text and "transactions" in text and "NOT VALID" in text
    analyzed = pg_exec(billing_target, "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
    assert analyzed[0][0] == 6


def test_it_stops_after_max_rejects_and_keeps_them(billing_sqlite, billing_target) -> None:
    path, manifest = billing_sqlite
    with pytest.raises(TooManyRejects) as exc:
        copy_database(path, billing_target, CopyOptions(max_rejects=2, tables=("transactions",)), copy_id="stop")
    assert exc.value.fields["limit"] == 2
    kept = list_rejects(billing_target, "stop")
    assert len(kept) >= 3
    assert pg_exec(billing_target, "SELECT count(*) FROM transactions")[0][0] == 0  # the range rolled back
