"""The one-time login hand-off: a link minted on one host that signs its user in on the tenant's."""

import threading
from urllib.parse import urlsplit

import pytest
from django.db import connections
from django_tenants.utils import tenant_context

from tenant_apps.accounts.handoff import issue_login_handoff
from tests.conftest import host_client

pytestmark = pytest.mark.django_db


def handoff_path(tenant, user, next_path="/"):
    with tenant_context(tenant):
        url = issue_login_handoff(user, next_path)
    parts = urlsplit(url)
    assert parts.hostname == tenant.primary_host
    return parts.path


def signed_in_as(client):
    response = client.get("/accounts/")
    return response.status_code == 200 and response.context["user"].email


def test_a_handoff_link_signs_its_user_in_on_the_tenants_host_and_goes_home(tenant, member):
    client = host_client(tenant.primary_host)
    response = client.get(handoff_path(tenant, member))
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == member.email


def test_a_handoff_response_is_never_stored_and_sends_no_referer(tenant, member):
    response = host_client(tenant.primary_host).get(handoff_path(tenant, member))
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    refused = host_client(tenant.primary_host).get("/accounts/handoff/not-a-token/")
    assert "no-store" in refused["Cache-Control"] and refused["Referrer-Policy"] == "no-referrer"


def test_a_handoff_link_keeps_a_same_host_next_path(tenant, member):
    response = host_client(tenant.primary_host).get(handoff_path(tenant, member, "/projects/?page=2"))
    assert response["Location"] == "/projects/?page=2"


@pytest.mark.parametrize(
    "next_path", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", ""]
)
def test_a_handoff_link_never_sends_its_user_to_another_host(tenant, member, next_path):
    response = host_client(tenant.primary_host).get(handoff_path(tenant, member, next_path))
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_handoff_link_works_once(tenant, member):
    path = handoff_path(tenant, member)
    assert host_client(tenant.primary_host).get(path).status_code == 302
    again = host_client(tenant.primary_host)
    response = again.get(path)
    assert response.status_code == 404
    assert b"already used" in response.content and b'href="/accounts/sign-in/"' in response.content
    assert signed_in_as(again) is False


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uses_of_a_handoff_link_sign_in_once(tenant, member):
    path = handoff_path(tenant, member)
    start = threading.Barrier(8)
    codes = []

    def use():
        client = host_client(tenant.primary_host)
        start.wait()
        try:
            codes.append(client.get(path).status_code)
        finally:
            connections.close_all()  # this thread's own database connection

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [302] + [404] * 7


def test_an_expired_handoff_link_is_refused(tenant, member, settings):
    path = handoff_path(tenant, member)
    settings.LOGIN_HANDOFF_SECONDS = -1  # as if its minute had passed
    client = host_client(tenant.primary_host)
    response = client.get(path)
    assert response.status_code == 404 and b"expired" in response.content
    assert signed_in_as(client) is False


def test_a_handoff_link_minted_with_no_lifetime_never_works(tenant, member, settings):
    settings.LOGIN_HANDOFF_SECONDS = 0
    assert host_client(tenant.primary_host).get(handoff_path(tenant, member)).status_code == 404


def test_a_handoff_link_of_acme_is_refused_on_globex_and_stays_unused(tenant, other_tenant, member):
    path = handoff_path(tenant, member)
    globex = host_client(other_tenant.primary_host)
    assert globex.get(path).status_code == 404
    assert signed_in_as(globex) is False
    # The failed attempt elsewhere did not burn the owner's link.
    assert host_client(tenant.primary_host).get(path).status_code == 302


@pytest.mark.parametrize(
    "change", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: t + "x", lambda t: "x" * 500]
)
def test_a_tampered_handoff_token_is_refused(tenant, member, change):
    path = handoff_path(tenant, member)
    token = path.rstrip("/").rsplit("/", 1)[1]
    client = host_client(tenant.primary_host)
    assert client.get(f"/accounts/handoff/{change(token)}/").status_code == 404
    assert signed_in_as(client) is False


def test_a_handoff_link_of_a_deactivated_user_is_refused_with_a_clear_page(tenant, member):
    path = handoff_path(tenant, member)
    with tenant_context(tenant):
        member.is_active = False
        member.save(update_fields=["is_active"])
    response = host_client(tenant.primary_host).get(path)
    assert response.status_code == 400 and b"deactivated" in response.content


def test_a_password_change_voids_a_handoff_link(tenant, member):
    path = handoff_path(tenant, member)
    with tenant_context(tenant):
        member.set_password("a-brand-new-password-77")
        member.save(update_fields=["password"])
    assert host_client(tenant.primary_host).get(path).status_code == 404


def test_a_handoff_replaces_another_users_session_with_a_new_key(tenant, member, admin, web):
    client = web(admin)
    old_key = client.cookies["sessionid"].value
    assert client.get(handoff_path(tenant, member)).status_code == 302
    assert signed_in_as(client) == member.email
    assert client.cookies["sessionid"].value != old_key


def test_a_handoff_for_the_already_signed_in_user_rotates_the_session_key(tenant, member, web):
    client = web(member)
    old_key = client.cookies["sessionid"].value
    assert client.get(handoff_path(tenant, member)).status_code == 302
    assert signed_in_as(client) == member.email
    assert client.cookies["sessionid"].value != old_key


def test_the_stored_handoff_holds_a_digest_not_the_token(tenant, member):
    from django.core.cache import cache

    path = handoff_path(tenant, member)
    token = path.rstrip("/").rsplit("/", 1)[1]
    with tenant_context(tenant):
        keys = list(cache._cache.get_client().scan_iter(match="*accounts:handoff:*"))
    assert keys and all(token.encode() not in key for key in keys)


def test_a_handoff_cannot_be_minted_outside_a_tenants_schema(member):
    with pytest.raises(RuntimeError):
        issue_login_handoff(member)
