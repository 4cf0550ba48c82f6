"""Wagtail's admin at /cms/: operators only, with their second factor when required, on the root
domain only (shared_apps/site_pages/admin_access.py). Its own login form is no side door."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice

from shared_apps.site_pages.models import HomePage
from tests.conftest import host_client, signed_in_client
from tests.factories import PASSWORD
from tests.tenants.test_operator_two_factor import code_of

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def operator_browser(operator, site_pages):
    browser = host_client(settings.BASE_DOMAIN)
    connection.set_schema_to_public()
    browser.force_login(operator)
    return browser


@pytest.fixture
def editor(make_user):
    """A public-schema account that is not an operator (not staff), yet holds Wagtail's own
    "access admin" permission: Wagtail alone would let it in."""
    user = make_user("editor@platform.test", None)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    return user


def test_an_operator_reaches_the_dashboard_and_edits_the_home(operator_browser):
    assert operator_browser.get("/cms/").status_code == 200
    home = HomePage.objects.get()
    edit = operator_browser.get(f"/cms/pages/{home.pk}/edit/")
    assert edit.status_code == 200 and HomePage.objects.get().title in edit.content.decode()


@pytest.mark.parametrize("path", ["/cms/", "/cms/pages/", "/cms/login/", "/cms/password_reset/"])
def test_a_signed_out_visitor_is_sent_to_the_operators_sign_in(root_client, path):
    response = root_client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{ADMIN_LOGIN}?next={path.replace('/', '%2F')}"


def test_wagtails_login_form_signs_no_one_in(root_client, editor, operator):
    for email in (editor.email, operator.email):
        response = root_client.post("/cms/login/", {"username": email, "password": PASSWORD})
        assert response.status_code == 302 and response["Location"].startswith(ADMIN_LOGIN)
    assert root_client.get("/cms/").status_code == 302


def test_a_public_account_that_is_not_an_operator_is_refused(editor, site_pages):
    browser = host_client(settings.BASE_DOMAIN)
    connection.set_schema_to_public()
    browser.force_login(editor)
    assert browser.get("/cms/").status_code == 403
    assert browser.get(f"/cms/pages/{HomePage.objects.get().pk}/edit/").status_code == 403


def test_a_tenants_user_is_a_stranger_on_the_root_domain(tenant, owner, site_pages):
    # acme's session cookie means nothing on the root domain: signed out there.
    browser = signed_in_client(tenant, owner)
    browser.defaults["HTTP_HOST"] = settings.BASE_DOMAIN
    response = browser.get("/cms/")
    assert response.status_code == 302 and response["Location"].startswith(ADMIN_LOGIN)


def test_there_is_no_cms_on_a_tenants_host(tenant, owner, web):
    for browser in (web(None), web(owner)):
        for path in ("/cms/", "/cms/login/", "/cms/pages/"):
            assert browser.get(path).status_code == 404, path


def test_an_operator_gives_the_second_factor_before_the_cms_when_required(settings, operator, root_client):
    settings.OPERATOR_TWO_FACTOR_REQUIRED = True
    connection.set_schema_to_public()
    device = TOTPDevice.objects.create(user=operator, name="app", confirmed=True)
    signed_in = root_client.post(
        f"{ADMIN_LOGIN}?next=/cms/", {"username": operator.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 302

    for path in ("/cms/", f"/cms/pages/{HomePage.objects.get().pk}/edit/", "/cms/login/"):
        response = root_client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/two-factor/?next="), path

    verified = root_client.post(
        "/admin/two-factor/?next=/cms/", {"action": "verify", "code": code_of(device)}
    )
    assert verified.status_code == 302 and verified["Location"] == "/cms/"
    assert root_client.get("/cms/").status_code == 200


def test_an_operator_without_a_device_is_sent_to_set_one_up_when_required(settings, operator_browser):
    settings.OPERATOR_TWO_FACTOR_REQUIRED = True
    response = operator_browser.get("/cms/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/two-factor/")
