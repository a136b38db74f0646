"""Rows located on any key: mixed-case names, text, uuid and composite keys, no key.

The SQLite file is built here with the names a real sample has (``Customer``,
``CustomerCode``); the target holds them lower-cased, as a copy creates them.
Differences are planted in the target; each must be named by key (or, without
a key, by full-row hash with sample rows), with exact counts beyond the limit.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from pathlib import Path

import pytest
from verify_dataset import pg_connect

from migrations_ops.names import AmbiguousName
from migrations_ops.verify import FAIL, PASS, VerifyOptions, verify

ROWS = 3000
CODES = [f"C{i:05d}" for i in range(ROWS)] + ["a-lower", "Zeta", "zeta", "Ärger", "éclair", "日本", "z~"]
TOKENS = [uuid.uuid5(uuid.NAMESPACE_DNS, f"token-{i}") for i in range(ROWS)]
SKUS = [(f"SKU-{i % 50:03d}", i // 50) for i in range(ROWS)]
# small leaves and factor: a 3,000-row table is split over several levels of key boundaries
OPTS = VerifyOptions(leaf_rows=40, bisection_factor=4, batch_rows=500)


def _build(target, path: Path) -> None:
    """Four tables, equal on both sides: text key, uuid key (SQLite: text in five spellings, or 16 bytes),
    composite key, no key."""
    lite = sqlite3.connect(path)
    lite.executescript("""
        CREATE TABLE "Customer" ("CustomerCode" TEXT PRIMARY KEY, "Name" TEXT, "Balance" INTEGER);
        CREATE TABLE "Token" ("TokenId" TEXT PRIMARY KEY, "Label" TEXT);
        CREATE TABLE "OrderLine" ("Sku" TEXT, "OrderNo" INTEGER, "Qty" INTEGER, PRIMARY KEY ("Sku", "OrderNo"));
        CREATE TABLE "Reading" ("Sensor" TEXT, "Value" INTEGER);
    """)
    customers = [(c, f"name {i}", i * 3) for i, c in enumerate(CODES)]
    forms = (str, lambda t: str(t).upper(), lambda t: "{" + str(t) + "}", lambda t: t.hex.upper(), lambda t: t.bytes)
    tokens = [(forms[i % len(forms)](t), f"label {i}") for i, t in enumerate(TOKENS)]
    lines = [(s, o, i % 7) for i, (s, o) in enumerate(SKUS)]
    readings = [(f"s{i % 10}", i % 100) for i in range(ROWS)]  # 30 copies of every row: a multiset
    lite.executemany('INSERT INTO "Customer" VALUES (?, ?, ?)', customers)
    lite.executemany('INSERT INTO "Token" VALUES (?, ?)', tokens)
    lite.executemany('INSERT INTO "OrderLine" VALUES (?, ?, ?)', lines)
    lite.executemany('INSERT INTO "Reading" VALUES (?, ?)', readings)
    lite.commit()
    lite.close()
    with pg_connect(target) as pg, pg.cursor() as cur:
        cur.execute("CREATE TABLE customer (customercode text PRIMARY KEY, name text, balance integer)")
        cur.execute("CREATE TABLE token (tokenid uuid PRIMARY KEY, label text)")
        cur.execute("CREATE TABLE orderline (sku text, orderno integer, qty integer, PRIMARY KEY (sku, orderno))")
        cur.execute("CREATE TABLE reading (sensor text, value integer)")
        cur.executemany("INSERT INTO customer VALUES (%s, %s, %s)", customers)
        cur.executemany("INSERT INTO token VALUES (%s, %s)", [(str(t), f"label {i}") for i, t in enumerate(TOKENS)])
        cur.executemany("INSERT INTO orderline VALUES (%s, %s, %s)", lines)
        cur.executemany("INSERT INTO reading VALUES (%s, %s)", readings)
        cur.execute("ANALYZE")


@pytest.fixture
def shop(make_database, tmp_path):
    target = make_database("anykey")
    path = tmp_path / "shop.sqlite"
    _build(target, path)
    return target, path


def plant(target, *stmts: str) -> None:
    with pg_connect(target) as pg:
        for s in stmts:
            pg.execute(s)


def finding(report, check: str, table: str):
    found = [f for f in report.table(table).findings if f.check == check]
    assert len(found) == 1, (check, table, found)
    return found[0]


def test_it_pairs_mixed_case_tables_and_columns_and_passes_a_faithful_copy(shop):
    target, path = shop
    report = verify(target, path, options=OPTS)
    assert report.status == PASS, report.problems()
    assert {t.name: t.source_name for t in report.tables} == {
        "customer": "Customer", "token": "Token", "orderline": "OrderLine", "reading": "Reading"}
    assert report.table("customer").source_rows == len(CODES) == report.table("customer").target_rows
    assert finding(report, "checksum", "reading").status == PASS
    names = finding(report, "names", "customer")
    assert names.figures["columns"] == {"CustomerCode": "customercode", "Name": "name", "Balance": "balance"}
    assert "CustomerCode -> customercode" in names.message


@pytest.mark.parametrize("native_hash", [True, False], ids=["pghash", "md5"])
def test_it_locates_inserted_updated_and_deleted_rows_on_a_text_key(shop, native_hash):
    target, path = shop
    plant(target, "DELETE FROM customer WHERE customercode IN ('C01234', 'Ärger')",
          "INSERT INTO customer VALUES ('C99999', 'new', 1), ('Zebra', 'new too', 2)",
          "UPDATE customer SET name = 'renamed' WHERE customercode = '日本'",
          "UPDATE customer SET balance = -1 WHERE customercode = 'C00007'")
    report = verify(target, path, options=dataclasses.replace(OPTS, native_hash=native_hash))
    t = report.table("customer")
    assert t.status == FAIL and report.table("token").status == PASS
    assert sorted(finding(report, "missing", "customer").samples) == ["C01234", "Ärger"]
    assert sorted(finding(report, "extra", "customer").samples) == ["C99999", "Zebra"]
    changed = finding(report, "changed", "customer")
    assert sorted(changed.samples, key=str) == [{"key": "C00007", "columns": ["balance"]},
                                                {"key": "日本", "columns": ["name"]}]
    assert changed.figures["by_column"] == {"name": 1, "balance": 1}
    figures = finding(report, "checksum", "customer").figures
    assert figures["complete"] and figures["rows_compared"] < len(CODES)  # bisection, not a full fetch
    assert figures["method"] == ("pghash" if native_hash else "md5") + " by key ranges"


def test_it_locates_rows_on_a_uuid_key_stored_as_text_of_every_spelling_and_as_bytes(shop):
    target, path = shop
    gone, new = TOKENS[2001], uuid.UUID(int=12345)
    plant(target, f"DELETE FROM token WHERE tokenid = '{gone}'",
          f"INSERT INTO token VALUES ('{new}', 'planted')",
          f"UPDATE token SET label = 'changed' WHERE tokenid = '{TOKENS[10]}'")
    report = verify(target, path, options=OPTS)
    assert finding(report, "missing", "token").samples == (str(gone),)
    assert finding(report, "extra", "token").samples == (str(new),)
    assert finding(report, "changed", "token").samples == ({"key": str(TOKENS[10]), "columns": ["label"]},)


def test_it_locates_rows_on_a_composite_key_led_by_text(shop):
    target, path = shop
    plant(target, "DELETE FROM orderline WHERE sku = 'SKU-007' AND orderno = 12",
          "INSERT INTO orderline VALUES ('SKU-007', 999, 1)",
          "UPDATE orderline SET qty = 100 WHERE sku = 'SKU-049' AND orderno = 59")
    report = verify(target, path, options=OPTS)
    assert finding(report, "missing", "orderline").samples == (["SKU-007", 12],)
    assert finding(report, "extra", "orderline").samples == (["SKU-007", 999],)
    assert finding(report, "changed", "orderline").samples == ({"key": ["SKU-049", 59], "columns": ["qty"]},)


def test_it_reports_a_keyless_tables_differences_as_a_multiset_with_samples_and_exact_counts(shop):
    target, path = shop
    # update one row (one leaves, one arrives), delete one, insert 30 new ones: beyond the 10 samples
    plant(target, "UPDATE reading SET value = 1000 WHERE ctid = (SELECT min(ctid) FROM reading WHERE sensor = 's3')",
          "DELETE FROM reading WHERE ctid = (SELECT min(ctid) FROM reading WHERE sensor = 's5' AND value = 15)",
          "INSERT INTO reading SELECT 'new', g FROM generate_series(1, 30) AS g")
    report = verify(target, path, options=OPTS)
    t = report.table("reading")
    assert t.status == FAIL and (t.source_rows, t.target_rows) == (ROWS, ROWS + 29)
    missing, extra = finding(report, "missing", "reading"), finding(report, "extra", "reading")
    assert missing.figures["rows"] == 2 and extra.figures["rows"] == 31
    assert len(extra.samples) == OPTS.sample_size
    assert sorted((s["row"]["sensor"], s["row"]["value"]) for s in missing.samples) == [("s3", "3"), ("s5", "15")]
    assert all(isinstance(s["rowid"], int) for s in missing.samples)
    assert {s["row"]["sensor"] for s in extra.samples} <= {"new", "s3"}
    assert "+31 row(s) only in target, -2 row(s) only in source" in finding(report, "checksum", "reading").message


def test_it_stops_locating_at_max_located_and_keeps_the_exact_count(shop):
    target, path = shop
    plant(target, "DELETE FROM customer WHERE customercode LIKE 'C001%'")  # 100 rows
    report = verify(target, path, options=VerifyOptions(leaf_rows=40, bisection_factor=4, max_located=25))
    missing = finding(report, "missing", "customer")
    assert 25 <= missing.figures["rows"] < 100 and "at least" in missing.message
    assert finding(report, "counts", "customer").figures["difference"] == -100
    assert finding(report, "checksum", "customer").figures["complete"] is False


def test_it_refuses_a_source_table_that_folds_onto_two_target_tables_naming_both(shop):
    target, path = shop
    plant(target, 'CREATE TABLE "READING" (sensor text, value integer)')
    with pytest.raises(AmbiguousName, match="'Reading' is ambiguous: it matches 'READING', 'reading'"):
        verify(target, path, options=OPTS)


def test_it_locates_rows_on_a_text_key_whose_collation_is_not_byte_order(shop):
    """An ICU collation sorts 'a' before 'B': ranges then compare COLLATE "C", as SQLite's BINARY does."""
    target, path = shop
    plant(target, 'ALTER TABLE customer ALTER COLUMN customercode TYPE text COLLATE "en-x-icu"',
          "DELETE FROM customer WHERE customercode IN ('a-lower', 'C00500')",
          "UPDATE customer SET name = 'renamed' WHERE customercode = 'Zeta'",
          "INSERT INTO customer VALUES ('B-new', 'new', 0)")
    with pg_connect(target) as pg:
        ordered = [r[0] for r in pg.execute("SELECT customercode FROM customer WHERE customercode IN "
                                            "('zeta', 'Zeta', 'B-new') ORDER BY customercode").fetchall()]
    assert ordered == ["B-new", "zeta", "Zeta"]  # not byte order: the key ranges must not follow it
    report = verify(target, path, options=OPTS)
    assert sorted(finding(report, "missing", "customer").samples) == ["C00500", "a-lower"]
    assert finding(report, "extra", "customer").samples == ("B-new",)
    assert finding(report, "changed", "customer").samples == ({"key": "Zeta", "columns": ["name"]},)
    assert report.table("token").status == PASS


