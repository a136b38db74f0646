"""In real Chromium, light and dark at 1280 px: the verify form offers the target's copy runs whose rejects
explain missing rows ("Rejects of copy run"), beside the copy id, and keeps a wrong choice on the page."""

# ruff: noqa: F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest

from portal.ops.models import Run
from tests.factories import RunFactory, target_for
from tests.portal.admin_helpers import billing_project  # noqa: F401
from tests.portal.copy_helpers import import_dir, make_sqlite, pg_exec, rel  # noqa: F401

pytestmark = [pytest.mark.browser]


def test_the_verify_form_offers_the_copy_runs_in_light_and_dark(
    live_server, page, login, artifacts, dba, billing_project, import_dir, make_database
):
    conn = make_database("vform")
    pg_exec(conn, "CREATE TABLE t (id bigint PRIMARY KEY)")
    target = target_for(conn, billing_project, name="verify-form-target")
    source = rel(make_sqlite(import_dir / "vform.sqlite", "CREATE TABLE t (id INTEGER PRIMARY KEY);", {"t": [(1,)]}))
    copy = RunFactory(target=target, operation=Run.Operation.COPY, revision="", actor=dba.username,
                              params={"copy_id": "copy-7f3a", "source": source}, status=Run.Status.SUCCEEDED_REJECTS)
    login(dba)
    page.set_viewport_size({"width": 1280, "height": 900})
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.goto(f"{live_server.url}/admin/ops/target/{target.pk}/verify/")
        page.wait_for_selector("#mop-verify-form")
        options = page.locator("#id_copy_run option").all_inner_texts()
        assert options[0] == "The latest copy of this SQLite file into this target"
        assert options[1].startswith(f"#{copy.pk}: copy id copy-7f3a, {source}")
        assert page.locator("#id_copy_id").is_visible()
        page.screenshot(path=str(artifacts / f"verify-copy-run-{scheme}.png"), full_page=True)
    page.select_option("#id_copy_run", str(copy.pk))
    page.fill("#id_path", source)
    page.click("#mop-verify-form input[name=with_source]")
    page.wait_for_url("**/admin/ops/run/*/change/")
    run = Run.objects.filter(operation=Run.Operation.VERIFY).latest("pk")
    assert run.params["after_copy"] == copy.pk and run.params["source"] == source
