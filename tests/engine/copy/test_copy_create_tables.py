"""``create_missing_tables`` builds whole tables: keys, UNIQUE, FKs, indexes, lengths, CHECKs, from the catalog."""

from __future__ import annotations

import doctest
import json
import sqlite3

from copy_helpers import pg_exec

from migrations_ops.copy import CopyOptions, copy_database, create, preflight, sqlexpr
from migrations_ops.copy.create import ColumnMapping
from migrations_ops.progress import Progress

SHOP_DDL = """
CREATE TABLE Customers (CustomerID TEXT PRIMARY KEY, CompanyName VARCHAR(40) NOT NULL, Email TEXT UNIQUE,
                        Active BOOLEAN DEFAULT 1);
CREATE TABLE Products (ProductID INTEGER PRIMARY KEY AUTOINCREMENT, ProductName VARCHAR(40) NOT NULL,
                       UnitPrice NUMERIC(10,2) DEFAULT 0, Discount DECIMAL(5), Code TEXT,
                       CHECK (UnitPrice >= 0), CONSTRAINT code_glob CHECK (Code GLOB '[A-Z]*'));
CREATE TABLE Orders (OrderID INTEGER PRIMARY KEY, CustomerID TEXT NOT NULL REFERENCES customers(customerid),
                     Status TEXT DEFAULT 'open', OrderedAt DATETIME DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE "Order Details" (
    OrderID INTEGER NOT NULL REFERENCES Orders(OrderID) ON DELETE CASCADE,
    ProductID INTEGER NOT NULL REFERENCES Products(ProductID),
    qty INTEGER NOT NULL CHECK (qty > 0),
    "Line Note" TEXT,
    PRIMARY KEY (OrderID, ProductID));
CREATE UNIQUE INDEX ux_products_name ON Products(ProductName);
CREATE INDEX ix_orders_customer_status ON Orders(CustomerID, Status DESC);
CREATE INDEX ix_orders_open ON Orders(OrderedAt) WHERE Status = 'open';
CREATE INDEX ix_products_lower ON Products(lower(ProductName));
"""
SHOP_ROWS = {
    "Customers": [("ALFKI", "Alfreds Futterkiste", "a@example.com", 1), ("BONAP", "Bon app'", None, 0)],
    "Products": [(1, "Chai", 18.0, 5, "CH"), (2, "Chang", 19.5, None, "CG")],
    "Orders": [(10248, "ALFKI", "open", "2024-01-01 10:00:00"), (10249, "BONAP", "shipped", "2024-01-02 11:00:00")],
    "Order Details": [(10248, 1, 12, "first"), (10248, 2, 10, None), (10249, 99, 5, "orphan product")],
}


def _columns(target, table: str) -> dict[str, tuple[str, bool, str]]:
    """``{column: (format_type, NOT NULL, identity)}`` from pg_attribute."""
    rows = pg_exec(target, "SELECT attname, format_type(atttypid, atttypmod), attnotnull, attidentity "
                           "FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
                   (f'public."{table}"',))
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _constraints(target, table: str) -> list[tuple[str, str, list[str], bool, str]]:
    """``(contype, definition, columns in key order, convalidated, confdeltype)`` from pg_constraint."""
    return pg_exec(target, """
        SELECT c.contype, pg_get_constraintdef(c.oid),
               ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
               c.convalidated, c.confdeltype
        FROM pg_constraint c WHERE c.conrelid = %s::regclass ORDER BY 1, 2""", (f'public."{table}"',))


