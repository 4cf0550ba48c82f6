"""Onboarding without dead ends: an accepted invitation, a new owner's first password and a password
reset each sign the person in and land them in the app; every page says what is happening; a link
works once."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import tenant_context

from tenant_apps.accounts.models import UserSession
from tenants import services as tenant_services
from tests.conftest import PASSWORD, host_client
from tests.mailbox import mail

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-long-password-7"
RESET_LINK = re.compile(r"https?://\S+/accounts/reset/\S+/")


def sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/sign-in/", {"username": email, "password": password})


def link_in(template: str, to: str) -> str:
    """The path of the one-time link in the last email of ``template`` to ``to``."""
    [message] = [m for m in mail.outbox if m.template == template and m.to == [to]][-1:]
    return urlsplit(RESET_LINK.search(message.body).group(0)).path


def open_link(client, path):
    """Follow a password link as a browser does: Django swaps the token for a session marker and
    redirects to the form."""
    page = client.get(path, follow=True)
    return page, page.redirect_chain[-1][0] if page.redirect_chain else path


def choose(client, form_path, password=NEW_PASSWORD):
    return client.post(form_path, {"new_password1": password, "new_password2": password})


def signed_in_as(client) -> str | None:
    """The email the browser is signed in as, read from the app's account menu (None: signed out)."""
    page = client.get("/projects/")
    if page.status_code != 200:
        return None
    return re.search(rb'<span class="muted">([^<]+)</span></div>', page.content).group(1).decode()


# --- Invitations ----------------------------------------------------------------------------------


