"""Playwright for Python driving Debian's `chromium` package (no `playwright install`:
the pip wheel ships the driver, the browser comes from apt, `.ci/run` installs it).

Without /usr/bin/chromium the browser tests skip with the reason; with REQUIRE_SERVICES=1
(set by `.ci/run`) that skip is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.staff.conftest import Console, fast_hashing, start_console  # noqa: F401 - fixture

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (apt-get install chromium)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}, and REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # Containers and CI runners often have no user namespaces and a tiny /dev/shm.
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@pytest.fixture
def console(sqlite_url: str) -> Iterator[Console]:
    yield from start_console(sqlite_url)


@pytest.fixture
def phone(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A page on a phone-sized viewport, with touch, as a staff member's phone."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
