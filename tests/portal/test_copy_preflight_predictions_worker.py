"""With a real Celery worker: the admin (and CLI) pre-flight's predictions equal the rejects the copy then stores.

Admin path: pre-flight page -> confirm -> the worker copies; the rejects read
back from the target, per column and reason, are the page's predictions. CLI
path: ``--preflight-only`` then ``ops copy --wait --accept-float4-rounding``
into a second target: the predicted float4 rejects are gone and the values are
stored rounded as PostgreSQL's real holds them.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import io
import json
import struct
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from portal.ops import copy_figures
from portal.ops.models import AuditEvent, Run
from tests.factories import target_for
from tests.portal.admin_helpers import billing_project, client_for  # noqa: F401
from tests.portal.conftest import wait_run_finished
from tests.portal.copy_helpers import import_dir, pg_exec, rel  # noqa: F401
from tests.portal.test_copy_preflight_predictions import (  # noqa: F401
    TARGET_DDL,
    _predicted_cells,
    orders_sqlite,
    orders_target,
)

pytestmark = [pytest.mark.worker]
FINISHED_OK = {Run.Status.SUCCEEDED, Run.Status.SUCCEEDED_REJECTS}


def _stored_rejects(run: Run) -> Counter[tuple[str, str]]:
    return Counter((r.column or "", r.code) for r in copy_figures.rejects(run, None, None) if r.code != "replaced")


def test_it_rejects_exactly_what_the_admin_preflight_predicted(
    transactional_db, celery_worker_proc, dba, orders_target, orders_sqlite
) -> None:
    client = client_for(dba)
    url = reverse("admin:ops_target_copy", args=[orders_target.pk])
    page = client.post(url, {"pick": rel(orders_sqlite), "text_policy": "reject"}).content.decode()
    predicted = _predicted_cells(page)
    assert predicted == {("qty", "not_integer"): 10, ("price", "numeric_rounding"): 8, ("weight", "precision_loss"): 20}
    resp = client.post(url, {"post": "yes", "source": rel(orders_sqlite), "text_policy": "reject", "tables": ""})
    assert resp.status_code == 302
    run = wait_run_finished(Run.objects.get(target=orders_target, operation=Run.Operation.COPY), timeout=120)
    assert run.status in FINISHED_OK, (run.status, run.error, celery_worker_proc.log_text()[-2000:])
    assert _stored_rejects(run) == predicted
    assert pg_exec(orders_target.conn(), "SELECT count(*) FROM orders")[0][0] == 40 - 32


def test_it_loads_rounded_reals_through_the_cli_with_the_option(
    transactional_db, celery_worker_proc, dba, orders_sqlite, make_database, billing_project
) -> None:
    conn = make_database("copypredcli")
    pg_exec(conn, TARGET_DDL)
    target = target_for(conn, billing_project, name="orders-cli")
    out = io.StringIO()
    call_command("ops", "copy", target.name, "--sqlite", rel(orders_sqlite), "--preflight-only", "--json",
                 "--accept-float4-rounding", stdout=out)
    predicted = Counter({(p["column"], p["code"]): p["values"]
                         for p in json.loads(out.getvalue())["tables"][0]["predicted"]["rejects"]})
    assert predicted == {("qty", "not_integer"): 10, ("price", "numeric_rounding"): 8}
    try:
        call_command("ops", "--user", dba.username, "copy", target.name, "--sqlite", rel(orders_sqlite),
                     "--accept-float4-rounding", "--wait", "--timeout", "120", stdout=io.StringIO())
    except CommandError as exc:  # a copy with rejects may exit with its own code; the run says what happened
        assert exc.returncode != 2, str(exc)
    run = Run.objects.get(target=target, operation=Run.Operation.COPY)
    assert run.status in FINISHED_OK, (run.status, run.error)
    assert _stored_rejects(run) == predicted
    assert run.params["options"]["accept_float4_rounding"] is True
    assert AuditEvent.objects.get(run=run, action="run.scheduled").params["options"]["accept_float4_rounding"] is True
    weights = dict(pg_exec(target.conn(), "SELECT id, weight::float8 FROM orders"))
    assert weights[1] == struct.unpack("f", struct.pack("f", 0.05))[0] and weights[2] == 0.5