def test_it_counts_source_rows_with_a_null_key_as_missing(shop):
    """SQLite takes NULL in a TEXT PRIMARY KEY; such a row cannot be in the target, and must not slip between ranges."""
    target, path = shop
    with sqlite3.connect(path) as lite:
        lite.executemany('INSERT INTO "Customer" VALUES (?, ?, ?)', [(None, "no code", 1), (None, "no code", 2)])
        rowids = [r[0] for r in lite.execute('SELECT rowid FROM "Customer" WHERE "CustomerCode" IS NULL ORDER BY rowid')]
    report = verify(target, path, options=OPTS)
    missing = finding(report, "missing", "customer")  # named by rowid, as the copy keys its rejects of them
    assert missing.figures["rows"] == 2 and missing.samples == tuple(f"rowid:{r}" for r in rowids)
    assert finding(report, "counts", "customer").figures == {
        "source": len(CODES) + 2, "target": len(CODES), "difference": -2, "explained": 0}


def test_it_splits_a_never_analyzed_target_table_by_its_real_row_count(shop):
    """reltuples is -1 before the first ANALYZE: the ranges come from a count, not one range per row."""
    target, path = shop
    with sqlite3.connect(path) as lite:
        lite.execute('CREATE TABLE "Fresh" ("Code" TEXT PRIMARY KEY, "V" INTEGER)')
        lite.executemany('INSERT INTO "Fresh" VALUES (?, ?)', [(f"F{i:04d}", i) for i in range(2000)])
    plant(target, "CREATE TABLE fresh (code text PRIMARY KEY, v integer)",
          "INSERT INTO fresh SELECT 'F' || lpad(i::text, 4, '0'), i FROM generate_series(0, 1999) AS i",
          "DELETE FROM fresh WHERE code = 'F1500'")
    with pg_connect(target) as pg:
        assert pg.execute("SELECT reltuples FROM pg_class WHERE relname = 'fresh'").fetchone()[0] < 0
    report = verify(target, path, tables=["Fresh"], options=dataclasses.replace(OPTS, source_workers=1))
    assert [t.name for t in report.tables] == ["fresh"]  # asked for by its source name
    assert finding(report, "missing", "fresh").samples == ("F1500",)
    assert finding(report, "checksum", "fresh").figures["ranges_compared"] < 40
