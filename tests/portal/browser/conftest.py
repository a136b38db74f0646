"""Browser tests: Debian's Chromium driven by Playwright (sync API), against pytest-django's live_server.

Never ``playwright install``: the system Chromium at /usr/bin/chromium is used.
Screenshots land in ``test-artifacts/`` (gitignored).
"""

# The portal's fixtures (personas, the real Celery worker, the session's import
# and static folders) come from tests/portal/conftest.py, one level up: this
# folder sits inside tests/portal so that each is defined, and started, once.
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.factories import USER_PASSWORD

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Playwright's sync API runs an event loop in this thread; the test's own ORM
# calls are still synchronous, so Django's async-safety check must stand aside.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def login(live_server, page) -> Callable[..., None]:
    """Log a user in through the admin login form; ``next`` is the page to land on (default: the index)."""

    def _login(user, next: str = "") -> None:
        page.goto(f"{live_server.url}/admin/login/" + (f"?next={next}" if next else ""))
        page.fill("#id_username", user.username)
        page.fill("#id_password", USER_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")

    return _login
