"""Planted differences: each is named in the report with its table, exact key and column."""

from __future__ import annotations

import sqlite3

import pytest
from verify_dataset import pg_connect

from migrations_ops.verify import FAIL, WARN, HeadTable, VerifyOptions, verify


def only(report, check, table):
    found = [f for f in report.all_findings() if f.check == check and f.table == table and f.status != "pass"]
    assert len(found) == 1, (check, table, found)
    return found[0]


@pytest.mark.parametrize("native_hash", [True, False], ids=["pghash", "md5"])
def test_it_locates_a_missing_an_extra_and_a_changed_row_in_a_big_table(events, native_hash):
    target, src, rows = events
    changed_id = rows // 2 + 1
    with pg_connect(target) as c:
        c.execute("DELETE FROM events WHERE id = 777")
        c.execute("INSERT INTO events SELECT id + 5, account_id, amount, score, note, paid, created_at, payload "
                  "FROM events WHERE id = %s", (rows,))
        c.execute("UPDATE events SET note = 'note changed' WHERE id = %s", (changed_id,))
    report = verify(target, src, options=VerifyOptions(native_hash=native_hash))
    t = report.table("events")
    assert t.status == FAIL
    assert (t.source_rows, t.target_rows) == (rows, rows)  # counts alone would not see it
    assert only(report, "missing", "events").samples == (777,)
    assert only(report, "extra", "events").samples == (rows + 5,)
    changed = only(report, "changed", "events")
    assert changed.samples == ({"key": changed_id, "columns": ["note"]},)
    assert changed.columns == ("note",)
    assert only(report, "checksum", "events").figures["rows_compared"] < 20_000


@pytest.mark.parametrize("native_hash", [True, False], ids=["pghash", "md5"])
def test_it_sees_a_one_microsecond_change_and_a_json_value_change(billing, pg_exec, native_hash):
    """1.50 -> 1.5 in a jsonb document: equal to jsonb_hash_extended, different to the checksum."""
    target, src = billing
    pg_exec("UPDATE users SET created_at = created_at + interval '1 microsecond' WHERE id = 3",
            """UPDATE users SET prefs = '{"a": 1.5, "日本": {"a": true, "z": 1}}' WHERE id = 4""")
    report = verify(target, src, options=VerifyOptions(native_hash=native_hash))
    changed = only(report, "changed", "users")
    assert set(map(str, changed.samples)) == {str({"key": 3, "columns": ["created_at"]}),
                                              str({"key": 4, "columns": ["prefs"]})}


def test_it_finds_orphaned_foreign_keys_single_and_multi_column(billing, pg_exec):
    target, src = billing
    pg_exec("ALTER TABLE invoices DROP CONSTRAINT invoices_user_id_fkey",
            "INSERT INTO invoices VALUES (5, 99, '2024-01-01', 1, true, 'orphan')",
            "ALTER TABLE invoices ADD CONSTRAINT invoices_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) "
            "NOT VALID",
            "ALTER TABLE line_notes DROP CONSTRAINT line_notes_invoice_id_line_no_fkey",
            "INSERT INTO line_notes VALUES (4, 2, 9, 'orphan line')",
            "ALTER TABLE line_notes ADD CONSTRAINT line_notes_invoice_id_line_no_fkey FOREIGN KEY (invoice_id, "
            "line_no) REFERENCES invoice_lines (invoice_id, line_no) NOT VALID",
            "SELECT setval('line_notes_id_seq', 4)")
    report = verify(target, src)
    inv = only(report, "orphans", "invoices")
    assert inv.status == FAIL and inv.columns == ("user_id",)
    assert inv.figures["orphans"] == 1 and inv.samples == ({"key": 5, "references": 99},)
    notes = only(report, "orphans", "line_notes")
    assert notes.columns == ("invoice_id", "line_no")
    assert notes.samples == ({"key": 4, "references": [2, 9]},)
    assert {f.figures["name"] for f in report.all_findings() if f.check == "not_valid"} == {
        "invoices_user_id_fkey", "line_notes_invoice_id_line_no_fkey"}


def test_it_reports_the_sources_own_orphans(billing):
    target, src = billing
    with sqlite3.connect(src) as lite:
        lite.execute("INSERT INTO invoices VALUES (9, 42, NULL, 1, 0, 'orphan in source')")
    report = verify(target, src)
    f = only(report, "source_orphans", "invoices")
    assert f.status == WARN and f.samples == (9,) and f.figures["references"] == "users"
    assert only(report, "missing", "invoices").samples == (9,)


