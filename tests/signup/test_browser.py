"""A person in headless Chromium signs their company up on the root domain and lands, signed in, in
the new workspace on its own subdomain. Screenshots go to tests/artifacts/."""

import pytest
from playwright.sync_api import expect

from tenants.models import Tenant
from tests.browser import ARTIFACTS, browser_test, chromium_page
from tests.signup.conftest import PASSWORD

pytestmark = browser_test


@pytest.fixture
def browser_page(monkeypatch):
    with chromium_page(monkeypatch, 1100, 900) as page:
        yield page


def test_a_person_signs_their_company_up_and_lands_signed_in_on_its_subdomain(
    live_server, settings, tenant, site_pages, browser_page
):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser_page
    port = live_server.url.rsplit(":", 1)[1]
    # Links to the new workspace (the hand-off) carry the live server's port.
    settings.PUBLIC_PORT = port

    page.goto(f"http://{settings.BASE_DOMAIN}:{port}/")
    page.get_by_role("link", name="Create a workspace").first.click()
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
    # Signed in: the workspace's own navigation with the owner's account menu, not the sign-in page.
    expect(page.get_by_role("link", name="Initrode Systems").first).to_be_visible()
    page.get_by_label("Account menu of Bill Lumbergh").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "signup-2-landed.png", full_page=True)
    assert Tenant.objects.filter(slug="initrode", name="Initrode Systems").exists()
