"""With a real Celery worker: --create-missing-tables through the admin builds whole tables; the pre-flight shows how.

The page and ``ops copy --preflight-only`` show the type mapping and what will
be created; the confirmed copy runs on the worker; the catalog then holds the
keys, foreign keys (one validated, one left NOT VALID by an orphan), indexes
and declared types.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from portal.ops.models import Run
from tests.factories import target_for
from tests.portal.admin_helpers import billing_project, dba_client  # noqa: F401
from tests.portal.conftest import wait_run_finished
from tests.portal.copy_helpers import import_dir, make_sqlite, pg_exec, rel  # noqa: F401

pytestmark = [pytest.mark.worker]

SHOP_DDL = """
CREATE TABLE Orders (OrderID INTEGER PRIMARY KEY, Customer VARCHAR(40) NOT NULL, Status TEXT DEFAULT 'open');
CREATE TABLE "Order Details" (
    OrderID INTEGER REFERENCES Orders(OrderID) ON DELETE CASCADE, Sku TEXT, UnitPrice NUMERIC(10,2) NOT NULL,
    qty INTEGER CHECK (qty > 0), "Gift Wrap" BOOLEAN CHECK (typeof("Gift Wrap") IN ('integer', 'null')),
    PRIMARY KEY (OrderID, Sku));
CREATE INDEX ix_details_sku ON "Order Details"(Sku, UnitPrice DESC);
CREATE INDEX ix_orders_open ON Orders(Customer) WHERE Status = 'open';
"""
SHOP_ROWS = {
    "Orders": [(1, "Alfreds", "open"), (2, "Bon app'", "shipped")],
    "Order Details": [(1, "CHAI", 9.99, 2, 0), (2, "CHANG", 1.5, 1, 1), (7, "TOFU", 3.0, 1, None)],
}


def _ops(*args: str) -> str:
    out = io.StringIO()
    call_command("ops", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_creates_whole_tables_through_the_portal(transactional_db, celery_worker_proc, dba, dba_client,
                                                    make_database, billing_project, import_dir) -> None:
    target = target_for(make_database("create"), billing_project, name="create-target")
    path = make_sqlite(import_dir / "shop.sqlite", SHOP_DDL, SHOP_ROWS)
    url = reverse("admin:ops_target_copy", args=[target.pk])

    page = dba_client.post(url, {"pick": rel(path), "text_policy": "reject", "create_missing_tables": "on"})
    body = page.content.decode()
    assert page.status_code == 200 and 'id="mop-preflight-problems"><p>No problem found.' in body
    details = body.split('data-table="Order Details">', 1)[1].split("</div>", 1)[0]
    price = re.search(r'<tr data-column="UnitPrice">(.*?)</tr>', details, re.S).group(1)
    assert "<code>NUMERIC(10,2)</code>" in price and "<code>numeric(10,2)</code>" in price
    assert "<code>FOREIGN KEY (OrderID) REFERENCES Orders (OrderID) ON DELETE CASCADE</code>" in details
    assert "<code>INDEX ix_details_sku (Sku, UnitPrice DESC)</code>" in details
    assert "Skipped check typeof(&quot;Gift Wrap&quot;) IN (&#x27;integer&#x27;, &#x27;null&#x27;)</strong>: " \
           "uses typeof(), which PostgreSQL does not have" in details

    text = _ops("copy", target.name, "--sqlite", rel(path), "--preflight-only", "--create-missing-tables")
    assert "  create Order Details:\n    OrderID: INTEGER -> bigint NOT NULL\n" in text
    assert "    UnitPrice: NUMERIC(10,2) -> numeric(10,2) NOT NULL\n" in text
    assert "    INDEX ix_orders_open (Customer) WHERE \"Status\" = 'open'\n" in text
    assert "problem:" not in text

    resp = dba_client.post(url, {"source": rel(path), "post": "yes", "text_policy": "reject",
                                 "create_missing_tables": "True"})
    assert resp.status_code == 302
    run = wait_run_finished(Run.objects.get(operation=Run.Operation.COPY), timeout=120)
    assert run.status == Run.Status.SUCCEEDED, (run.error, celery_worker_proc.log_text()[-3000:])
    assert run.params["options"]["create_missing_tables"] is True
    fks = run.progress_data["summary"]["foreign_keys"]
    assert [(f["table"], f["orphans"], f["validated"], f["sample_keys"]) for f in fks] == [
        ("Order Details", 1, False, ["7"])]

    conn = target.conn()
    assert pg_exec(conn, """SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
                            WHERE attrelid = 'public."Order Details"'::regclass AND attnum > 0 ORDER BY attnum""") == [
        ("OrderID", "bigint"), ("Sku", "text"), ("UnitPrice", "numeric(10,2)"), ("qty", "bigint"),
        ("Gift Wrap", "boolean")]
    assert pg_exec(conn, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                         "WHERE attrelid = 'public.\"Orders\"'::regclass AND attname = 'Customer'") == [
        ("character varying(40)",)]
    assert pg_exec(conn, """SELECT contype, pg_get_constraintdef(oid), convalidated, confdeltype FROM pg_constraint
                            WHERE conrelid = 'public."Order Details"'::regclass ORDER BY contype""") == [
        ("c", "CHECK ((qty > 0))", True, " "),
        ("f", 'FOREIGN KEY ("OrderID") REFERENCES "Orders"("OrderID") ON DELETE CASCADE NOT VALID', False, "c"),
        ("p", 'PRIMARY KEY ("OrderID", "Sku")', True, " ")]
    assert pg_exec(conn, """SELECT ic.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
                            JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
                            WHERE t.relnamespace = 'public'::regnamespace AND NOT i.indisprimary ORDER BY 1""") == [
        ("ix_details_sku", 'CREATE INDEX ix_details_sku ON public."Order Details" USING btree ("Sku", "UnitPrice" DESC)'),
        ("ix_orders_open", 'CREATE INDEX ix_orders_open ON public."Orders" USING btree ("Customer") '
                           "WHERE (\"Status\" = 'open'::text)")]
    assert pg_exec(conn, 'SELECT "OrderID", "Sku", "UnitPrice"::text FROM "Order Details" ORDER BY 1') == [
        (1, "CHAI", "9.99"), (2, "CHANG", "1.50"), (7, "TOFU", "3.00")]