def _indexes(target, table: str) -> dict[str, tuple[bool, list[str], list[int], bool]]:
    """``{index: (unique, columns in order, indoption per column, partial)}`` of indexes backing no constraint."""
    rows = pg_exec(target, """
        SELECT ic.relname, i.indisunique,
               ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o),
               i.indoption::int2[], i.indpred IS NOT NULL
        FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
                   (f'public."{table}"',))
    return {r[0]: (r[1], r[2], list(r[3]), r[4]) for r in rows}


def test_it_creates_whole_tables_and_checks_their_foreign_keys(make_sqlite, target_db) -> None:
    path = make_sqlite(SHOP_DDL, SHOP_ROWS)
    with sqlite3.connect(path) as src:  # AUTOINCREMENT remembers id 5 after its row is gone
        src.execute("INSERT INTO Products (ProductID, ProductName) VALUES (5, 'gone')")
        src.execute("DELETE FROM Products WHERE ProductID = 5")
    before = preflight(path, target_db, create_missing_tables=True)
    assert before.problems == ()
    plans = {p.table: p for p in before.created}
    assert set(plans) == {"Customers", "Products", "Orders", "Order Details"}
    assert ColumnMapping("UnitPrice", "NUMERIC(10,2)", "numeric(10,2)", False, "0") in plans["Products"].columns
    as_json = {p["table"]: p for p in json.loads(before.to_json())["created"]}
    assert as_json["Order Details"]["primary_key"] == ["OrderID", "ProductID"]
    assert dict(plans["Products"].skipped) == {
        "check code_glob": 'does not parse as PostgreSQL (syntax error at or near "GLOB")',
        "index ix_products_lower": "an expression or rowid column is not translated"}

    summary = copy_database(path, target_db, CopyOptions(create_missing_tables=True), copy_id="whole")

    assert summary.rows_imported == 9 and summary.rows_rejected == 0
    assert _columns(target_db, "Products") == {
        "ProductID": ("bigint", True, "d"), "ProductName": ("character varying(40)", True, ""),
        "UnitPrice": ("numeric(10,2)", False, ""), "Discount": ("numeric(5,0)", False, ""),
        "Code": ("text", False, "")}
    assert _columns(target_db, "Customers")["CustomerID"] == ("text", True, "")
    assert _columns(target_db, "Order Details")["Line Note"] == ("text", False, "")

    details = _constraints(target_db, "Order Details")
    assert [(c[0], c[2]) for c in details if c[0] in "pc"] == [("c", ["qty"]), ("p", ["OrderID", "ProductID"])]
    fks = {c[1].split(" REFERENCES ")[1].split("(")[0]: c for c in details if c[0] == "f"}
    assert fks['"Orders"'][3] is True and fks['"Orders"'][4] == "c"  # validated, ON DELETE CASCADE
    assert fks['"Products"'][3] is False  # the orphan keeps it NOT VALID
    assert {(c[0], tuple(c[2])) for c in _constraints(target_db, "Customers")} == {("p", ("CustomerID",)),
                                                                                 ("u", ("Email",))}
    products = _constraints(target_db, "Products")
    assert [c[1] for c in products if c[0] == "c"] == ['CHECK (("UnitPrice" >= (0)::numeric))']
    assert _constraints(target_db, "Orders")[0][:4] == ("f", 'FOREIGN KEY ("CustomerID") REFERENCES '
                                                        '"Customers"("CustomerID")', ["CustomerID"], True)

    assert _indexes(target_db, "Orders") == {
        "ix_orders_customer_status": (False, ["CustomerID", "Status"], [0, 3], False),
        "ix_orders_open": (False, ["OrderedAt"], [0], True)}
    assert _indexes(target_db, "Products") == {"ux_products_name": (True, ["ProductName"], [0], False)}
    assert "WHERE (\"Status\" = 'open'::text)" in pg_exec(
        target_db, "SELECT pg_get_indexdef('public.ix_orders_open'::regclass)")[0][0]

    orphans = {(f.table, f.validated, f.orphans) for f in summary.foreign_keys}
    assert orphans == {("Order Details", True, 0), ("Order Details", False, 1), ("Orders", True, 0)}
    assert next(f.sample_keys for f in summary.foreign_keys if f.orphans) == ("99",)

    # defaults and the identity's sequence, set past the loaded ids
    pg_exec(target_db, 'INSERT INTO "Products" ("ProductName") VALUES (%s)', ("Aniseed",))
    assert pg_exec(target_db, 'SELECT "ProductID", "UnitPrice" FROM "Products" WHERE "ProductName" = %s',
                   ("Aniseed",)) == [(6, 0)]
    pg_exec(target_db, 'INSERT INTO "Orders" ("CustomerID") VALUES (%s) RETURNING "OrderID"', ("ALFKI",))
    assert pg_exec(target_db, 'SELECT max("OrderID") FROM "Orders"') == [(10250,)]  # plain rowid alias: max + 1
    pg_exec(target_db, 'INSERT INTO "Customers" ("CustomerID", "CompanyName") VALUES (%s, %s)', ("X", "x"))
    assert pg_exec(target_db, 'SELECT "Active" FROM "Customers" WHERE "CustomerID" = %s', ("X",)) == [(True,)]
    pg_exec(target_db, 'DELETE FROM "Orders" WHERE "OrderID" = 10248')
    assert pg_exec(target_db, 'SELECT count(*) FROM "Order Details"') == [(1,)]

    after = preflight(path, target_db, create_missing_tables=True)
    assert after.created == ()
    assert all("is not empty" in p for p in after.problems)  # the tables now hold the copied rows
    assert after.table("Products").target_types == {c.name: c.pg_type.replace("varchar", "character varying")
                                                    .replace("numeric(5)", "numeric(5,0)")
                                                    for c in plans["Products"].columns}


NAMED_DDL = r'''
CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT CHECK (length(id) > 0),
                     born DATETIME DEFAULT (datetime('now')));
CREATE TABLE child (id INTEGER PRIMARY KEY, code TEXT REFERENCES parent(code),
                    gone INTEGER REFERENCES nowhere(id), name TEXT COLLATE NOCASE, nick TEXT COLLATE NOCASE UNIQUE,
                    flag BOOLEAN CHECK (flag IN (0, 1)), [we"ird `col`] TEXT CHECK ("we""ird `col`" <> ''));
CREATE UNIQUE INDEX ux_child_name ON child(name);
CREATE INDEX parent_pkey ON child(code);
CREATE INDEX "ix ""q""" ON child(`we"ird ``col```) WHERE [we"ird `col`] IS NOT NULL;
'''


def test_it_names_what_it_cannot_create(make_sqlite, target_db) -> None:
    path = make_sqlite(NAMED_DDL, {"parent": [(1, "a", "2024-01-01")], "child": [(1, "a", None, "x", "y", 1, "q")]})
    report = preflight(path, target_db, tables=["child", "parent"])
    assert report.problems == ("target table public.child does not exist", "target table public.parent does not exist")
    child = next(p for p in report.created if p.table == "child")
    assert child.foreign_keys == ()
    assert dict(child.skipped) == {
        "check flag IN (0, 1)": "operator does not exist: boolean = integer",
        "index ux_child_name": "collation NOCASE has no PostgreSQL equivalent",
        "UNIQUE (nick)": "collation NOCASE has no PostgreSQL equivalent",
        "foreign key (code) -> parent": "(code) is not a PRIMARY KEY or UNIQUE of parent",
        "foreign key (gone) -> nowhere": "nowhere is neither in the target nor created"}
    parent = next(p for p in report.created if p.table == "parent")
    assert parent.checks == () and parent.columns[2].default == "CURRENT_TIMESTAMP"
    assert parent.skipped == (("check length(id) > 0", "function length(bigint) does not exist"),)

    log: list[Progress] = []
    summary = copy_database(path, target_db, CopyOptions(create_missing_tables=True), progress=log.append, copy_id="named")
    assert summary.rows_imported == 2 and summary.foreign_keys == ()
    warnings = [p.message for p in log if p.level == "warning"]
    assert "parent: check length(id) > 0 not created: function length(bigint) does not exist" in warnings
    assert "child: foreign key (gone) -> nowhere not created: nowhere is neither in the target nor created" in warnings
    # only the target can tell that this name is taken (by the parent's primary key): named, and the copy goes on
    assert 'child: index parent_pkey not created: relation "parent_pkey" already exists' in warnings
    assert pg_exec(target_db, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype IN ('f', 'c') "
                              "AND connamespace = 'public'::regnamespace") == [
        ('CHECK (("we""ird `col`" <> \'\'::text))',)]
    assert pg_exec(target_db, "SELECT pg_get_indexdef(%s::regclass)", ('public."ix ""q"""',)) == [
        ('CREATE INDEX "ix ""q""" ON public.child USING btree ("we""ird `col`") WHERE ("we""ird `col`" IS NOT NULL)',)]
    assert pg_exec(target_db, "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef "
                              "WHERE adrelid = 'public.parent'::regclass") == [("CURRENT_TIMESTAMP",)]


def test_it_passes_the_mapping_and_expression_doctests() -> None:
    for module in (create, sqlexpr):
        result = doctest.testmod(module)
        assert result.attempted >= 3 and result.failed == 0, module.__name__


def test_it_predicts_the_rejects_of_a_table_it_will_create(make_sqlite, target_db) -> None:
    """A table the copy creates is predicted like an existing one: 'No problem found' never precedes rejects."""
    ddl = '''CREATE TABLE "Customers" (code TEXT PRIMARY KEY, age INTEGER, price NUMERIC(6,2));
             CREATE TABLE "Order Lines" (id INTEGER PRIMARY KEY, qty INTEGER);'''
    path = make_sqlite(ddl, {"Customers": [("A1", 30, 1.5), ("B2", "thirty", 2), ("C3", "n/a", 10000.5)],
                             "Order Lines": [(1, 2), (2, "many"), (3, 1.5), (4, None)]})
    report = preflight(path, target_db, create_missing_tables=True)
    predicted = {r.name: r.predicted.counts() for r in report.tables}
    assert report.problems, "rejects are coming: the pre-flight must not say no problem"
    assert all(r.target_table is None for r in report.tables)  # nothing was created by the pre-flight
    assert pg_exec(target_db, "SELECT count(*) FROM pg_class WHERE relname LIKE 'mop_preflight%%'") == [(0,)]

    summary = copy_database(path, target_db, CopyOptions(create_missing_tables=True), copy_id="created")
    actual: dict[str, dict[tuple[str, str], int]] = {}
    for (table, column, code), n in _reject_counts(target_db, "created").items():
        actual.setdefault(table, {})[(column, code)] = n
    rows = {r.name: r.predicted.rows_rejected for r in report.tables}
    assert {t.table: t.rejected for t in summary.tables} == rows and sum(rows.values()) == 4
    # each rejected row is stored under its first bad value; every one of them was predicted
    assert all(key in predicted[table] for table, counts in actual.items() for key in counts)


def _reject_counts(target, copy_id: str) -> dict[tuple[str, str, str], int]:
    from migrations_ops.copy import list_rejects

    out: dict[tuple[str, str, str], int] = {}
    for r in list_rejects(target, copy_id, include_warnings=False):
        key = (r.table, r.column or "", r.code)
        out[key] = out.get(key, 0) + 1
    return out
