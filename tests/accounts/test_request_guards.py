"""Hostile requests get a 400, never a 500: control characters in the path, query string or headers
(tenants/request_guards.py), NUL in a Bearer token, deeply nested JSON, and a garbage
X-Forwarded-For behind a trusted proxy."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

GUARD = "tenants.request_guards.RequestGuardMiddleware"


def hosts(tenant):
    return [tenant.primary_host, settings.BASE_DOMAIN]


def api_paths(tenant):
    """A host and an endpoint of its API that needs a token."""
    return [(tenant.primary_host, "/api/v1/me/"), (settings.BASE_DOMAIN, "/api/v1/tenants/")]


@pytest.fixture
def without_guard(settings):
    """The rest of the stack on its own: each layer refuses hostile input by itself too."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != GUARD]


# --- the guard middleware ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/accounts/sign-in/%00", "/api/v1/me%01/", "/admin/%7f"],
)
def test_a_control_character_in_the_path_is_a_400(tenant, path):
    for host in hosts(tenant):
        assert Client(HTTP_HOST=host).get(path).status_code == 400


@pytest.mark.parametrize(
    "query",
    ["next=%00", "q=a%00b", "%00=1", "page=1\x00", "term=%1b[31m"],
)
def test_a_control_character_in_the_query_string_is_a_400(tenant, query):
    for host in hosts(tenant):
        assert Client(HTTP_HOST=host).get(f"/accounts/sign-in/?{query}").status_code == 400


def test_line_breaks_and_tabs_in_query_values_are_allowed(tenant):
    response = Client(HTTP_HOST=tenant.primary_host).get("/accounts/sign-in/?next=%2Fa%0D%0Ab%09c")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header", ["HTTP_USER_AGENT", "HTTP_ACCEPT_LANGUAGE", "HTTP_X_ANYTHING", "HTTP_COOKIE"]
)
def test_a_nul_in_any_header_is_a_400(tenant, header):
    for host in hosts(tenant):
        assert Client(HTTP_HOST=host, **{header: "a\x00b"}).get("/accounts/sign-in/").status_code == 400


def test_api_paths_get_the_api_error_format(tenant):
    response = Client(HTTP_HOST=tenant.primary_host).get("/api/v1/me/?x=%00")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_a_tab_in_a_header_value_is_allowed(tenant):
    response = Client(HTTP_HOST=tenant.primary_host, HTTP_USER_AGENT="a\tb").get("/accounts/sign-in/")
    assert response.status_code == 200


# --- Bearer tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["abc\x00def", "\x00", "a" * 14 + "\x00" + "b" * 49])
def test_a_nul_in_a_bearer_token_is_refused_on_every_host(tenant, token):
    for host, path in api_paths(tenant):
        client = APIClient(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get(path).status_code == 400
        assert client.post("/api/v1/auth/token/", {}, format="json").status_code == 400


@pytest.mark.parametrize("token", ["abc\x00def", "x" * 15 + "\x00", "é" * 20, "a;b", "a" * 5000])
def test_the_token_authentication_refuses_a_malformed_token_by_itself(tenant, without_guard, token):
    for host, path in api_paths(tenant):
        client = APIClient(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.get(path)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token."}


# --- deeply nested JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"[" * 5000, b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000]
)
def test_deeply_nested_json_is_a_400_on_the_tenant_api(api_client, owner, body):
    response = api_client(owner).generic(
        "POST", "/api/v1/invitations/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"detail"}


def test_deeply_nested_json_is_a_400_before_sign_in_on_both_hosts(tenant):
    for host in hosts(tenant):
        response = APIClient(HTTP_HOST=host).generic(
            "POST", "/api/v1/auth/token/", b"[" * 5000, content_type="application/json"
        )
        assert response.status_code == 400


def test_reasonably_nested_json_still_parses(api_client, owner):
    # Brackets inside strings do not count as nesting.
    response = api_client(owner).post(
        "/api/v1/invitations/",
        {"email": "a@b.test", "role": "member", "note": "[[[[{{{{" * 100},
        format="json",
    )
    assert response.status_code == 201


# --- X-Forwarded-For behind a trusted proxy ------------------------------------------------------


@pytest.mark.parametrize(
    "forwarded",
    ["not-an-address", "", "  ,  ", "1.2.3.4, garbage", "999.1.1.1", "1.2.3.4:80", "x" * 5000],
)
def test_a_garbage_forwarded_for_falls_back_to_the_peer_address(tenant, member, settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    client = Client(HTTP_HOST=tenant.primary_host, REMOTE_ADDR="172.18.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    response = client.post("/accounts/sign-in/", {"username": member.email, "password": "wrong"})
    assert response.status_code == 200  # the form again, with its error
    with tenant_context(tenant):
        assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["172.18.0.2"]
    api = APIClient(HTTP_HOST=tenant.primary_host, REMOTE_ADDR="172.18.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    response = api.post("/api/v1/auth/token/", {"email": member.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_the_address_the_proxy_appended_is_normalised(rf, settings):
    from tenants.request_guards import client_address

    settings.TRUSTED_PROXY_COUNT = 2
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 2001:DB8::0001 , 10.0.0.9")
    assert client_address(request) == "2001:db8::1"
    settings.TRUSTED_PROXY_COUNT = 3
    assert client_address(request) == "6.6.6.6"
    settings.TRUSTED_PROXY_COUNT = 4  # fewer hops than proxies: the request did not come through them all
    assert client_address(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    zoned = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="fe80::1%eth0")
    assert client_address(zoned) == "fe80::1"


def test_without_proxies_forwarded_for_is_ignored(rf, settings):
    from tenants.request_guards import client_address

    settings.TRUSTED_PROXY_COUNT = 0
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_address(request) == "10.0.0.1"
    assert client_address(rf.get("/", REMOTE_ADDR="garbage")) is None
