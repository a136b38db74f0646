"""Predicted rejects on the admin pre-flight page and in ``ops copy --preflight-only``; the float4 option is recorded.

The SQLite file holds text in an integer column and REAL money going into
``numeric(10,2)`` and ``real``: the page must name each column and reason with
its count and one example, never "No problem found".
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from portal.ops import copying
from portal.ops.models import AuditEvent, Run, Target
from tests.factories import target_for
from tests.portal.admin_helpers import billing_project, dba_client  # noqa: F401
from tests.portal.copy_helpers import import_dir, make_sqlite, pg_exec, rel  # noqa: F401

SOURCE_DDL = "CREATE TABLE orders (id INTEGER PRIMARY KEY, qty INTEGER, price REAL, weight REAL);"
TARGET_DDL = "CREATE TABLE orders (id integer PRIMARY KEY, qty integer, price numeric(10,2), weight real)"


def order_rows() -> list[tuple[object, ...]]:
    """40 orders: every 4th qty is text, price 1.005 every 5th (rounding), weights 0.05 / 0.5."""
    return [(i, f"{i} pcs" if i % 4 == 0 else i, 1.005 if i % 5 == 0 else 19.99, 0.05 if i % 2 else 0.5)
            for i in range(1, 41)]


@pytest.fixture
def orders_sqlite(import_dir: Path) -> Path:
    return make_sqlite(import_dir / "orders.sqlite", SOURCE_DDL, {"orders": order_rows()})


@pytest.fixture
def orders_target(make_database, billing_project) -> Target:
    conn = make_database("copypred")
    pg_exec(conn, TARGET_DDL)
    return target_for(conn, billing_project, name="orders-target")


def _predicted_cells(body: str) -> dict[tuple[str, str], int]:
    section = body.split('id="mop-preflight-predicted"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'data-column="([^"]+)" data-code="([^"]+)".*?<td class="num">(\d+)</td>', section, re.S)
    return {(c, code): int(n) for c, code, n in rows}


def test_it_shows_predicted_rejects_on_the_preflight_page(dba_client, orders_target, orders_sqlite) -> None:
    url = reverse("admin:ops_target_copy", args=[orders_target.pk])
    body = dba_client.post(url, {"pick": rel(orders_sqlite), "text_policy": "reject"}).content.decode()
    assert "No problem found" not in body
    assert _predicted_cells(body) == {("qty", "not_integer"): 10, ("price", "numeric_rounding"): 8,
                                      ("weight", "precision_loss"): 20}
    assert "precision_loss: 0.05 is not exact as real (float4)" in body and "&#x27;4 pcs&#x27;" in body
    rounded = dba_client.post(url, {"pick": rel(orders_sqlite), "text_policy": "reject",
                                    "accept_float4_rounding": "on"}).content.decode()
    assert _predicted_cells(rounded) == {("qty", "not_integer"): 10, ("price", "numeric_rounding"): 8}
    assert 'name="accept_float4_rounding"' in rounded and "rounding into <code>real</code> accepted" in rounded
    assert Run.objects.count() == 0


def test_it_prints_predicted_rejects_in_the_cli(orders_target, orders_sqlite) -> None:
    out = io.StringIO()
    call_command("ops", "copy", orders_target.name, "--sqlite", rel(orders_sqlite), "--preflight-only", stdout=out)
    text = out.getvalue()
    assert "reject orders.qty: 10 value(s) not_integer, e.g. 4: not_integer: '4 pcs' is not an integer" in text
    assert "reject orders.weight: 20 value(s) precision_loss" in text and "orders: 32 row(s) will be rejected" in text
    assert "No problem found." not in text
    out = io.StringIO()
    call_command("ops", "copy", orders_target.name, "--sqlite", rel(orders_sqlite), "--preflight-only", "--json",
                 "--accept-float4-rounding", stdout=out)
    predicted = json.loads(out.getvalue())["tables"][0]["predicted"]
    assert {(p["column"], p["code"], p["values"]) for p in predicted["rejects"]} == {
        ("qty", "not_integer", 10), ("price", "numeric_rounding", 8)}
    assert predicted["rows_rejected"] == 16


def test_it_records_the_float4_option_in_the_run_and_the_audit(orders_target, orders_sqlite, dba) -> None:
    run = copying.schedule_copy(target=orders_target, source=rel(orders_sqlite), user=dba,
                                options={"accept_float4_rounding": True})
    run.refresh_from_db()
    assert run.params["options"]["accept_float4_rounding"] is True
    event = AuditEvent.objects.get(run=run, action="run.scheduled")
    assert event.params["options"]["accept_float4_rounding"] is True
    plain = copying.copy_options({})
    assert plain.accept_float4_rounding is False
