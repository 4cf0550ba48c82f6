"""The root domain's home: what the platform is, sign in to a workspace by its address, signup."""

import pytest
from django.conf import settings
from django.db import connection

from tenants.services import suspend_tenant
from tests.conftest import host_client, signed_in_client

pytestmark = pytest.mark.django_db


def without_csrf(content: bytes) -> bytes:
    # The only per-visitor part of the page: the find form's CSRF token.
    import re

    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


def test_the_home_says_what_the_platform_is_with_both_forms_and_their_labels(visitor):
    response = visitor.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "A workspace for every company" in page
    for feature in ("Its own subdomain", "Your team", "Projects and tasks", "A REST API", "An admin"):
        assert feature in page
    assert '<label for="id_slug">Workspace address</label>' in page
    assert '<label for="id_email">Your email address</label>' in page
    assert 'action="/workspace/sign-in/"' in page and 'action="/workspace/find/"' in page
    assert "csrfmiddlewaretoken" in page
    assert 'rel="icon"' in page and 'name="viewport"' in page
    assert 'href="/admin/"' in page  # the operator's sign-in, discreet in the footer


def test_the_home_is_the_same_page_for_a_visitor_an_operator_and_a_tenants_user(
    visitor, operator, owner, tenant
):
    anonymous = visitor.get("/")
    operator_browser = host_client(settings.BASE_DOMAIN)
    connection.set_schema_to_public()
    operator_browser.force_login(operator)
    as_operator = operator_browser.get("/")
    # A browser that holds acme's session cookie: it means nothing on the root domain.
    acme_browser = signed_in_client(tenant, owner)
    acme_browser.defaults["HTTP_HOST"] = settings.BASE_DOMAIN
    as_owner = acme_browser.get("/")
    assert anonymous.status_code == as_operator.status_code == as_owner.status_code == 200
    assert (
        without_csrf(anonymous.content) == without_csrf(as_operator.content) == without_csrf(as_owner.content)
    )


def test_the_home_links_to_signup_only_when_signup_is_enabled(visitor, settings):
    settings.SIGNUP_ENABLED = True
    assert b'href="/signup/"' in visitor.get("/").content
    settings.SIGNUP_ENABLED = False
    page = visitor.get("/").content
    assert b'href="/signup/"' not in page and b"Create a workspace" not in page
    assert visitor.get("/signup/").status_code == 404


def test_the_home_is_not_served_on_a_tenants_host(tenant_client):
    # A workspace's / is its app (a redirect to its projects), never the platform's home.
    assert b"Find my workspace" not in tenant_client.get("/", follow=True).content


def test_a_workspace_address_leads_to_its_sign_in_page(visitor, tenant):
    for typed in ("acme", "  ACME ", f"acme.{settings.BASE_DOMAIN}", f"https://acme.{settings.BASE_DOMAIN}/"):
        response = visitor.get("/workspace/sign-in/", {"slug": typed})
        assert response.status_code == 302, typed
        assert response["Location"] == tenant.url("/accounts/sign-in/")


def test_a_suspended_workspace_is_reached_and_its_host_says_it_is_suspended(visitor, other_tenant):
    suspend_tenant(other_tenant, "unpaid")
    response = visitor.get("/workspace/sign-in/", {"slug": "globex"})
    assert response.status_code == 302
    assert response["Location"] == other_tenant.url("/accounts/sign-in/")


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("", "This field is required."),
        ("a", "3 to 40 lowercase letters"),
        ("no such!", "3 to 40 lowercase letters"),
        ("x" * 300, "Ensure this value has at most 200 characters"),
        # Refused before the form by the request guard (tenants/request_guards.py), still a 400.
        ("acme\x00", "contains a control character"),
        ("nosuch", f"There is no workspace at nosuch.{settings.BASE_DOMAIN}."),
    ],
)
def test_a_bad_or_unknown_workspace_address_is_a_400_with_the_fields_error(visitor, tenant, typed, error):
    response = visitor.get("/workspace/sign-in/", {"slug": typed})
    assert response.status_code == 400
    page = response.content.decode()
    assert error in page.replace("&#x27;", "'")
    if "\x00" not in typed:
        assert 'aria-invalid="true"' in page and 'id="id_slug_error"' in page


def test_a_deleted_workspace_is_unknown_as_its_host_says(visitor, other_tenant):
    from tenants.lifecycle import delete_tenant

    delete_tenant(other_tenant)
    response = visitor.get("/workspace/sign-in/", {"slug": "globex"})
    assert response.status_code == 400
    assert b"There is no workspace at globex." in response.content


def test_the_sign_in_form_without_an_address_is_the_home(visitor):
    response = visitor.get("/workspace/sign-in/")
    assert response.status_code == 200 and b'<label for="id_slug">' in response.content


def test_other_methods_are_refused(visitor):
    assert visitor.post("/").status_code == 405
    assert visitor.post("/workspace/sign-in/", {"slug": "acme"}).status_code == 405
    assert visitor.get("/workspace/find/").status_code == 405


def test_the_forms_are_not_served_on_a_tenants_host(tenant):
    client = host_client(tenant.primary_host)
    assert client.get("/workspace/sign-in/", {"slug": "acme"}).status_code == 404
    assert client.post("/workspace/find/", {"email": "a@b.test"}).status_code == 404
