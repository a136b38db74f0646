"""Locks from the parse tree, and findings grouped by rule with their table.column objects."""

from __future__ import annotations

from migrations_ops.risk.assess import HIGH, LOW, MODERATE, assess_plan
from migrations_ops.risk.grouping import group_findings
from migrations_ops.risk.live import TableStats
from migrations_ops.risk.locks import plan_locks
from migrations_ops.schema.safety import check_plan_sql

SQL = """BEGIN;
-- Running upgrade  -> a1
CREATE TABLE fresh (id SERIAL NOT NULL, at TIMESTAMP WITHOUT TIME ZONE, n INTEGER);
CREATE INDEX ix_old_c ON old (c);
CREATE INDEX CONCURRENTLY ix_old_d ON old (d);
ALTER TABLE old ADD CONSTRAINT fk_old_fresh FOREIGN KEY (f) REFERENCES fresh (id);
ALTER TABLE old ALTER COLUMN c TYPE bigint;
ALTER TABLE fresh ALTER COLUMN n TYPE bigint;
DROP TABLE gone;
COMMIT;
"""


def test_it_reads_each_statements_lock_from_the_parse_tree():
    got = [(lk.table, lk.lock, lk.work, lk.what) for lk in plan_locks(SQL)]
    assert got == [
        ("fresh", "ACCESS EXCLUSIVE", "create", "CREATE TABLE"),
        ("old", "SHARE", "scan", "CREATE INDEX ix_old_c"),
        ("old", "SHARE UPDATE EXCLUSIVE", "scan", "CREATE INDEX CONCURRENTLY ix_old_d"),
        ("old", "SHARE ROW EXCLUSIVE", "scan", "ADD FOREIGN KEY"),
        ("fresh", "SHARE ROW EXCLUSIVE", "metadata", "referenced by a new FOREIGN KEY"),
        ("old", "ACCESS EXCLUSIVE", "rewrite", "ALTER COLUMN TYPE"),
        ("fresh", "ACCESS EXCLUSIVE", "rewrite", "ALTER COLUMN TYPE"),
        ("gone", "ACCESS EXCLUSIVE", "drop", "DROP TABLE"),
    ]


def _stats(name: str, rows: int, sessions: int = 0) -> TableStats:
    return TableStats(name, f"public.{name}", rows, rows * 100, sessions, 0.0)


def test_it_weighs_each_statement_on_the_live_table():
    risk = assess_plan(plan_locks(SQL), {"old": _stats("old", 50_000), "gone": _stats("gone", 10)})
    texts = [r.text for r in risk.reasons]
    assert risk.level == HIGH  # DROP TABLE of a table with rows
    assert texts[0].startswith("DROP TABLE deletes the data of gone: 10 rows")
    assert any(t.startswith("ALTER COLUMN TYPE rewrites old (c): 50 k rows") for t in texts)
    assert not any("fresh" in t for t in texts)  # created by the plan: low
    assert {r.level for r in risk.reasons if r.table == "old"} == {MODERATE, LOW}


def test_it_groups_findings_by_rule_with_objects_and_folds_style_on_new_tables():
    findings = [f.to_json() for f in check_plan_sql(SQL)]
    risk = assess_plan(plan_locks(SQL), {"old": _stats("old", 50_000)}, findings)
    groups = group_findings(findings, SQL, created_tables=risk.created_tables,
                            hot_tables={r.table for r in risk.reasons if r.level != LOW})
    by_rule = {g.rule: g for g in groups}
    assert by_rule["prefer-timestamp-tz"].objects == ("fresh.at",)
    assert by_rule["prefer-timestamp-tz"].style_only and by_rule["prefer-timestamp-tz"].level == "info"
    assert by_rule["data-loss-drop"].decisive and by_rule["data-loss-drop"].objects == ("gone",)
    assert by_rule["table-rewrite"].objects == ("old.c",)  # the safety review skips tables the step creates
    assert groups[0].decisive and groups[-1].style_only
