"""In real Chromium: copy a SQLite file from the target page, read the pre-flight, confirm, watch the per-table bars
reach 100 %, follow the automatic verification to its report."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest

from portal.ops.models import Run, VerificationReport
from tests.portal.admin_helpers import assert_no_password, billing_project  # noqa: F401
from tests.portal.copy_helpers import billing_sqlite, import_dir, make_billing_target, rel  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_it_copies_from_the_preflight_to_the_report(
    live_server, page, login, artifacts, celery_worker_proc, dba, billing_project, billing_sqlite, make_billing_target
):
    path, manifest = billing_sqlite
    target = make_billing_target(name="billing-browser-copy")
    password = target.password()

    def shot(name: str) -> None:
        assert_no_password(page.content(), password)
        page.screenshot(path=str(artifacts / f"copy-{name}.png"), full_page=True)

    login(dba)

    page.goto(f"{live_server.url}/admin/ops/target/{target.pk}/status/")
    page.click("#mop-copy-button")
    page.wait_for_selector("#mop-copy-form")
    page.select_option("#id_pick", rel(path))
    shot("1-form")
    page.click("#mop-copy-form input[type=submit]")

    page.wait_for_selector("#mop-preflight-tables")
    assert page.locator("#mop-preflight-tables tbody tr").count() == len(manifest.rows)
    assert page.locator("#mop-preflight-orphans tr[data-table=transactions]").count() == 1
    planted = {(table, column, code) for table, _key, column, code in manifest.rejects}
    assert page.locator("#mop-preflight-predicted tbody tr[data-code]").count() == len(planted)
    assert "No problem found" not in page.content()
    shot("2-preflight")
    page.click("#mop-copy-confirm-form input[type=submit]")

    page.wait_for_selector("#mop-run[data-kind=copy]")
    # the generated file plants rejects: the run ends amber, "succeeded with rejects", not green
    page.wait_for_selector('#mop-status[data-status="succeeded_rejects"]', timeout=90_000)
    assert page.evaluate("() => getComputedStyle(document.getElementById('mop-status')).backgroundColor") == (
        "rgb(255, 232, 163)")
    page.wait_for_selector("#mop-summary-block:not([hidden])")
    bars = page.locator("#mop-copy-tables progress.mop-table-bar")
    assert bars.count() == len(manifest.rows)
    assert page.evaluate("() => [...document.querySelectorAll('#mop-copy-tables progress')].map(p => p.value)") == (
        [100] * len(manifest.rows))
    assert page.evaluate("() => document.getElementById('mop-progress').value") == 100
    assert "Total import time" in page.inner_text("#mop-summary")
    assert page.locator("#mop-copy-tables tr.mop-has-rejects").count() == len({r[0] for r in manifest.rejects})
    shot("3-run-succeeded-with-rejects")

    page.click("#mop-verify-link a")
    page.wait_for_selector("#mop-run[data-kind=verify]")
    # the planted orphans fail the report, so the run ends failed, its report linked
    page.wait_for_selector('#mop-status[data-status="failed"]', timeout=90_000)
    page.wait_for_selector("#mop-report-link:not([hidden])")
    shot("4-verify-run")
    page.click("#mop-report-link a")
    page.wait_for_selector("#mop-report-tables")
    vr = VerificationReport.objects.get(target=target)
    assert page.get_attribute("#mop-report-verdict", "data-status") == vr.status
    assert page.locator('#mop-report-tables tr[data-table="credits"][data-status="pass"]').count() == 1
    tx = next(t for t in vr.report["tables"] if t["name"] == "transactions")  # its rejects explain it: warn
    assert tx["status"] == ("fail" if "transactions" in manifest.orphans else "warn")
    assert page.locator(f'#mop-report-tables tr[data-table="transactions"][data-status="{tx["status"]}"]').count() == 1
    shot("5-report")

    copy = Run.objects.get(target=target, operation=Run.Operation.COPY)
    page.goto(f"{live_server.url}/admin/ops/run/{copy.pk}/rejects/")
    page.wait_for_selector("#mop-rejects")
    assert page.locator("#mop-rejects tbody tr").count() == len(manifest.rejects)
    shot("6-rejects")
