"""Tables and columns with reserved words, spaces, quotes and Japanese names copy correctly."""

from __future__ import annotations

from copy_helpers import pg_exec

from migrations_ops.copy import CopyOptions, copy_database, list_rejects, preflight

NASTY_DDL = (
    'CREATE TABLE "order" ("user" TEXT, "references" INTEGER, "select" REAL, "order id" INTEGER PRIMARY KEY);\n'
    'CREATE TABLE "we""ird table" ("col ""quoted""" TEXT, "日本語の列" TEXT, '
    '"group" INTEGER REFERENCES "order"("order id"));\n'
    'CREATE TABLE "顧客" ("名前" TEXT NOT NULL, "作成日" DATETIME);\n'
)
ROWS = {
    "order": [("alice", 1, 1.5, 10), ("bob", 2, None, 11)],
    'we"ird table': [("q\"uote", "値", 10), ("x", "y", 99)],
    "顧客": [("山田", "2024-03-01T10:00:00+09:00")],
}


def test_it_copies_nasty_identifiers_into_existing_tables(make_sqlite, target_db) -> None:
    path = make_sqlite(NASTY_DDL, ROWS)
    pg_exec(target_db, 'CREATE TABLE "order" ("order id" integer PRIMARY KEY, "user" text, "references" bigint, "select" double precision)')
    pg_exec(target_db, 'CREATE TABLE "we""ird table" ("col ""quoted""" text, "日本語の列" text, '
            '"group" integer REFERENCES "order"("order id"))')
    pg_exec(target_db, 'CREATE TABLE "顧客" ("名前" text NOT NULL, "作成日" timestamptz)')
    assert preflight(path, target_db).problems == ()
    summary = copy_database(path, target_db, CopyOptions(), copy_id="名前 'x'")
    assert summary.rows_imported == 5 and list_rejects(target_db, "名前 'x'") == []
    assert pg_exec(target_db, 'SELECT "user", "references", "select" FROM "order" ORDER BY 1') == [
        ("alice", 1, 1.5), ("bob", 2, None)]
    assert pg_exec(target_db, 'SELECT "col ""quoted""", "日本語の列" FROM "we""ird table" ORDER BY 1') == [
        ('q"uote', "値"), ("x", "y")]
    fk = [f for f in summary.foreign_keys if f.table == 'we"ird table'][0]
    assert fk.orphans == 1 and fk.sample_keys == ("99",)


def test_it_creates_missing_tables_with_mapped_types(make_sqlite, target_db) -> None:
    path = make_sqlite(NASTY_DDL, ROWS)
    copy_database(path, target_db, CopyOptions(create_missing_tables=True), copy_id="create")
    types = dict(pg_exec(target_db, "SELECT column_name, data_type FROM information_schema.columns "
                                    "WHERE table_name IN ('order', '顧客')"))
    assert types == {"user": "text", "references": "bigint", "select": "double precision", "order id": "bigint",
                     "名前": "text", "作成日": "timestamp with time zone"}
    assert pg_exec(target_db, 'SELECT "名前", "作成日" = %s FROM "顧客"', ("2024-03-01T01:00:00Z",)) == [("山田", True)]
