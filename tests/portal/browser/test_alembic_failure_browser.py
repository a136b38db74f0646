"""In real Chromium, light and dark at 1280 px: the confirm page's preview-stopped banner, a failed run's
class / statement / file:line with the traceback collapsed, and the Workers page. Screenshots in test-artifacts/."""

from __future__ import annotations

import pytest

from portal.ops import services
from portal.ops.models import AlembicProject
from tests.engine.alembic_factory import Factory
from tests.factories import USER_PASSWORD, target_for
from tests.portal.conftest import wait_run_finished

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_failure_pages_in_chromium(live_server, browser, transactional_db, celery_worker_proc, make_database, dba,
                                   tmp_path, artifacts, scheme):
    f = Factory(tmp_path / "p")
    f.table_rev("f1", None, "sponsor_type")
    f.rev("f2", "f1", "create it again", upgrade='op.create_table("sponsor_type", sa.Column("id", sa.Integer))')
    f.rev("f3", "f2", "uses a removed name", upgrade='op.add_column("sponsor_type", sa.Column("b", sa.Binary()))')
    project = AlembicProject.objects.create(name=f"fail-{scheme}", location=str(f.root))
    target = target_for(make_database("failpage"), project, name=f"fail-{scheme}")
    run = wait_run_finished(services.schedule_run(target=target, operation="upgrade", revision="f2", user=dba))
    assert run.status == "failed"

    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", dba.username)
    page.fill("#id_password", USER_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    page.goto(f"{live_server.url}/admin/ops/run/{run.pk}/change/")
    assert page.locator("#mop-failure-class").inner_text() == "psycopg.errors.DuplicateTable"
    assert not page.locator("#mop-failure-traceback pre").is_visible()  # collapsed
    page.screenshot(path=str(artifacts / f"alembic-run-failure-{scheme}.png"), full_page=True)
    page.click("#mop-failure-traceback summary")
    assert page.locator("#mop-failure-traceback pre").is_visible()

    page.goto(f"{live_server.url}/admin/ops/target/{target.pk}/schedule/")
    page.fill("#id_revision", "head")
    page.click("input[type=submit]")
    page.wait_for_selector("#mop-preview-stopped")
    box = page.locator("#mop-preview-stopped").bounding_box()
    assert box["y"] < 300  # at the top, before the plan
    assert "f3" in page.locator("#mop-preview-stopped").inner_text()
    page.screenshot(path=str(artifacts / f"alembic-preview-stopped-{scheme}.png"))

    page.goto(f"{live_server.url}/admin/ops/run/workers/")
    page.wait_for_selector("#mop-workers")
    assert "unchanged" in page.locator("#mop-workers").inner_text()
    page.screenshot(path=str(artifacts / f"alembic-workers-{scheme}.png"))
    context.close()