def test_an_accepted_invitation_lands_signed_in_on_the_projects_page(
    tenant, api_client, admin, tenant_client
):
    response = api_client(admin).post(
        "/api/v1/invitations/", {"email": "joiner@example.test", "role": "member"}, format="json"
    )
    assert response.status_code == 201
    [message] = [m for m in mail.outbox if m.to == ["joiner@example.test"]]
    path = urlsplit(re.search(r"http://\S+/accounts/invitations/\S+/", message.body).group(0)).path

    page = tenant_client.get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert "<h1>Join Acme</h1>" in text
    assert "<strong>Ada Admin</strong> invited you to join Acme as <strong>member</strong>" in text

    accepted = tenant_client.post(
        path, {"full_name": "Jo Iner", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert accepted.status_code == 302 and accepted["Location"] == "/projects/"
    landed = tenant_client.get("/projects/")
    assert landed.status_code == 200 and b"Welcome to Acme." in landed.content
    assert signed_in_as(tenant_client) == "joiner@example.test"
    with tenant_context(tenant):
        joiner = get_user_model().objects.get(email="joiner@example.test")
        assert UserSession.objects.filter(user=joiner).count() == 1


def test_the_accounts_home_is_no_dead_end(web, member):
    page = web(member).get("/accounts/")
    assert page.status_code == 200
    assert b'href="/projects/"' in page.content and b'href="/account/"' in page.content


# --- A new owner's first password -----------------------------------------------------------------


def test_a_new_owner_chooses_a_first_password_from_the_welcome_email_and_lands_in_the_app():
    tenant = tenant_services.provision_tenant("initech", "Initech", "boss@initech.test").tenant
    path = link_in("accounts/owner_welcome", "boss@initech.test")
    browser = host_client(tenant.primary_host)

    page, form_path = open_link(browser, path)
    assert page.status_code == 200 and form_path.endswith("/set-password/")
    text = page.content.decode()
    assert "Choose your password for Initech" in text and "boss@initech.test" in text
    assert "Choose a new password" not in text

    done = choose(browser, form_path)
    assert done.status_code == 302 and done["Location"] == "/projects/"
    landed = browser.get("/projects/")
    assert landed.status_code == 200 and b"Your password is set. Welcome to Initech." in landed.content
    assert signed_in_as(browser) == "boss@initech.test"

    # The link worked once: the password it set changed the hash its token was made from.
    again, _ = open_link(host_client(tenant.primary_host), path)
    assert again.status_code == 404 and b"This link does not work" in again.content
    assert b"Choose your password" not in again.content
    # And the owner signs in with it.
    assert sign_in(host_client(tenant.primary_host), "boss@initech.test", NEW_PASSWORD).status_code == 302


def test_a_first_password_page_on_another_workspace_opens_nothing(tenant, other_tenant, make_role_user):
    # A link of acme's user (uid and token) pasted on globex's host: the uid means nothing there.
    from django.contrib.auth.tokens import default_token_generator

    with tenant_context(tenant):
        newcomer = make_role_user("first@acme.test", "member", password=None)
        uid = urlsafe_base64_encode(force_bytes(newcomer.pk))
        token = default_token_generator.make_token(newcomer)
    page, _ = open_link(host_client(other_tenant.primary_host), f"/accounts/reset/{uid}/{token}/")
    assert page.status_code == 404 and b"This link does not work" in page.content
    page, _ = open_link(host_client(tenant.primary_host), f"/accounts/reset/{uid}/{token}/")
    assert page.status_code == 200 and b"Choose your password for Acme" in page.content


# --- Password reset -------------------------------------------------------------------------------


def test_a_reset_says_choose_a_new_password_signs_in_and_lands_in_the_app(tenant, member, tenant_client):
    assert tenant_client.post("/accounts/password-reset/", {"email": member.email}).status_code == 302
    path = link_in("accounts/password_reset", member.email)

    page, form_path = open_link(tenant_client, path)
    assert page.status_code == 200
    assert b"Choose a new password" in page.content and b"Choose your password for" not in page.content

    done = choose(tenant_client, form_path)
    assert done.status_code == 302 and done["Location"] == "/projects/"
    landed = tenant_client.get("/projects/")
    assert b"Your password has been changed." in landed.content
    assert signed_in_as(tenant_client) == member.email

    assert sign_in(host_client(tenant.primary_host), member.email, PASSWORD).status_code == 200
    again, _ = open_link(host_client(tenant.primary_host), path)
    assert again.status_code == 404 and b"invalid" in again.content


def test_a_reset_ends_the_sessions_opened_with_the_old_password(tenant, member, web, tenant_client):
    elsewhere = web(member)
    assert signed_in_as(elsewhere) == member.email
    tenant_client.post("/accounts/password-reset/", {"email": member.email})
    _, form_path = open_link(tenant_client, link_in("accounts/password_reset", member.email))
    assert choose(tenant_client, form_path).status_code == 302

    assert signed_in_as(elsewhere) is None
    with tenant_context(tenant):
        # One row left: the session the reset opened.
        assert UserSession.objects.filter(user=member).count() == 1


def test_a_made_up_or_malformed_link_gets_a_clear_page(tenant_client):
    for path in ("/accounts/reset/MQ/abc-123/", "/accounts/reset/!!/x/", "/accounts/reset/OTk5OTk5/a-b/"):
        page, _ = open_link(tenant_client, path)
        assert page.status_code == 404, path
        assert b"This link does not work" in page.content and b"reset your password" in page.content


def test_a_deactivated_users_link_opens_nothing(tenant, owner, member, tenant_client):
    from tenant_apps.accounts import services

    tenant_client.post("/accounts/password-reset/", {"email": member.email})
    path = link_in("accounts/password_reset", member.email)
    with tenant_context(tenant):
        services.deactivate_user(owner, member)
    page, _ = open_link(tenant_client, path)
    assert page.status_code == 404 and b"This link does not work" in page.content


def test_the_old_done_page_of_a_reset_links_into_the_app(web, member, tenant_client):
    assert b'href="/accounts/sign-in/"' in tenant_client.get("/accounts/reset/done/").content
    assert b'href="/projects/"' in web(member).get("/accounts/reset/done/").content
