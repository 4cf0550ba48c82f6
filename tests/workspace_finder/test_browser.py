"""The root domain's home in headless Chromium, on a laptop (1280x800) and a phone (390x844): it
fits without sideways scrolling, its fields are labelled, and the workspace address leads to that
workspace's sign-in page. Screenshots go to tests/artifacts/."""

import pytest
from playwright.sync_api import expect

from tests.browser import ARTIFACTS, browser_test, chromium_page

pytestmark = browser_test


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_home_fits_the_screen_and_its_address_form_leads_to_the_workspace(
    live_server, settings, tenant, site_pages, monkeypatch, width, height
):
    ARTIFACTS.mkdir(exist_ok=True)
    port = live_server.url.rsplit(":", 1)[1]
    settings.PUBLIC_PORT = port  # the redirect goes to the workspace's host on the live server's port
    with chromium_page(monkeypatch, width, height) as page:
        page.goto(f"http://{settings.BASE_DOMAIN}:{port}/")
        expect(page.get_by_role("heading", name="Sign in to your workspace")).to_be_visible()
        expect(page.get_by_label("Your email address")).to_be_visible()
        expect(page.get_by_role("link", name="Create a workspace").first).to_be_visible()
        expect(page.get_by_role("link", name="Operator sign-in")).to_be_attached()
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"
        page.screenshot(path=ARTIFACTS / f"home-{width}x{height}.png", full_page=True)

        # The signup form on the home has a "Workspace address" too: the sign-in card's is meant.
        sign_in = page.locator("#sign-in")
        sign_in.get_by_label("Workspace address").fill("nosuch")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text(f"There is no workspace at nosuch.{settings.BASE_DOMAIN}.")).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"home-unknown-{width}x{height}.png", full_page=True)

        sign_in.get_by_label("Workspace address").fill("acme")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"http://acme.{settings.BASE_DOMAIN}:{port}/accounts/sign-in/")

        page.goto(f"http://{settings.BASE_DOMAIN}:{port}/")
        page.get_by_label("Your email address").fill("nobody@nowhere.test")
        page.get_by_role("button", name="Email me my workspaces").click()
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"home-sent-{width}x{height}.png", full_page=True)
