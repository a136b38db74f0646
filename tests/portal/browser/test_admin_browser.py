"""In real Chromium: log in, open the revisions page, schedule an upgrade, watch the run succeed."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest

from portal.ops.models import Run
from tests.engine.alembic_factory import alembic_current
from tests.factories import BILLING, AlembicProjectFactory, RunFactory, target_for
from tests.portal.admin_helpers import BILLING_HEAD, assert_no_password

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def test_it_schedules_an_upgrade_and_shows_it_finish(
    live_server, page, login, artifacts, celery_worker_proc, make_database, dba
):
    conn = make_database("browser")
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    target = target_for(conn, project, name="billing-browser")
    shots = []

    def shot(name: str) -> None:
        assert_no_password(page.content(), conn.password)
        path = artifacts / f"browser-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    login(dba)

    page.goto(f"{live_server.url}/admin/ops/alembicproject/{project.pk}/revisions/")
    page.wait_for_selector("#mop-graph svg")
    assert page.locator(f'#mop-graph [data-rev="{BILLING_HEAD}"]').count() == 1
    assert page.locator("#mop-revisions .mop-flag-merge").count() >= 1
    shot("1-revisions")

    page.click(f"#mop-targets a.button[href$='/ops/target/{target.pk}/schedule/']")
    page.wait_for_selector("#mop-schedule-form")
    page.select_option("#id_operation", "upgrade")
    page.fill("#id_revision", "head")
    shot("2-schedule-form")
    page.click("#mop-schedule-form input[type=submit]")

    page.wait_for_selector("#mop-plan-steps")
    assert "CREATE TABLE" in page.inner_text("#mop-sql")
    shot("3-confirm")
    page.click("#mop-confirm-form input[type=submit]")

    page.wait_for_selector("#mop-run")
    page.wait_for_selector('#mop-status[data-status="succeeded"]', timeout=90_000)
    bar = page.locator("#mop-progress")
    run = Run.objects.get(target=target)
    assert bar.get_attribute("max") == str(run.steps_total)
    assert page.evaluate("() => document.getElementById('mop-progress').value") == run.steps_total
    page.wait_for_function("() => document.querySelectorAll('#mop-log div').length > 0")
    shot("4-run-succeeded")

    assert run.status == Run.Status.SUCCEEDED, run.error
    assert alembic_current(BILLING, conn) == {BILLING_HEAD}

    page.goto(f"{live_server.url}/admin/ops/target/{target.pk}/status/")
    page.wait_for_selector("#mop-status")
    assert BILLING_HEAD in page.inner_text("#mop-status")
    shot("5-target-status")
    page.goto(f"{live_server.url}/admin/ops/auditevent/")
    page.wait_for_selector("#result_list")
    assert "run.finished" in page.inner_text("#result_list")
    shot("6-audit")
    page.goto(f"{live_server.url}/admin/ops/target/")
    page.wait_for_selector("#result_list")
    assert "set (encrypted)" in page.inner_text("#result_list")
    shot("9-targets")
    page.goto(f"{live_server.url}/admin/ops/run/")
    page.wait_for_selector("#result_list progress")
    shot("10-runs")
    assert all(p.stat().st_size > 10_000 for p in shots)


def test_it_updates_the_run_page_live_while_the_run_progresses(page, login, artifacts, make_database, dba):
    from django.utils.timezone import now

    from portal.ops.models import RunLog

    conn = make_database("live")
    target = target_for(conn, AlembicProjectFactory(name="billing", location=str(BILLING)), name="billing-live")
    steps = [{"revision": r, "direction": "upgrade", "message": m} for r, m in (("r1", "one"), ("r2", "two"))]
    run = RunFactory(target=target, requested_by=dba,
                             status=Run.Status.RUNNING, started_at=now(), steps_total=2, plan_steps=steps)

    login(dba, next=f"/admin/ops/run/{run.pk}/change/")
    page.wait_for_selector('#mop-status[data-status="running"]')
    assert page.is_visible("#mop-cancel")

    Run.objects.filter(pk=run.pk).update(steps_done=1, current_step="r2 two",
                                         step_timings=[{"revision": "r1", "direction": "upgrade", "seconds": 0.5}])
    RunLog.objects.create(run=run, message="Committed upgrade r1 in 0.500 s")
    page.wait_for_function("() => document.getElementById('mop-progress').value === 1")
    page.wait_for_selector("#mop-log div:has-text('Committed upgrade r1')")
    assert "r2 two" in page.inner_text("#mop-progress-text")
    shot = artifacts / "browser-7-run-live-half.png"
    page.screenshot(path=str(shot), full_page=True)

    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.FAILED, finished_at=now(), current_step="", error="Lock timeout in revision r2",
        error_explanation="The migration waited longer than lock_timeout.", error_code="lock_timeout",
        error_data={"code": "lock_timeout", "blocker_pid": 4242, "blocker_query": "LOCK TABLE users"},
    )
    page.wait_for_selector('#mop-status[data-status="failed"]')
    page.wait_for_selector("#mop-error:not([hidden])")
    assert "waited longer than lock_timeout" in page.inner_text("#mop-error")
    page.wait_for_selector("#mop-error-data:has-text('LOCK TABLE users')")
    assert not page.is_visible("#mop-cancel")
    page.screenshot(path=str(artifacts / "browser-8-run-live-failed.png"), full_page=True)
    assert_no_password(page.content(), conn.password)
