"""Every portal page in real Chromium, light and dark, at 1280 px: it fits, and its danger boxes are readable.

Each page is screenshotted per theme (test-artifacts/theme-<theme>-<page>.png),
checked for sideways overflow (the page, and the admin's result lists), and
its danger and confirmation boxes for WCAG AA contrast (ratio >= 4.5) of
their computed colours. The production downgrade confirm page carries the
DANGER finding and the "type the target's name" box.
"""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.timezone import now

from migrations_ops.schema.project import ProjectSource
from migrations_ops.schema.runner import run_plan
from portal.ops import diagnostics
from portal.ops.models import AuditEvent, LockSnapshot, Run, Target
from tests.factories import BILLING, USER_PASSWORD, AlembicProjectFactory, RunFactory, target_for
from tests.portal.activity_helpers import app_role, chain, lock_db, locks_target
from tests.portal.admin_helpers import assert_no_password
from tests.portal.browser.test_page_tour import finished_upgrade, stored_verification
from tests.portal.browser.theme_checks import AA, THEMES, contrast, internals, overflow, themed_page

pytestmark = [pytest.mark.browser]

DANGER_BOXES = ", ".join([
    "#mop-findings-danger td", "#mop-findings-danger h3", ".mop-error p", ".mop-error h3", ".mop-error code",
    ".mop-problem h3", ".mop-problem p", ".errornote",
])
# What else must read in both themes: badges, flags, durations, findings, verdicts, parameters.
READ_BOXES = ", ".join([
    ".mop-badge", ".mop-flag", ".mop-muted", ".mop-stat .v", ".mop-stat .k", "[class*=mop-dur-]",
    "tr.mop-waiting td", "tr.mop-row-warn td", "tr.mop-verdict-row-fail td", "dl.mop-params-dl dd", ".mop-target-nav a",
])
LISTS_AT_1440 = ("targets", "runs", "audit", "index", "reports", "projects")


