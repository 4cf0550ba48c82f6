"""Sign-in, sign-out, password change and reset on the tenant's subdomain."""

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD, host_client
from tests.mailbox import mail

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-password-42"


def sign_in(client, email, password=PASSWORD):
    return client.post("/accounts/sign-in/", {"username": email, "password": password})


def test_the_sign_in_page_is_branded_with_the_tenants_name(tenant_client, other_tenant_client):
    acme = tenant_client.get("/accounts/sign-in/")
    globex = other_tenant_client.get("/accounts/sign-in/")
    assert acme.status_code == globex.status_code == 200
    assert b"Sign in to Acme" in acme.content and b"Globex" not in acme.content
    assert b"Sign in to Globex" in globex.content


def test_a_user_signs_in_by_email_in_any_case_and_lands_home(tenant_client, member):
    response = sign_in(tenant_client, "MEMBER@Acme.test")
    assert response.status_code == 302 and response["Location"] == "/"
    assert tenant_client.get("/", follow=True).request["PATH_INFO"] == "/projects/"  # the workspace's app
    account = tenant_client.get("/accounts/")
    assert b"signed in to Acme as member@acme.test (member)" in account.content


def test_a_wrong_password_shows_the_form_again(tenant_client, member):
    response = sign_in(tenant_client, member.email, "not-the-password")
    assert response.status_code == 200
    assert b"Please enter a correct email address and password" in response.content
    assert tenant_client.get("/accounts/").status_code == 302


def test_pages_for_signed_in_users_send_outsiders_to_the_sign_in_page(tenant_client):
    response = tenant_client.get("/accounts/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/?next=")


def test_a_user_of_one_tenant_cannot_sign_in_on_another(other_tenant_client, member):
    response = sign_in(other_tenant_client, member.email)
    assert response.status_code == 200
    assert other_tenant_client.get("/accounts/").status_code == 302


def test_a_session_cookie_of_acme_is_worthless_on_globex_even_for_the_same_email(
    tenant, other_tenant, make_role_user, tenant_client
):
    make_role_user("twin@example.test", "member")
    make_role_user("twin@example.test", "member", other_tenant)
    assert sign_in(tenant_client, "twin@example.test").status_code == 302
    cookie = tenant_client.cookies[settings.SESSION_COOKIE_NAME].value

    globex = host_client(other_tenant.primary_host)
    globex.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = globex.get("/accounts/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")


def test_session_and_csrf_cookies_are_host_only(tenant_client, member):
    tenant_client.get("/accounts/sign-in/")
    sign_in(tenant_client, member.email)
    for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
        cookie = tenant_client.cookies[name]
        assert cookie["domain"] == "", f"{name} must not carry a Domain attribute"


