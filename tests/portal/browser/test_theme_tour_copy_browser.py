"""The copy and verification pages in real Chromium, light and dark, at 1280 and 1440 px: they fit and read right.

A real worker copies two SQLite files (one with planted rejects and orphans,
one with an FTS table that is not copied) through the pages a DBA uses: the
copy form, the pre-flight, the copy run page (bars, summary, "Not copied"),
the rejected rows, the automatic verification run, its report, and the verify
form. Each page is screenshotted per theme (test-artifacts/theme-<theme>-<page>.png
at 1280 px, theme-<theme>-1440-<page>.png at 1440 px) and checked for sideways
overflow, WCAG AA contrast (>= 4.5) of its badges, findings and danger boxes,
and for raw internals shown as words (``SUCCEEDED_REJECTS``, a JSON blob).
"""

# ruff: noqa: F401, F811 - pytest fixtures are imported by name
from __future__ import annotations

import pytest

from portal.ops.models import Run, VerificationReport
from tests.factories import USER_PASSWORD
from tests.portal.admin_helpers import assert_no_password, billing_project
from tests.portal.browser.theme_checks import AA, THEMES, contrast, internals, overflow, themed_page
from tests.portal.copy_helpers import (
    billing_sqlite,
    fts_sqlite,
    fts_target,
    import_dir,
    make_billing_target,
    rel,
)

pytestmark = [pytest.mark.browser, pytest.mark.worker]

WIDTHS = (1280, 1440)
READ_BOXES = ", ".join([
    ".mop-badge", "#mop-status", ".mop-error p", ".mop-error h3", ".mop-problem p", ".errornote",
    "#mop-preflight-predicted td", "#mop-preflight-orphans td", "#mop-copy-tables td", "#mop-report-tables td",
    "#mop-report-verdict", "#mop-rejects td", "#mop-copy-not-copied td", ".mop-muted", ".mop-flag", "dl.mop-params-dl dd",
])


def test_the_copy_and_verification_pages_fit_and_read_in_both_themes(
    live_server, browser, artifacts, celery_worker_proc, dba, billing_project, billing_sqlite, make_billing_target,
    fts_sqlite, fts_target,
):
    path, manifest = billing_sqlite
    target = make_billing_target(name="billing-tour-copy")
    secrets = [target.password(), fts_target.password()]
    problems: list[str] = []
    context, page = themed_page(browser, "light")

    def check(name: str) -> None:
        """Both themes at both widths, on the page as it stands (a POST's answer is not reloaded)."""
        for secret in secrets:
            assert_no_password(page.content(), secret)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for theme in THEMES:
                page.emulate_media(color_scheme=theme)
                suffix = "" if width == 1280 else f"{width}-"
                page.screenshot(path=str(artifacts / f"theme-{theme}-{suffix}{name}.png"), full_page=True)
                problems.extend(f"{theme} {width} {name}: overflow {o}" for o in overflow(page))
                for box in contrast(page, READ_BOXES):
                    if box["ratio"] < AA:
                        problems.append(f"{theme} {width} {name}: contrast {box['ratio']:.2f} for {box['text']!r}")
        problems.extend(f"{name}: internal shown as a word: {w}" for w in internals(page))
        page.set_viewport_size({"width": 1280, "height": 900})
        page.emulate_media(color_scheme="light")

    def copy_through_pages(tgt, source: str, name: str) -> Run:
        page.goto(f"{live_server.url}/admin/ops/target/{tgt.pk}/copy/")
        page.wait_for_selector("#mop-copy-form")
        page.select_option("#id_pick", source)
        check(f"{name}-form")
        page.click("#mop-copy-form input[type=submit]")
        page.wait_for_selector("#mop-preflight-tables")
        check(f"{name}-preflight")
        page.click("#mop-copy-confirm-form input[type=submit]")
        page.wait_for_selector("#mop-run[data-kind=copy]")
        page.wait_for_selector("#mop-status:not([data-status=queued]):not([data-status=running])", timeout=90_000)
        page.wait_for_selector("#mop-summary-block:not([hidden])")
        return Run.objects.filter(target=tgt, operation=Run.Operation.COPY).latest("pk")

    try:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", dba.username)
        page.fill("#id_password", USER_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")

        # A copy with planted rejects and orphans: amber run, rejects page, a failing verification.
        copy = copy_through_pages(target, rel(path), "copy")
        assert copy.status == Run.Status.SUCCEEDED_REJECTS
        check("copy-run")
        page.goto(f"{live_server.url}/admin/ops/run/{copy.pk}/rejects/")
        page.wait_for_selector("#mop-rejects")
        assert page.locator("#mop-rejects tbody tr").count() == len(manifest.rejects)
        check("copy-rejects")
        page.goto(f"{live_server.url}/admin/ops/run/{copy.pk}/change/")
        page.wait_for_selector("#mop-verify-link:not([hidden])", timeout=60_000)
        page.click("#mop-verify-link a")
        page.wait_for_selector("#mop-run[data-kind=verify]")
        page.wait_for_selector("#mop-status:not([data-status=queued]):not([data-status=running])", timeout=90_000)
        page.wait_for_selector("#mop-report-link:not([hidden])")
        check("verify-run")
        page.click("#mop-report-link a")
        page.wait_for_selector("#mop-report-tables")
        assert VerificationReport.objects.filter(target=target).count() == 1
        check("verify-report")
        page.goto(f"{live_server.url}/admin/ops/target/{target.pk}/verify/")
        page.wait_for_selector("#mop-verify-form")
        check("verify-form")

        # A copy whose FTS table is not copied: the run page's "Not copied" section.
        fts = copy_through_pages(fts_target, rel(fts_sqlite), "copy-fts")
        # opened before the copy ended: the live page shows what it left behind once the summary names it
        page.wait_for_selector("#mop-copy-not-copied tr[data-table=docs_fts_data]")
        sql_file = page.request.get(f"{live_server.url}/admin/ops/run/{fts.pk}/not-copied.sql")  # its download
        assert sql_file.ok and "docs_fts_data" in sql_file.text()
        check("copy-run-not-copied")
        assert fts.status in (Run.Status.SUCCEEDED, Run.Status.SUCCEEDED_REJECTS)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
