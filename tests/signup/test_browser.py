"""A person in headless Chromium signs their company up on the root domain and lands, signed in, in
the new workspace on its own subdomain. Screenshots go to tests/artifacts/."""

import shutil
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import expect

from tenants.models import Tenant
from tests.signup.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)"),
]


@pytest.fixture
def browser_page(monkeypatch):
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
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        yield page
        browser.close()
        # Connections the ORM opened inside Playwright's event loop are closed here, or the test
        # database could not be dropped.
        connections.close_all()


def test_a_person_signs_their_company_up_and_lands_signed_in_on_its_subdomain(
    live_server, settings, tenant, browser_page
):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser_page
    port = live_server.url.rsplit(":", 1)[1]
    # Links to the new workspace (the hand-off) carry the live server's port.
    settings.PUBLIC_PORT = port

    page.goto(f"http://{settings.BASE_DOMAIN}:{port}/")
    page.get_by_role("link", name="Create your company's workspace").click()
    assert page.url.endswith("/signup/")

    # The address is suggested from the company name and checked live: a taken one first.
    page.get_by_label("Company name").fill("Acme")
    expect(page.get_by_label("Workspace address")).to_have_value("acme")
    expect(page.locator("#slug-status")).to_have_text("The slug 'acme' is already taken.")
    page.get_by_label("Company name").fill("Initrode Systems")
    expect(page.get_by_label("Workspace address")).to_have_value("initrode-systems")
    expect(page.locator("#slug-status")).to_have_text("'initrode-systems' is available.")
    page.get_by_label("Workspace address").fill("initrode")
    expect(page.locator("#slug-status")).to_have_text("'initrode' is available.")

    page.get_by_label("Your name").fill("Bill Lumbergh")
    page.get_by_label("Email").fill("bill@initrode.test")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.screenshot(path=ARTIFACTS / "signup-1-form.png", full_page=True)
    page.get_by_role("button", name="Create workspace").click()

    page.wait_for_url(f"http://initrode.{settings.BASE_DOMAIN}:{port}/projects/")
    # Signed in: the workspace's own navigation with its sign-out button, not the sign-in page.
    expect(page.get_by_role("link", name="Initrode Systems").first).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "signup-2-landed.png", full_page=True)
    assert Tenant.objects.filter(slug="initrode", name="Initrode Systems").exists()
