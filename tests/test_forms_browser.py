"""A crispy form with an error, in headless Chromium (issue 14): on acme, a project without a name;
on the root domain, signup with a malformed address. The error is read from the DOM the browser
built: inside the same field wrapper as its input, named by the input's aria-describedby, the
input marked invalid. Screenshots go to tests/artifacts/."""

import pytest
from playwright.sync_api import expect

from tests.browser import ARTIFACTS, browser_test, chromium_page
from tests.factories import PASSWORD

pytestmark = browser_test

# For the input named ``name``: its wrapper's id, the ids its aria-describedby names that are inside
# that wrapper, the texts of the errors there, and aria-invalid.
FIELD_IN_DOM = """name => {
  const input = document.querySelector(`[name="${name}"]`);
  const wrapper = input.closest(".field");
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  return {
    wrapper: wrapper && wrapper.id,
    errorsInWrapper: described.filter(id => {
      const element = document.getElementById(id);
      return element && element.classList.contains("errorlist") && element.closest(".field") === wrapper;
    }),
    errorTexts: [...wrapper.querySelectorAll(":scope > ul.errorlist li")].map(li => li.textContent),
    invalid: input.getAttribute("aria-invalid"),
  };
}"""


@pytest.fixture
def browser_page(monkeypatch):
    with chromium_page(monkeypatch, 1100, 800) as page:
        yield page


def test_a_project_without_a_name_shows_the_error_next_to_its_field(live_server, tenant, owner, browser_page):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser_page
    port = live_server.url.rsplit(":", 1)[1]
    base = f"http://{tenant.primary_host}:{port}"

    page.goto(f"{base}/accounts/sign-in/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/projects/")

    page.goto(f"{base}/projects/new/")
    page.get_by_label("Description").fill("A project someone forgot to name.")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "forms-project-error.png", full_page=True)

    field = page.evaluate(FIELD_IN_DOM, "name")
    assert field == {
        "wrapper": "div_id_name",
        "errorsInWrapper": ["id_name_error"],
        "errorTexts": ["This field is required."],
        "invalid": "true",
    }
    # What was typed is kept, and the other field has no error.
    expect(page.get_by_label("Description")).to_have_value("A project someone forgot to name.")
    assert page.evaluate(FIELD_IN_DOM, "description")["errorTexts"] == []
    assert page.evaluate(FIELD_IN_DOM, "description")["invalid"] is None


def test_signup_with_a_malformed_address_shows_the_error_next_to_its_field(
    live_server, settings, browser_page
):
    settings.SIGNUP_ENABLED = True
    port = live_server.url.rsplit(":", 1)[1]
    page = browser_page
    page.goto(f"http://{settings.BASE_DOMAIN}:{port}/signup/")
    page.get_by_label("Company name").fill("Initech")
    page.get_by_label("Workspace address").fill("9-lives")
    page.get_by_label("Your name").fill("Bill Lumbergh")
    page.get_by_label("Email").fill("bill@initech.test")
    page.get_by_label("Password").fill("a long enough password, really")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.locator("#id_slug_error")).to_be_visible()  # the answer's page, with the error
    page.screenshot(path=ARTIFACTS / "forms-signup-error.png", full_page=True)

    field = page.evaluate(FIELD_IN_DOM, "slug")
    assert field["wrapper"] == "div_id_slug" and field["invalid"] == "true"
    assert field["errorsInWrapper"] == ["id_slug_error"] and field["errorTexts"]
    # The help text stays named too, and the live check's status line joins them with the script.
    described = page.get_by_label("Workspace address").get_attribute("aria-describedby").split()
    assert described == ["id_slug_helptext", "id_slug_error", "slug-status"]
