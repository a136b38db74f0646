"""The assurance pages in Chromium, light and dark, 1280 px: a drift check, rehearsal reports, recovery panel."""

from __future__ import annotations

import time

import pytest

from portal.assure import drift, rehearsing
from portal.assure.models import DriftState, Rehearsal, TargetAssurance
from portal.change.models import Policy
from portal.ops.models import Run
from tests.engine.alembic_factory import Factory
from tests.factories import AlembicProjectFactory, RunFactory
from tests.polling import wait_for
from tests.portal.assure_portal.helpers import dev_and_prod, execute

pytestmark = pytest.mark.browser


def _shoot(page, url: str, artifacts, name: str) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(url)
        page.screenshot(path=str(artifacts / f"assure-{name}-{scheme}.png"), full_page=True)


def test_it_shows_drift_rehearsals_and_recovery(transactional_db, live_server, page, login, artifacts,
                                                 make_database, dba, tmp_path, celery_broker):
    _dev, prod, prod_conn = dev_and_prod(make_database)
    Policy.objects.filter(environment="production").update(backup_scope="touched", rehearsal_required=True)
    TargetAssurance.objects.create(target=prod)
    assert drift.check_drift(prod, actor="dba").state == DriftState.CLEAN
    execute(prod_conn, "ALTER TABLE users ADD COLUMN nickname text")
    execute(prod_conn, "DROP INDEX ix_users_email_normalized")
    check = drift.check_drift(prod, actor="schedule:Drift check of billing-prod")
    assert check.state == DriftState.DRIFT

    f = Factory(tmp_path / "p")
    f.table_rev("r1", None, "accounts")
    f.rev("r2", "r1", "add email and its index",
          upgrade='op.add_column("accounts", sa.Column("email", sa.Text))\n'
                  'op.create_index("ix_accounts_email", "accounts", ["email"])', downgrade="pass")
    project = AlembicProjectFactory(name="pass-downgrade", location=str(f.root))
    _d2, other, _c2 = dev_and_prod(make_database, prod_at=None, project=project, location=f.root,
                                 prefix="accounts")
    bad = rehearsing.request_rehearsal(other, "head", user=dba)
    rehearsing.execute(bad.pk)
    bad.refresh_from_db()
    assert bad.status == Rehearsal.Status.FAILED

    run = RunFactory(target=other, operation="upgrade", revision="head", status=Run.Status.FAILED,
                             actor="dba", from_heads=[], to_heads=["r2"], steps_total=2, steps_done=1,
                             plan_steps=[{"revision": "r1", "direction": "up"}, {"revision": "r2", "direction": "up"}],
                             step_timings=[{"revision": "r1", "direction": "up", "seconds": 0.1}],
                             error="Revision r2 failed: column \"email\" contains null values",
                             error_code="migration_failed", error_data={"revision": "r2"})
    from migrations_ops.schema.runner import run_plan
    run_plan(other.conn(), f.resolved(), "upgrade", "r1", run_id="setup")

    login(dba)
    _shoot(page, f"{live_server.url}/admin/assure/driftcheck/{check.pk}/change/", artifacts, "drift-check")
    assert page.locator("#mop-drift-changes").inner_text().count("added") >= 1
    assert "ix_users_email_normalized" in page.locator("#mop-drift-changes").inner_text()
    page.fill("#id_comment", "nickname is wanted; index dropped on purpose")
    page.click("#mop-accept input[type=submit]")
    page.wait_for_selector(".messagelist")
    assert "accepted as its baseline" in page.locator(".messagelist").inner_text()
    assert TargetAssurance.objects.get(target=prod).drift_state == DriftState.CLEAN

    _shoot(page, f"{live_server.url}/admin/ops/target/", artifacts, "target-list")
    assert "CLEAN" in page.locator("#result_list").inner_text().upper()
    policy = Policy.objects.get(environment="production")
    _shoot(page, f"{live_server.url}/admin/change/policy/{policy.pk}/change/", artifacts, "policy")
    assert "Before the run (rehearsal, backup, drift)" in page.content()
    assert page.locator("#id_backup_scope").input_value() == "touched"
    _shoot(page, f"{live_server.url}/admin/assure/targetassurance/", artifacts, "settings-list")
    assert ("rehearsal (24 h), backup: tables the plan touches, no open drift"
            in page.locator("#result_list").inner_text())
    _shoot(page, f"{live_server.url}/admin/assure/rehearsal/{bad.pk}/change/", artifacts, "rehearsal-failed")
    assert "does not undo it" in page.locator("#mop-rehearsal-problems").inner_text()
    assert page.locator("svg.mop-svg rect").count() >= 4
    _shoot(page, f"{live_server.url}/admin/ops/run/{run.pk}/change/", artifacts, "recovery")
    text = page.locator("#mop-recovery").inner_text()
    assert "part way: 1 of 2 step(s) committed" in text and "Downgrade to where the run started" in text

    _shoot(page, f"{live_server.url}/admin/assure/rehearsal/add/", artifacts, "rehearse-form")
    page.select_option("#id_target", label=str(other))
    page.fill("#id_revision", "nowhere")
    page.click("#mop-rehearse-form input[type=submit]")
    assert "nowhere" in page.locator(".messagelist").inner_text()  # a bad revision is a message, not a 500
    page.select_option("#id_target", label=str(other))
    page.fill("#id_revision", "head")
    page.click("#mop-rehearse-form input[type=submit]")
    page.wait_for_selector("#mop-rehearsal-status")
    assert Rehearsal.objects.filter(target=other).count() == 2  # queued (a session worker may take it)
    _settle(Rehearsal.objects.filter(target=other).latest("pk"))


def _settle(rehearsal: Rehearsal) -> None:
    """Let a rehearsal a session worker took finish before the test's database is emptied: its writes during
    the teardown's TRUNCATE deadlocked it. One nobody took within a few seconds is left queued (it writes
    nothing)."""
    started = time.monotonic()

    def settled() -> bool:
        rehearsal.refresh_from_db()
        if rehearsal.status == Rehearsal.Status.QUEUED:
            return time.monotonic() - started > 3
        return rehearsal.status != Rehearsal.Status.RUNNING

    wait_for(settled, timeout=180, what="the queued rehearsal to finish")
