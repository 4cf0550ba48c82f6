"""Headless Chromium for the browser tests (Debian's package; Playwright's own download does not
work here). Screenshots go to tests/artifacts/ (git-ignored)."""

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

# A browser test runs against a live server (a real transaction, committed) and says why it did
# not run where there is no Chromium: `uv run pytest` on a fresh clone needs nothing but uv, and
# CI (.ci/run) installs Chromium.
browser_test = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)"),
]


@contextmanager
def chromium_page(monkeypatch, width: int, height: int):
    """A page of a fresh headless Chromium at ``width`` x ``height``, closed afterwards."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM calls
    # are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser.new_page(viewport={"width": width, "height": height})
        browser.close()
        # Inside Playwright's event loop the ORM gets connections of their own (asgiref's context-local
        # storage), which nothing else closes: left open, the test database could not be dropped.
        connections.close_all()
