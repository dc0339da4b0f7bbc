"""Headless Chromium (Debian's ``chromium``) driven by Playwright, against the test stack.

Screenshots land in ``tests/artifacts/screenshots/`` (kept by CI as artefacts). The
accessibility check injects axe-core from ``node_modules`` (npm, ``package.json``) into the page.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from shared.settings import REPO_ROOT
from tests.stack import Stack

ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "screenshots"
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"


def chromium_path() -> str:
    found = os.environ.get("IMI_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "Debian's chromium is needed for the browser tests: apt-get install chromium "
            "(make test installs it when run as root)",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="package")
def playwright(stack: Stack) -> Iterator[Playwright]:
    # Playwright's event loop holds this thread until it stops: the stack (whose fixtures run
    # asyncio themselves) starts before it, and it stops with this package, before the async
    # tests of the other packages.
    with sync_playwright() as found:
        yield found


@pytest.fixture(scope="package")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=chromium_path(), args=["--no-sandbox", "--disable-dev-shm-usage"]
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail("axe-core is missing: npm ci (make test runs it)", pytrace=False)
    return AXE.read_text(encoding="utf-8")
