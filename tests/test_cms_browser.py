"""The operator edits the root domain's home in Wagtail's admin (/cms/) in headless Chromium,
publishes it, and the home on the root host shows the change. Screenshots go to tests/artifacts/."""

import re

from django.conf import settings
from playwright.sync_api import expect

from tests.browser import ARTIFACTS, browser_test, chromium_page
from tests.factories import PASSWORD

pytestmark = browser_test

NEW_TITLE = "Every company gets its own workspace"


def test_the_operator_edits_the_home_in_wagtail_and_the_root_host_shows_it(
    live_server, site_pages, operator, monkeypatch
):
    ARTIFACTS.mkdir(exist_ok=True)
    port = live_server.url.rsplit(":", 1)[1]
    root = f"http://{settings.BASE_DOMAIN}:{port}"
    with chromium_page(monkeypatch, 1280, 900) as page:
        page.goto(f"{root}/")
        expect(page.get_by_role("heading", level=1)).not_to_have_text(NEW_TITLE)

        # /cms/ sends a signed-out visitor to the operators' sign-in, then back.
        page.goto(f"{root}/cms/")
        page.wait_for_url(re.compile(r"/admin/login/\?next="))
        page.get_by_label("Email").fill(operator.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name=re.compile("Log in|Sign in", re.I)).click()
        page.wait_for_url(f"{root}/cms/")
        page.screenshot(path=ARTIFACTS / "cms-1-dashboard.png", full_page=True)

        page.goto(f"{root}/cms/pages/{site_pages.root_page_id}/edit/")
        page.locator("#id_title").fill(NEW_TITLE)
        page.screenshot(path=ARTIFACTS / "cms-2-editing-home.png", full_page=True)
        # Publishing is in the editor's footer, behind the "more actions" toggle of its main button.
        page.locator("footer [data-w-dropdown-target='toggle']").first.click()
        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_text(f"Page '{NEW_TITLE}' has been published.")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "cms-3-published.png", full_page=True)

        page.goto(f"{root}/")
        expect(page.get_by_role("heading", level=1)).to_have_text(NEW_TITLE)
        expect(page).to_have_title(re.compile("Platform"))
        page.screenshot(path=ARTIFACTS / "cms-4-home-changed.png", full_page=True)