def test_a_source_key_sqlite_cannot_check_is_named_and_the_others_are_still_checked(billing, pg_exec):
    """A key to columns without a unique index: SQLite's "foreign key mismatch" (a valid file all the same,
    foreign keys are off by default). The verification names it and goes on; it used to call the file unreadable."""
    target, src = billing
    with sqlite3.connect(src) as lite:
        lite.executescript("""
            CREATE TABLE "Tag Codes" (id INTEGER PRIMARY KEY, code TEXT);
            CREATE TABLE tagged (id INTEGER PRIMARY KEY, code TEXT REFERENCES "Tag Codes" (code));
            INSERT INTO "Tag Codes" VALUES (1, 'a'); INSERT INTO tagged VALUES (1, 'a'), (2, 'nowhere');
            INSERT INTO invoices VALUES (9, 42, NULL, 1, 0, 'orphan in source');
        """)
    pg_exec('CREATE TABLE "Tag Codes" (id bigint PRIMARY KEY, code text)',
            "CREATE TABLE tagged (id bigint PRIMARY KEY, code text)",
            """INSERT INTO "Tag Codes" VALUES (1, 'a')""", "INSERT INTO tagged VALUES (1, 'a'), (2, 'nowhere')")
    report = verify(target, src)
    f = only(report, "source_keys_unchecked", "tagged")
    assert f.status == WARN and 'foreign key mismatch - "tagged" referencing "Tag Codes"' in f.message
    assert only(report, "source_orphans", "invoices").samples == (9,)  # the other tables' keys still checked


def test_it_finds_nulls_in_not_null_columns(billing, pg_exec):
    target, src = billing
    pg_exec("ALTER TABLE invoices ADD CONSTRAINT note_required CHECK (note IS NOT NULL) NOT VALID")
    report = verify(target, src, head_schema={"users": HeadTable(not_null=frozenset({"name"}))})
    note = only(report, "nulls", "invoices")
    assert (note.status, note.columns, note.samples) == (FAIL, ("note",), (2,))
    assert "note_required" in note.message
    name = only(report, "nulls", "users")
    assert (name.columns, name.samples, name.figures["rule"]) == (("name",), (3,), "is NOT NULL in the head schema")
    src_name = [f for f in report.all_findings() if f.check == "source_nulls" and f.table == "users"]
    assert [(f.columns, f.samples) for f in src_name] == [(("name",), (3,))]


def test_it_names_source_nulls_in_a_column_the_target_enforces_once_the_table_differs(billing, pg_exec):
    # a matching table needs no scan for them (no target row can hold the NULL); a differing one gets it
    target, src = billing
    pg_exec("ALTER TABLE users ALTER COLUMN score SET NOT NULL")
    clean = verify(target, src, tables=["users"])
    assert [f for f in clean.all_findings() if f.check == "source_nulls"] == []
    with sqlite3.connect(src) as lite:
        lite.execute("INSERT INTO users (id, email, is_admin, created_at, score) VALUES (7, 'g@x', 0, '2024-01-01', NULL)")
    report = verify(target, src, tables=["users"])
    assert only(report, "missing", "users").samples == (7,)
    f = only(report, "source_nulls", "users")
    assert (f.columns, f.samples, f.figures["rule"]) == (("score",), (7,), "is NOT NULL in the target")


def test_it_finds_null_and_duplicate_primary_keys_the_target_does_not_enforce(billing, pg_exec):
    target, src = billing
    pg_exec("CREATE TABLE audit_log (id bigint, what text)",
            "INSERT INTO audit_log VALUES (1, 'a'), (2, 'b'), (2, 'b again'), (NULL, 'c')", "ANALYZE audit_log")
    report = verify(target, src, head_schema={"audit_log": HeadTable(primary_key=("id",))})
    f = only(report, "primary_key", "audit_log")
    assert f.figures["null_keys"] == 1 and f.figures["duplicate_keys"] == 1 and f.samples == (2,)


@pytest.mark.parametrize("reset", ["SELECT setval('users_id_seq', 2)",
                                   "ALTER TABLE invoices ALTER COLUMN id RESTART WITH 1"])
