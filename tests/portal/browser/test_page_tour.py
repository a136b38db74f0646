"""In real Chromium: every DBA page that no other browser test visits, one screenshot each.

The other browser tests already drive the revisions page, the schedule form and confirm, the run page,
target status, the target/run/audit lists (test_admin_browser), the activity page and the backend confirm
(test_activity_browser), the copy form, pre-flight, copy and verify run pages, report page and rejects
(test_copy_browser). This tour opens the rest: the login page and index, the project and target lists and
forms, an audit event, the report list and compare, the verify form, snapshot history and detail, and the
audit chain check. The data is made directly (no worker): rows, a snapshot read from the target, and two
target-only verifications run in-process and stored as the worker would store them.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.timezone import now

from migrations_ops.verify import VerifyOptions, verify
from portal.ops import audit, diagnostics, verifying
from portal.ops.models import AuditEvent, LockSnapshot, Run, Target, VerificationReport
from tests.factories import BILLING, AlembicProjectFactory, RunFactory, target_for
from tests.portal.admin_helpers import BILLING_HEAD, assert_no_password
from tests.portal.copy_helpers import TYPED_TARGET_DDL, pg_exec

pytestmark = [pytest.mark.browser]

JAPANESE = "請求データベース（検証用）"


def finished_upgrade(target: Target, dba) -> Run:
    """A succeeded upgrade to the billing head, as the worker leaves it, with its audit events."""
    start = now() - timedelta(minutes=5)
    run = RunFactory(
        target=target, operation=Run.Operation.UPGRADE, revision="head", actor=dba.username, requested_by=dba,
        status=Run.Status.SUCCEEDED, created_at=start, started_at=start, finished_at=start + timedelta(seconds=3),
        steps_total=1, steps_done=1, to_heads=[BILLING_HEAD], result_heads=[BILLING_HEAD],
        plan_steps=[{"revision": BILLING_HEAD, "direction": "upgrade", "message": "billing head"}],
    )
    for action, outcome in (("run.scheduled", ""), ("run.finished", Run.Status.SUCCEEDED)):
        audit.record(actor=dba.username, actor_kind=AuditEvent.ActorKind.USER, action=action, target=target,
                     run=run, operation=Run.Operation.UPGRADE, to_revision=BILLING_HEAD, outcome=outcome,
                     params={"note": JAPANESE})
    return run


def stored_verification(target: Target, dba) -> VerificationReport:
    """A target-only verification run in this process and stored as the worker stores it."""
    run = RunFactory(
        target=target, operation=Run.Operation.VERIFY, revision="", actor=dba.username, requested_by=dba,
        status=Run.Status.RUNNING, started_at=now(), params={"source": None, "tables": None, "mode": "target-only"},
    )
    return verifying.record_report(run, verify(target.conn(), options=VerifyOptions()))


def test_the_tour_of_every_page_no_other_browser_test_opens(live_server, page, login, artifacts, dba,
                                                            make_database):
    project = AlembicProjectFactory(name="billing", location=str(BILLING), description=JAPANESE)
    conn = make_database("tour")
    pg_exec(conn, TYPED_TARGET_DDL)
    target = target_for(conn, project, name="billing-tour")
    password = conn.password
    upgrade = finished_upgrade(target, dba)
    first = stored_verification(target, dba)
    # Something for the compare page to report: a table with rows that was never analyzed (a new warning).
    pg_exec(conn, "INSERT INTO users (user_id, email, created_at) VALUES ('u1', 'a@example.org', now())")
    second = stored_verification(target, dba)
    snap = diagnostics.store_snapshot(target, LockSnapshot.Reason.MANUAL, user=dba)
    event = AuditEvent.objects.filter(run=upgrade, action="run.finished").get()
    url = live_server.url

    def check(name: str, selector: str, *texts: str) -> None:
        page.wait_for_selector(selector)
        body = page.content()
        assert "Server Error" not in body and "Traceback" not in body, name
        assert_no_password(body, password)
        page.screenshot(path=str(artifacts / f"tour-{name}.png"), full_page=True)
        shown = page.inner_text("body").casefold()  # object tools and the user bar are upper-cased by CSS
        for text in texts:
            assert text.casefold() in shown, f"{name}: {text!r} not on the page"

    def visit(name: str, path: str, selector: str, *texts: str) -> None:
        response = page.goto(url + path)
        assert response is not None and response.status == 200, f"{name}: {path} -> {response and response.status}"
        check(name, selector, *texts)

    visit("01-login", "/admin/login/", "#login-form", "Migration Ops Portal")
    login(dba)
    visit("02-index", "/admin/", "#mop-fleet-table", "Fleet", "billing-tour", "targets behind head")
    visit("02-models", "/admin/models/", "#content-main .app-ops", "Verification reports")

    visit("03-projects", "/admin/ops/alembicproject/", "#result_list", "billing", "Revisions & graph")
    visit("04-project-change", f"/admin/ops/alembicproject/{project.pk}/change/", "#alembicproject_form",
          "Revisions & graph")
    assert page.input_value("#id_description") == JAPANESE
    visit("05-project-add", "/admin/ops/alembicproject/add/", "#alembicproject_form", "Add alembic project")

    visit("06-target-change", f"/admin/ops/target/{target.pk}/change/", "#target_form",
          "Password (write-only)", "set (encrypted)", "Schedule…")
    assert page.input_value("#id_password") == ""
    visit("07-target-add", "/admin/ops/target/add/", "#target_form", "Add target", "Password (write-only)")

    visit("08-audit-event", f"/admin/ops/auditevent/{event.pk}/change/", "#content-main", "run.finished", JAPANESE)
    visit("09-verify-chain", "/admin/ops/auditevent/verify-chain/", "#content-main form", "Verify the audit chain")
    page.click("#content-main form input[type=submit]")
    check("10-verify-chain-result", '#mop-chain-report[data-ok="true"]', "Chain intact")

    visit("11-reports", "/admin/ops/verificationreport/", "#result_list", "billing-tour", "target only")
    assert page.locator("#result_list tbody tr").count() == 2
    visit("12-compare", f"/admin/ops/verificationreport/{second.pk}/compare/?with={first.pk}", "#mop-compare-tables",
          f"#{first.pk} → #{second.pk}")
    assert "never_analyzed" in page.inner_text("#mop-compare-new")
    visit("13-verify-form", f"/admin/ops/target/{target.pk}/verify/", "#mop-verify-form", "Verify billing-tour")

    visit("14-snapshots", f"/admin/ops/target/{target.pk}/snapshots/", "#mop-snapshots", "Lock snapshots")
    assert page.locator(f"#mop-snapshots a[href$='/snapshots/{snap.pk}/']").count() >= 1
    visit("15-snapshot", f"/admin/ops/target/{target.pk}/snapshots/{snap.pk}/", "#mop-snapshot-head",
          "Lock snapshot of billing-tour")
