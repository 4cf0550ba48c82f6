"""The product walk of issue 13 in headless Chromium, one journey on a fresh workspace: its owner
invites a member from /team/; the member opens the link of the email the real worker handed to the
provider (the fake Postmark) and lands on the projects page signed in; the owner turns on two-factor
sign-in and signs in again with a code; the operator's dashboard shows the new workspace's figures.

Every page visited is saved at 1280x800 and at 390x844 in tests/artifacts/ (git-ignored), named
``walk-<step>-<width>x<height>.png``. Locators go by label and role, so the walk checks those too.
"""

import base64
import re
import time

import pytest
from django.utils import timezone
from django_otp.oath import totp
from playwright.sync_api import expect

from tenants.services import provision_tenant
from tests.browser import ARTIFACTS, browser_test, chromium_page
from tests.factories import PASSWORD
from tests.worker import wait_until

pytestmark = browser_test

SIZES = ((1280, 800), (390, 844))
DESKTOP = {"width": SIZES[0][0], "height": SIZES[0][1]}
OWNER_PASSWORD = "hooli-owner-long-password"
MEMBER_PASSWORD = "joining-hooli-with-a-long-password"
MEMBER_EMAIL = "dinesh@hooli.test"
STEP = 30  # seconds of a TOTP time step (django-otp's default, the authenticator apps')


@pytest.fixture
def browser_page(monkeypatch):
    with chromium_page(monkeypatch, **DESKTOP) as page:
        yield page


def shoot(page, step: str) -> None:
    """The page as it is now, at each size; the viewport is put back to the desktop size after."""
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=ARTIFACTS / f"walk-{step}-{width}x{height}.png")
    page.set_viewport_size(DESKTOP)


class Authenticator:
    """The owner's authenticator app: it knows the key typed in from the setup page and never shows
    a code of a time step it already showed (django-otp accepts each step once, and one step either
    side of the server's clock)."""

    def __init__(self, typed_key: str):
        key = typed_key.replace(" ", "")
        self.key = base64.b32decode(key + "=" * (-len(key) % 8))  # the page leaves out the padding
        self.last_step = None

    def code(self) -> str:
        now = int(time.time()) // STEP
        step = now if self.last_step is None else max(now, self.last_step + 1)
        self.last_step = step
        return f"{totp(self.key, step=STEP, drift=step - now):06d}"


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/projects/")
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)