def test_it_finds_a_sequence_behind_max_id(billing, pg_exec, reset):
    target, src = billing
    pg_exec(reset)
    report = verify(target, None)
    table = "users" if "users" in reset else "invoices"
    f = only(report, "sequence", table)
    assert f.status == FAIL and f.columns == ("id",)
    assert f.samples == ({"users": 6, "invoices": 4}[table],)
    assert f.figures["next_value"] == {"users": 3, "invoices": 1}[table]


def test_it_finds_an_invalid_index_a_not_valid_constraint_and_a_table_never_analyzed(billing, pg_exec):
    target, src = billing
    with pytest.raises(Exception, match="could not create unique index"):
        pg_exec("CREATE UNIQUE INDEX CONCURRENTLY users_admin_uq ON users (is_admin)")
    pg_exec("ALTER TABLE invoices ADD CONSTRAINT total_positive CHECK (total > 0) NOT VALID",
            "CREATE TABLE fresh (id int PRIMARY KEY) WITH (autovacuum_enabled = false)",
            "INSERT INTO fresh VALUES (1), (2)")
    report = verify(target, None)
    assert report.header.mode == "target-only"
    idx = only(report, "invalid_index", "users")
    assert idx.status == WARN and idx.figures["name"] == "users_admin_uq"
    assert only(report, "not_valid", "invoices").figures["name"] == "total_positive"
    assert only(report, "never_analyzed", "fresh").status == WARN
    # target-only mode runs checks 4-7 only
    assert not {"counts", "checksum", "missing", "extra", "changed"} & {f.check for f in report.all_findings()}


def test_it_locates_rows_by_a_composite_key(billing, pg_exec):
    target, src = billing
    pg_exec("UPDATE invoice_lines SET amount = 40.06 WHERE invoice_id = 1 AND line_no = 2",
            "DELETE FROM invoice_lines WHERE invoice_id = 2 AND line_no = 1")
    report = verify(target, src)
    assert only(report, "changed", "invoice_lines").samples == ({"key": [1, 2], "columns": ["amount"]},)
    assert only(report, "missing", "invoice_lines").samples == ([2, 1],)


def test_it_reads_the_head_schema_from_sqlalchemy_metadata(billing, pg_exec):
    import sqlalchemy as sa

    from migrations_ops.verify import head_schema_from_metadata

    md = sa.MetaData()
    sa.Table("users", md, sa.Column("id", sa.BigInteger, primary_key=True), sa.Column("name", sa.Text, nullable=False))
    sa.Table("audit_log", md, sa.Column("id", sa.BigInteger, primary_key=True))
    head = head_schema_from_metadata(md)
    assert head["users"] == HeadTable(not_null=frozenset({"id", "name"}), primary_key=("id",))
    target, src = billing
    report = verify(target, None, head_schema=head)
    assert only(report, "nulls", "users").samples == (3,)


def test_it_names_tables_missing_on_either_side_and_skips_virtual_ones(billing, pg_exec):
    target, src = billing
    with sqlite3.connect(src) as lite:
        lite.execute("CREATE TABLE legacy (id INTEGER PRIMARY KEY)")
        lite.execute("INSERT INTO legacy VALUES (1), (2)")
    pg_exec("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)", "ANALYZE alembic_version")
    report = verify(target, src)
    legacy = report.table("legacy")
    assert (legacy.status, legacy.source_rows, legacy.target_rows) == (FAIL, 2, None)
    assert report.table("alembic_version").status == "pass"
    assert not any(t.name.startswith("notes_fts") for t in report.tables)  # FTS5 table and its shadow tables


def test_it_sees_a_sign_flip_swapped_columns_and_a_nested_json_change(billing, pg_exec):
    """What PostgreSQL's per-type hashes alone would miss: hash_numeric_extended ignores the sign (the seed
    carries it), XOR of unseeded columns would not see two values swap, jsonb_hash_extended hashes
    [[1], 2] as [[1, 2]] (json is hashed as jsonb text)."""
    target, src = billing
    pg_exec("UPDATE invoices SET total = -total WHERE id = 4",
            "UPDATE users SET email = name, name = email WHERE id = 1",
            """UPDATE users SET prefs = '{"a": [[1], 2], "b": 1}' WHERE id = 1""")
    report = verify(target, src)
    assert only(report, "checksum", "invoices").figures["method"] == "pghash"
    assert only(report, "changed", "invoices").samples == ({"key": 4, "columns": ["total"]},)
    assert only(report, "changed", "users").samples == ({"key": 1, "columns": ["email", "name", "prefs"]},)