def test_the_sign_in_form_requires_a_csrf_token(tenant, member):
    client = Client(HTTP_HOST=tenant.primary_host, enforce_csrf_checks=True)
    response = client.post("/accounts/sign-in/", {"username": member.email, "password": PASSWORD})
    assert response.status_code == 403

    page = client.get("/accounts/sign-in/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    response = client.post(
        "/accounts/sign-in/", {"username": member.email, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_sign_out_asks_on_get_and_signs_out_on_post(tenant_client, member):
    sign_in(tenant_client, member.email)
    page = tenant_client.get("/accounts/sign-out/")
    assert page.status_code == 200 and b"Sign out of Acme?" in page.content
    assert tenant_client.get("/accounts/").status_code == 200

    response = tenant_client.post("/accounts/sign-out/")
    assert response.status_code == 302 and response["Location"] == "/accounts/sign-in/"
    assert tenant_client.get("/accounts/").status_code == 302


def test_a_user_changes_their_password_with_the_validators_applied(tenant_client, member):
    sign_in(tenant_client, member.email)
    weak = tenant_client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert weak.status_code == 200 and b"too common" in weak.content

    response = tenant_client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password/changed/"
    other = host_client(member_host := tenant_client.defaults["HTTP_HOST"])
    assert sign_in(other, member.email).status_code == 200
    assert sign_in(host_client(member_host), member.email, NEW_PASSWORD).status_code == 302


def reset_link_from_outbox() -> str:
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    link = re.search(r"(http://\S+/accounts/reset/\S+/)", message.body).group(1)
    assert link in html
    return link


def test_password_reset_end_to_end(tenant, tenant_client, member):
    response = tenant_client.post("/accounts/password-reset/", {"email": "Member@acme.test"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"

    message = mail.outbox[0]
    assert message.to == ["member@acme.test"]
    assert message.subject == "Reset your Acme password"
    assert "Acme" in message.from_email
    link = reset_link_from_outbox()
    assert link.startswith(f"http://{tenant.primary_host}")
    path = urlsplit(link).path

    # Django swaps the token for a session marker and redirects to the set-password form.
    form = tenant_client.get(path, follow=True)
    assert form.status_code == 200 and b"Acme" in form.content
    set_password_url = form.redirect_chain[-1][0]
    done = tenant_client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302

    assert sign_in(host_client(tenant.primary_host), member.email, NEW_PASSWORD).status_code == 302
    # The link worked once.
    again = tenant_client.get(path, follow=True)
    assert b"invalid" in again.content.lower()


def test_password_reset_for_an_unknown_address_sends_nothing_but_says_the_same(tenant_client):
    response = tenant_client.post("/accounts/password-reset/", {"email": "nobody@acme.test"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_password_reset_on_globex_does_not_mail_an_acme_user(other_tenant_client, member):
    other_tenant_client.post("/accounts/password-reset/", {"email": member.email})
    assert mail.outbox == []


def test_a_same_origin_https_post_on_a_tenant_subdomain_passes_the_csrf_origin_check(tenant, member):
    # No wildcard in CSRF_TRUSTED_ORIGINS is needed: Django trusts the request's own host, so
    # every tenant subdomain is covered, and one tenant's pages are not trusted by another.
    def post(origin):
        client = Client(HTTP_HOST=tenant.primary_host, enforce_csrf_checks=True)
        page = client.get("/accounts/sign-in/", secure=True)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
        return client.post(
            "/accounts/sign-in/",
            {"username": member.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
            secure=True,
            HTTP_ORIGIN=origin,
        )

    assert post(f"https://{tenant.primary_host}").status_code == 302
    assert post(f"https://globex.{settings.BASE_DOMAIN}").status_code == 403


def test_password_reset_emails_are_limited_per_address_without_saying_so(tenant_client, member):
    limit = settings.PASSWORD_RESET_EMAILS_PER_HOUR
    for _ in range(limit + 2):
        response = tenant_client.post("/accounts/password-reset/", {"email": member.email})
        assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == limit


def test_reset_email_limits_are_counted_per_schema(tenant, other_tenant, make_role_user):
    # The same address, from the same client, on two workspaces: two separate allowances.
    from tenant_apps.accounts.services import allow_password_reset_email

    limit = settings.PASSWORD_RESET_EMAILS_PER_HOUR
    with tenant_context(tenant):
        assert all(allow_password_reset_email("twin@example.test", "10.0.0.1") for _ in range(limit))
        assert not allow_password_reset_email("twin@example.test", "10.0.0.1")
    with tenant_context(other_tenant):
        assert allow_password_reset_email("twin@example.test", "10.0.0.1")


def test_an_acme_reset_link_does_not_work_on_globex(other_tenant, tenant_client, member):
    from django_tenants.utils import tenant_context

    from tenant_apps.accounts.models import User

    # Give globex a user with the same primary key (the only thing the link's uid encodes).
    with tenant_context(other_tenant):
        if not User.objects.filter(pk=member.pk).exists():
            twin = User(pk=member.pk, email="pk-twin@globex.test")
            twin.set_password(PASSWORD)
            twin.save()

    tenant_client.post("/accounts/password-reset/", {"email": member.email})
    path = urlsplit(reset_link_from_outbox()).path
    response = host_client(other_tenant.primary_host).get(path, follow=True)
    assert b"invalid" in response.content.lower()
    assert b"new_password1" not in response.content
