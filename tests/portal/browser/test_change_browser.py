"""In real Chromium at 1280 px, light and dark: the confirm page with the live risk, and the Approvals page."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from portal.change.models import Policy
from portal.ops.models import Run
from tests.factories import BILLING, AlembicProjectFactory, UserFactory, target_for
from tests.portal.admin_helpers import assert_no_password

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def _fill(conn) -> psycopg.Connection:
    """The target at 3f1c9a2b7d40 with a 20 k-row users table, and an app session holding it open."""
    with psycopg.connect(**conn.connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        c.execute("INSERT INTO alembic_version VALUES ('3f1c9a2b7d40')")
        for table in ("token_pricing", "device_auth"):
            c.execute(sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY, model_id varchar)").format(sql.Identifier(table)))
        c.execute("CREATE TABLE users (user_id varchar PRIMARY KEY, created_at timestamp NOT NULL)")
        c.execute("INSERT INTO users SELECT 'u' || g, now() FROM generate_series(1, 20000) g")
        c.execute("ANALYZE users")
    app = psycopg.connect(**conn.connect_kwargs("billing-app"))
    app.execute("SELECT count(*) FROM users")  # idle in transaction, holding ACCESS SHARE on users
    return app


def test_it_shows_the_risk_on_confirm_and_the_approvals_page_in_light_and_dark(
    live_server, page, login, artifacts, celery_worker_proc, make_database, dba
):
    conn = make_database("chgbrowser")
    target = target_for(conn, AlembicProjectFactory(name="billing", location=str(BILLING)), name="billing-prod",
                        environment="production")
    app = _fill(conn)
    Policy.objects.filter(environment="production").update(approvals_required=2)
    page.set_viewport_size({"width": 1280, "height": 900})

    def shots(name: str) -> None:
        assert_no_password(page.content(), conn.password)
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.screenshot(path=str(artifacts / f"change-{name}-{scheme}.png"), full_page=True)
        page.emulate_media(color_scheme="light")

    try:
        login(dba)
        page.goto(f"{live_server.url}/admin/ops/target/{target.pk}/schedule/")
        page.fill("#id_revision", "head")
        page.click("#mop-schedule-form input[type=submit]")
        page.wait_for_selector("#chg-risk")
        # ADD COLUMN on users: instant, but ACCESS EXCLUSIVE behind an open session.
        assert page.get_attribute("#chg-risk", "data-level") in ("moderate", "high")
        assert "1 session uses it now" in page.inner_text("#chg-reasons")
        assert "20 k" in page.inner_text("#chg-tables")
        assert page.locator("#chg-findings details").count() >= 1
        shots("confirm")
        page.fill("#id_confirm_name", "billing-prod")
        page.click("#mop-confirm-form input[type=submit]")
        page.wait_for_selector("#chg-run-change")
    finally:
        app.close()
    run = Run.objects.get(target=target)
    assert run.status == Run.Status.AWAITING_APPROVAL
    assert run.change.approvals_required == 2

    page.context.clear_cookies()
    login(UserFactory(username="anna", roles=["viewer", "approver"]), next="/admin/change/changerequest/approvals/")
    page.wait_for_selector(f'#chg-approvals tr[data-run="{run.pk}"]')
    shots("approvals")
    page.fill(f'tr[data-run="{run.pk}"] textarea', "read the plan; the users rewrite is short")
    page.click(f'tr[data-run="{run.pk}"] button[value=approved]')
    page.wait_for_selector(".messagelist")
    assert "(1 of 2 approvals); it is now awaiting approval" in page.inner_text(".messagelist")
    assert "1 of 2" in page.inner_text(f'#chg-approvals tr[data-run="{run.pk}"]')
    shots("approvals-one-of-two")
    page.goto(f"{live_server.url}/admin/ops/run/{run.pk}/change/")
    page.wait_for_selector("#chg-run-change")
    assert "anna approved" in page.inner_text("#chg-run-change")
    assert page.locator("#chg-decide").count() == 0  # decided already: no second form
    shots("run-page")