def _login(page, url: str, user) -> None:
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", USER_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_every_page_fits_and_reads_in_both_themes(live_server, browser, artifacts, dba, make_database,
                                                  locks_target, chain):
    project = AlembicProjectFactory(name="billing", location=str(BILLING))
    prod_conn = make_database("prod")
    prod = target_for(prod_conn, project, name="billing-prod", environment=Target.Environment.PRODUCTION)
    run_plan(prod_conn, ProjectSource(str(BILLING)), "upgrade", "head", run_id="tour-setup")
    dev = target_for(make_database("dev"), project, name="billing-dev")
    upgrade = finished_upgrade(prod, dba)
    failed = RunFactory(
        target=dev, operation="upgrade", revision="head", actor=dba.username, requested_by=dba,
        status=Run.Status.FAILED, started_at=now() - timedelta(minutes=2), finished_at=now(),
        error="canceling statement due to lock timeout", error_code="lock_timeout",
        params={"lock_timeout_ms": 1000, "statement_timeout_ms": 900000, "lock_retries": 0, "confirmed": False},
    )
    report = stored_verification(prod, dba)
    snap = diagnostics.store_snapshot(locks_target, LockSnapshot.Reason.PERIODIC, actor="schedule:lock-snapshots")
    event = AuditEvent.objects.filter(run=upgrade, action="run.finished").get()
    pages = [
        ("index", "/admin/", "#mop-fleet-table"),
        ("models", "/admin/models/", "#content-main"),
        ("targets", "/admin/ops/target/", "#result_list"),
        ("target-change", f"/admin/ops/target/{prod.pk}/change/", "#target_form"),
        ("target-status", f"/admin/ops/target/{dev.pk}/status/", "#mop-status"),
        ("schedule", f"/admin/ops/target/{prod.pk}/schedule/", "#mop-schedule-form"),
        ("runs", "/admin/ops/run/", "#result_list"),
        ("run", f"/admin/ops/run/{upgrade.pk}/change/", "#mop-run"),
        ("run-failed", f"/admin/ops/run/{failed.pk}/change/", "#mop-run"),
        ("audit", "/admin/ops/auditevent/", "#result_list"),
        ("audit-event", f"/admin/ops/auditevent/{event.pk}/change/", "#content-main"),
        ("audit-chain", "/admin/ops/auditevent/verify-chain/", "#content-main"),
        ("projects", "/admin/ops/alembicproject/", "#result_list"),
        ("revisions", f"/admin/ops/alembicproject/{project.pk}/revisions/", "#mop-graph svg"),
        ("activity", f"/admin/ops/target/{locks_target.pk}/activity/", "#mop-all-sessions tr.mop-waiting"),
        ("snapshots", f"/admin/ops/target/{locks_target.pk}/snapshots/", "#content-main"),
        ("snapshot", f"/admin/ops/target/{locks_target.pk}/snapshots/{snap.pk}/", "#content-main"),
        ("copy-form", f"/admin/ops/target/{dev.pk}/copy/", "#content-main"),
        ("verify-form", f"/admin/ops/target/{dev.pk}/verify/", "#content-main"),
        ("reports", "/admin/ops/verificationreport/", "#result_list"),
        ("workers", "/admin/ops/run/workers/", "#content-main"),
        ("report", f"/admin/ops/verificationreport/{report.pk}/change/", "#content-main"),
    ]
    problems: list[str] = []

    def check(page, theme: str, name: str) -> None:
        body = page.content()
        assert "Server Error" not in body and "Traceback" not in body, name
        assert_no_password(body, prod_conn.password)
        page.screenshot(path=str(artifacts / f"theme-{theme}-{name}.png"), full_page=True)
        problems.extend(f"{theme} {name}: overflow {o}" for o in overflow(page))
        for box in contrast(page, f"{DANGER_BOXES}, {READ_BOXES}"):
            if box["ratio"] < AA:
                problems.append(f"{theme} {name}: contrast {box['ratio']:.2f} for {box['text']!r}")
        problems.extend(f"{theme} {name}: internal shown as a word: {w}" for w in internals(page))

    for theme in THEMES:
        context, page = themed_page(browser, theme)
        try:
            _login(page, live_server.url, dba)
            for name, path, selector in pages:
                page.goto(live_server.url + path)
                page.wait_for_selector(selector)
                check(page, theme, name)
                if name == "index":  # behind head, a failed run, blocked sessions: each shown
                    assert page.inner_text("#mop-count-blocked .v") == "3"
                    assert page.inner_text("#mop-count-failed .v") == "1"
                    assert "FAILED" in page.inner_text("#mop-fleet-billing-dev .mop-fleet-last").upper()
                    assert "3 blocked" in page.inner_text(f"#mop-fleet-{locks_target.name} .mop-fleet-sessions")
                    assert "pending" in page.inner_text(f"#mop-fleet-{locks_target.name} .mop-fleet-rev")
                    # The failed run waits for its asker until they open its page: the light round opens it
                    # from the Runs list ("run-failed" below), so the dark round no longer lists it.
                    assert page.inner_text("#mop-count-waiting .v") == ("1" if theme == "light" else "0")
                if name == "snapshot":  # waiting sessions in the session lists: the waiting colour, never green
                    green, colours = page.evaluate("""() => {
                      const probe = document.createElement('span'); probe.style.color = 'var(--mop-ink-green)';
                      document.body.append(probe); const green = getComputedStyle(probe).color; probe.remove();
                      return [green, [...document.querySelectorAll('.mop-sessions tr.mop-waiter td.mop-dur')]
                        .map((td) => getComputedStyle(td).color)]; }""")
                    assert colours and green not in colours, (green, colours)
                if name in LISTS_AT_1440:  # wider screens too: nothing cut off inside a scrolling box
                    page.set_viewport_size({"width": 1440, "height": 900})
                    page.screenshot(path=str(artifacts / f"theme-{theme}-1440-{name}.png"), full_page=True)
                    problems.extend(f"{theme} 1440 {name}: overflow {o}" for o in overflow(page))
                    page.set_viewport_size({"width": 1280, "height": 900})
            # The dashboard refreshes itself (the loop shared with the Locks page, refresh.js).
            page.goto(live_server.url + "/admin/")
            page.select_option("#mop-refresh-interval", "5")
            page.wait_for_function(
                "() => document.getElementById('mop-refresh-state').textContent.startsWith('updated')", timeout=20_000)
            assert page.locator("#mop-fleet-table tr[id^=mop-fleet-]").count() == 3
            # The Locks page's session list sorts by a click and filters as one types.
            page.goto(f"{live_server.url}/admin/ops/target/{locks_target.pk}/activity/")
            page.wait_for_selector("#mop-all-sessions tr.mop-waiting")
            page.click("#mop-all-sessions th:first-child")
            page.click("#mop-all-sessions th:first-child")
            assert page.get_attribute("#mop-all-sessions th:first-child", "aria-sort") == "descending"
            pids = page.eval_on_selector_all("#mop-all-sessions tbody tr[data-pid]", "rs => rs.map(r => +r.dataset.pid)")
            assert pids == sorted(pids, reverse=True) and len(pids) >= 4
            page.fill("#mop-sessions-filter", str(chain.a.pid))
            visible = page.eval_on_selector_all("#mop-all-sessions tbody tr[data-pid]:not([hidden])",
                                                "rs => rs.map(r => +r.dataset.pid)")
            assert visible == [chain.a.pid]
            # The production downgrade confirm page: a DANGER finding and the name to type back.
            page.goto(f"{live_server.url}/admin/ops/target/{prod.pk}/schedule/?operation=downgrade&revision=-1")
            page.click("#mop-schedule-form input[type=submit]")
            page.wait_for_selector("#mop-confirm-form")
            # Findings are grouped by rule (change control); the danger group is open, not folded.
            danger = "#chg-findings details.chg-group[open]:has(.mop-finding-danger)"
            assert page.locator(danger).count() >= 1
            assert page.locator("#mop-confirm-form .mop-error input").count() == 1
            checked = contrast(page, f"{danger} summary, {danger} p, #mop-confirm-form .mop-error p")
            assert len(checked) >= 3, checked
            check(page, theme, "confirm-production-downgrade")
        finally:
            context.close()
    assert not problems, "\n".join(problems)
