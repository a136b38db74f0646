"""Safety findings on plan SQL: the portal's pglast rules and squawk."""

from migrations_ops.schema.safety import check_plan_sql, review_revision_source, split_steps

PLAN = """BEGIN;
-- Running upgrade  -> a1
CREATE TABLE t (id int PRIMARY KEY, c text);
CREATE INDEX ix_u_c ON u (c);
UPDATE alembic_version SET version_num='a1';
COMMIT;
BEGIN;
-- Running upgrade a1 -> b2
ALTER TABLE t DROP COLUMN c;
ALTER TABLE t ADD COLUMN n int NOT NULL;
ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES u(id) ON DELETE CASCADE;
ALTER TABLE t RENAME COLUMN id TO ident;
DELETE FROM t;
COMMIT;
"""


def test_it_ties_findings_to_the_revision_that_emits_them():
    found = check_plan_sql(PLAN, use_squawk=False)
    by_rule = {f.rule: f for f in found}
    assert by_rule["index-not-concurrent"].revision == "a1"
    for rule in ("data-loss-drop-column", "not-null-without-default", "fk-validated-under-lock",
                 "fk-cascade", "rename", "data-loss-delete-all"):
        assert by_rule[rule].revision == "b2", rule
    assert found[0].level == "danger"


def test_it_does_not_flag_the_safe_forms():
    safe = """-- Running upgrade  -> a1
COMMIT;
CREATE INDEX CONCURRENTLY ix ON t (c);
ALTER TABLE t ADD COLUMN n int NOT NULL DEFAULT 0;
ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES u(id) NOT VALID;
UPDATE t SET n = 1 WHERE id BETWEEN 1 AND 1000;
"""
    assert check_plan_sql(safe, use_squawk=False) == ()


def test_it_runs_squawk_and_leaves_out_what_the_runner_enforces():
    found = [f for f in check_plan_sql(PLAN) if f.source == "squawk"]
    rules = {f.rule for f in found}
    assert {"ban-drop-column", "adding-required-field", "renaming-column"} <= rules
    assert not rules & {"require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts"}
    assert {f.revision for f in found} <= {"a1", "b2"}


def test_it_reports_unparsable_sql_instead_of_crashing():
    found = check_plan_sql("-- Running upgrade  -> a1\nALTER TABLE WHAT;", use_squawk=False)
    assert [f.rule for f in found] == ["unparsable-sql"]


def test_it_splits_downgrade_steps_by_the_revision_undone():
    sql = "-- Running downgrade b2 -> a1\nDROP TABLE x;\n-- Running downgrade a1 -> \nDROP TABLE y;"
    assert [c.revision for c in split_steps(sql)] == ["b2", "a1"]


def _revision(tmp_path, name, doc, downgrade_body):
    path = tmp_path / f"{name}.py"
    path.write_text(
        f'"""{doc}"""\nfrom alembic import op\nrevision = "{name}"\ndown_revision = None\n\n'
        f"def upgrade():\n    op.add_column('t', None)\n\ndef downgrade():\n{downgrade_body}\n"
    )
    return path


def test_it_flags_a_downgrade_that_does_nothing(tmp_path):
    found = review_revision_source(_revision(tmp_path, "a1", "Add c", '    """Nothing."""\n    pass'), "a1")
    assert [(f.rule, f.level, f.revision) for f in found] == [("downgrade-not-implemented", "danger", "a1")]


def test_it_wants_data_loss_marked_in_the_docstring(tmp_path):
    body = "    op.drop_column('t', 'c')"
    unmarked = review_revision_source(_revision(tmp_path, "b1", "Add c", body))
    marked = review_revision_source(_revision(tmp_path, "b2", "Add c\n\nData loss on downgrade: drops c.", body))
    assert [f.rule for f in unmarked] == ["unmarked-data-loss"]
    assert marked == ()


def test_it_does_not_flag_locks_on_a_table_created_in_the_same_step():
    sql = "-- Running upgrade  -> a1\nCREATE TABLE n (id int, u int);\nCREATE INDEX ix ON n (u);\n" \
          "ALTER TABLE n ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES x(id);\n"
    assert check_plan_sql(sql, use_squawk=False) == ()
