"""The health pages in Chromium, light and dark, 1280 px: the Health page with its charts, since a run,
a search parity report and its form, and the home page listing an open health event."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from django.utils.timezone import now

from portal.health import parity, services
from portal.health.models import HealthSnapshot, HealthThreshold
from portal.ops.models import Run
from tests.engine.health.helpers import build, load
from tests.engine.health.parity_helpers import copy_to, make_fts
from tests.factories import RunFactory, target_for

pytestmark = pytest.mark.browser


def _shoot(page, url: str, artifacts, name: str) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(url)
        page.screenshot(path=str(artifacts / f"health-{name}-{scheme}.png"), full_page=True)


def test_it_shows_health_since_run_and_search_parity(transactional_db, live_server, page, login, artifacts,
                                                     make_database, dba, import_root, tmp_path) -> None:
    conn = make_database("healthb")
    build(conn)
    t = target_for(conn, name="billing-health", environment="staging")
    HealthThreshold.objects.create(environment="staging", metric="connections", above=0, for_minutes=0)
    start = now() - dt.timedelta(minutes=40)
    for i in range(8):
        load(conn, inserts=5 + 10 * (i % 3), rollbacks=3 * (i % 4))
        row = services.take(t)
        HealthSnapshot.objects.filter(pk=row.pk).update(taken_at=start + dt.timedelta(minutes=5 * i))
        row.refresh_from_db()
        services.judge(t, row)
    run = RunFactory(target=t, operation="upgrade", revision="head", status=Run.Status.SUCCEEDED,
                             actor="dba", started_at=start + dt.timedelta(minutes=18),
                             finished_at=start + dt.timedelta(minutes=19))
    pconn = make_database("parityb")
    src = tmp_path / "s.sqlite"
    copy_to(pconn, make_fts(src))
    shutil.copy(src, import_root / "browser-search.sqlite")
    pt = target_for(pconn, name="search-app")
    check = parity.request_check(pt, sqlite="browser-search.sqlite", table="docs", regconfig="english",
                                 user=dba, enqueue=False)
    assert parity.run_check(check.pk) == "succeeded"

    login(dba)
    _shoot(page, f"{live_server.url}/admin/health/healthsnapshot/target/{t.pk}/?window=1h", artifacts, "target")
    assert page.locator("svg.mop-health-chart").count() == 7
    assert "orders_note_unused" in page.locator("#mop-unused-indexes").inner_text()
    _shoot(page, f"{live_server.url}/admin/health/healthsnapshot/run/{run.pk}/since/", artifacts, "since-run")
    assert "before" in page.locator("#mop-since-figures").inner_text().lower()
    _shoot(page, f"{live_server.url}/admin/health/paritycheck/{check.pk}/change/", artifacts, "parity")
    assert "queries find the same rows" in page.locator("#mop-parity-summary").inner_text()
    page.click("#mop-parity-rerun input[type=submit]")  # the same queries again, with 'simple'
    assert page.locator("#id_regconfig").input_value() == "simple"
    assert page.locator("#id_table").input_value() == "docs"
    _shoot(page, f"{live_server.url}/admin/health/paritycheck/add/?target={pt.pk}&table=docs", artifacts,
           "parity-form")
    _shoot(page, f"{live_server.url}/admin/", artifacts, "home")
    assert "Health of billing-health" in page.content()