def test_the_product_walk_of_a_new_workspace(
    live_server, settings, tenant, operator, outbox_worker, email_settings, fake_postmark, browser_page
):
    ARTIFACTS.mkdir(exist_ok=True)
    port = live_server.url.rsplit(":", 1)[1]
    settings.PUBLIC_PORT = port  # the invitation's link, made when it is queued, names the live server
    outbox_worker.ping()  # tasks of earlier tests are done before the fake's record is cleared
    fake_postmark.reset()

    hooli = provision_tenant(
        "hooli", "Hooli", "gavin@hooli.test", owner_password=OWNER_PASSWORD, owner_name="Gavin Belson"
    ).tenant
    base = f"http://{hooli.primary_host}:{port}"
    page = browser_page

    # --- The owner signs in and invites a member from the team page. ---
    sign_in(page, base, "gavin@hooli.test", OWNER_PASSWORD)
    shoot(page, "01-owner-sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/projects/")
    page.get_by_label("Account menu of Gavin Belson").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shoot(page, "02-owner-projects-account-menu")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    expect(page).to_have_url(f"{base}/team/")
    expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    shoot(page, "03-team")
    invite = page.get_by_role("region", name="Invite someone")
    invite.get_by_label("Email").fill(MEMBER_EMAIL)
    invite.get_by_label("Role").select_option(label="Member")
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_have_text(f"Invitation sent to {MEMBER_EMAIL} (member).")
    invitation_row = page.get_by_role("row").filter(has_text=MEMBER_EMAIL)
    expect(invitation_row).to_contain_text("Pending")
    shoot(page, "04-team-invited")

    # --- The worker sends the email through the provider; the member follows its link. ---
    submission = wait_until(
        lambda: next((s for s in fake_postmark.accepted() if s.data["To"] == MEMBER_EMAIL), None)
    )
    assert submission.data["Subject"] == "Gavin Belson invited you to join Hooli"
    assert submission.metadata["tenant"] == "hooli"
    link = re.search(r"http://\S+/accounts/invitations/\S+/", submission.data["TextBody"]).group(0)
    assert link.startswith(f"{base}/accounts/invitations/")

    member_context = page.context.browser.new_context(viewport=DESKTOP)
    member_page = member_context.new_page()
    member_page.goto(link)
    expect(member_page.get_by_role("heading", name="Join Hooli")).to_be_visible()
    expect(member_page.get_by_text(MEMBER_EMAIL)).to_be_visible()
    member_page.get_by_label("Your name").fill("Dinesh Chugtai")
    member_page.get_by_label(re.compile(r"^Password:?$")).fill(MEMBER_PASSWORD)
    member_page.get_by_label("Password again").fill(MEMBER_PASSWORD)
    shoot(member_page, "05-member-accepts-invitation")
    member_page.get_by_role("button", name="Join Hooli").click()
    expect(member_page).to_have_url(f"{base}/projects/")
    member_page.get_by_label("Account menu of Dinesh Chugtai").click()
    expect(member_page.get_by_text(MEMBER_EMAIL)).to_be_visible()
    # A member manages no one: no Team link for them.
    expect(member_page.get_by_role("navigation", name="Main").get_by_role("link", name="Team")).to_have_count(
        0
    )
    shoot(member_page, "06-member-landed-on-projects")
    member_context.close()

    page.reload()
    expect(page.get_by_role("row").filter(has_text="Dinesh Chugtai")).to_contain_text("Member")
    invitations = page.get_by_role("row").filter(has_text=MEMBER_EMAIL).filter(has_text="Accepted")
    expect(invitations).to_have_count(1)
    shoot(page, "07-team-with-member")

    # --- The owner turns on two-factor sign-in from the profile. ---
    page.get_by_label("Account menu of Gavin Belson").click()
    page.get_by_role("link", name="Profile").click()
    expect(page).to_have_url(f"{base}/account/")
    shoot(page, "08-profile")
    page.get_by_role("link", name="Manage two-factor sign-in").click()
    expect(page).to_have_url(f"{base}/account/two-factor/")
    shoot(page, "09-two-factor-off")
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_role("img")).to_be_visible()  # the QR code
    app = Authenticator(page.locator("p", has_text="Or type this key in it").locator("code").inner_text())
    shoot(page, "10-two-factor-setup")
    page.get_by_label("Code from the app").fill(app.code())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    shoot(page, "11-recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_text("Signing in asks for the code of your authenticator app.")).to_be_visible()
    shoot(page, "12-two-factor-on")

    # --- It signs out, and signing in again asks for a code. ---
    page.get_by_label("Account menu of Gavin Belson").click()
    page.get_by_role("button", name="Sign out").click()
    shoot(page, "13-signed-out")
    sign_in(page, base, "gavin@hooli.test", OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/code/"))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code").fill(app.code())
    shoot(page, "14-sign-in-code")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/projects/")
    expect(page.get_by_label("Account menu of Gavin Belson")).to_be_visible()
    shoot(page, "15-owner-back-in-with-code")

    # --- The operator's dashboard shows the new workspace. ---
    admin = f"http://{settings.BASE_DOMAIN}:{port}/admin/"
    page.goto(admin)
    page.get_by_label("Email").fill(operator.email)
    page.get_by_label("Password").fill(PASSWORD)
    shoot(page, "16-operator-sign-in")
    page.get_by_role("button", name=re.compile("Log in|Sign in")).click()
    expect(page).to_have_url(admin)
    largest = page.locator("#panel-largest")
    hooli_row = largest.get_by_role("row").filter(has=page.get_by_role("link", name="Hooli", exact=True))
    expect(hooli_row.get_by_role("cell").last).to_have_text("2")  # the owner and the member
    # Signed up today, and the one active tenant on the default plan (acme and globex are on
    # "unlimited", and other tests' tenants are gone).
    today = (
        page.locator("#panel-signups").get_by_role("row").filter(has_text=timezone.localdate().isoformat())
    )
    expect(today).to_have_count(1)
    assert hooli.plan == settings.TENANT_DEFAULT_PLAN != "unlimited"
    plans = page.locator("#panel-tenants-by-status")
    default_plan = plans.get_by_role("row").filter(has=page.get_by_role("link", name=hooli.plan, exact=True))
    expect(default_plan.get_by_role("cell").nth(1)).to_have_text("1")  # the "Active" column
    expect(plans.get_by_role("columnheader").nth(1)).to_have_text("Active")
    shoot(page, "17-operator-dashboard")
