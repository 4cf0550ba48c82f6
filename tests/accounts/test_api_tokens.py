"""API tokens: issued per tenant, hashed at rest, expiring, revocable one by one or all at once."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from knox.models import AuthToken

from tests.clients import api_client_for, issue_token
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def get_token(client, email, password=PASSWORD):
    return client.post("/api/v1/auth/token/", {"email": email, "password": password}, format="json")


def test_a_user_exchanges_email_and_password_for_a_token_that_opens_the_api(tenant, member, outsider_api):
    response = get_token(outsider_api, "Member@Acme.test")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    expires_at = timezone.datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (timezone.now() + settings.REST_KNOX["TOKEN_TTL"])) < timedelta(minutes=1)

    me = api_client_for(tenant.primary_host, body["token"]).get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "member@acme.test" and me.json()["id"] == str(member.public_id)


def test_the_token_is_sent_as_a_bearer_token(tenant, member):
    token = issue_token(tenant, member)
    client = api_client_for(tenant.primary_host)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me/").status_code == 401


def test_tokens_are_not_stored_in_clear(tenant, member, outsider_api):
    token = get_token(outsider_api, member.email).json()["token"]
    with tenant_context(tenant):
        row = AuthToken.objects.get(user=member)
        assert token not in (row.digest, row.token_key) and len(row.digest) == 128
        stored = [str(v) for v in AuthToken.objects.values_list(flat=False).get(pk=row.pk)]
    assert all(token not in value for value in stored)


def test_wrong_credentials_get_a_400_with_the_same_message_for_unknown_accounts(member, outsider_api):
    wrong = get_token(outsider_api, member.email, "wrong-password")
    unknown = get_token(outsider_api, "nobody@acme.test", "wrong-password")
    assert wrong.status_code == unknown.status_code == 400
    assert (
        wrong.json()
        == unknown.json()
        == {"non_field_errors": ["Unable to sign in with this email and password."]}
    )


def test_a_deactivated_user_gets_no_token_and_their_token_stops_working(
    tenant, owner, member, api_client, outsider_api
):
    from tenant_apps.accounts.services import deactivate_user

    client = api_client(member)
    with tenant_context(tenant):
        deactivate_user(owner, member)
    assert client.get("/api/v1/me/").status_code == 401
    assert get_token(outsider_api, member.email).status_code == 400


def test_an_acme_token_is_rejected_on_globex_even_for_the_same_email(tenant, other_tenant, make_role_user):
    acme_twin = make_role_user("twin@example.test", "owner")
    make_role_user("twin@example.test", "owner", other_tenant)
    token = issue_token(tenant, acme_twin)
    assert api_client_for(tenant.primary_host, token).get("/api/v1/me/").status_code == 200
    assert api_client_for(other_tenant.primary_host, token).get("/api/v1/me/").status_code == 401


def test_an_acme_token_is_rejected_on_the_root_domain(tenant, member):
    token = issue_token(tenant, member)
    client = api_client_for(settings.BASE_DOMAIN, token)
    assert client.get("/api/v1/tenants/").status_code == 401


def test_an_operator_token_is_rejected_on_a_tenant_host(tenant, make_user):
    operator = make_user("ops@platform.test", None, is_staff=True, is_superuser=True)
    token = issue_token(None, operator)
    assert api_client_for(settings.BASE_DOMAIN, token).get("/api/v1/tenants/").status_code == 200
    assert api_client_for(tenant.primary_host, token).get("/api/v1/me/").status_code == 401


def test_an_expired_token_is_refused(tenant, member):
    token = issue_token(tenant, member)
    with tenant_context(tenant):
        AuthToken.objects.filter(user=member).update(expiry=timezone.now() - timedelta(seconds=1))
    assert api_client_for(tenant.primary_host, token).get("/api/v1/me/").status_code == 401


def test_a_revoked_token_is_refused_and_the_others_keep_working(tenant, member):
    first, second = issue_token(tenant, member), issue_token(tenant, member)
    client = api_client_for(tenant.primary_host, first)
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401
    assert api_client_for(tenant.primary_host, second).get("/api/v1/me/").status_code == 200


def test_revoke_all_refuses_every_token_of_the_user_only(tenant, member, admin):
    mine = [issue_token(tenant, member) for _ in range(3)]
    theirs = issue_token(tenant, admin)
    assert (
        api_client_for(tenant.primary_host, mine[0]).post("/api/v1/auth/token/revoke-all/").status_code == 204
    )
    for token in mine:
        assert api_client_for(tenant.primary_host, token).get("/api/v1/me/").status_code == 401
    assert api_client_for(tenant.primary_host, theirs).get("/api/v1/me/").status_code == 200


def test_revoking_needs_a_token_or_session(outsider_api):
    assert outsider_api.delete("/api/v1/auth/token/").status_code == 401
    assert outsider_api.post("/api/v1/auth/token/revoke-all/").status_code == 401


def test_a_garbage_or_non_ascii_bearer_token_is_a_401(tenant):
    for header in ("Bearer x", "Bearer ünïcode", "Bearer a b", "Bearer"):
        client = api_client_for(tenant.primary_host)
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get("/api/v1/me/").status_code == 401, header


def test_the_browsable_api_works_with_the_session_of_the_tenant_site(
    tenant, tenant_client, member, other_tenant
):
    assert (
        tenant_client.post("/accounts/sign-in/", {"username": member.email, "password": PASSWORD}).status_code
        == 302
    )
    response = tenant_client.get("/api/v1/me/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"member@acme.test" in response.content

    from tests.clients import host_client

    globex = host_client(other_tenant.primary_host)
    globex.cookies[settings.SESSION_COOKIE_NAME] = tenant_client.cookies[settings.SESSION_COOKIE_NAME].value
    assert globex.get("/api/v1/me/").status_code == 401


def test_unsafe_api_requests_with_a_session_need_the_csrf_token(tenant, member):
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST=tenant.primary_host, enforce_csrf_checks=True)
    with tenant_context(tenant):
        client.force_login(member)
    assert client.get("/api/v1/me/").status_code == 200
    assert client.post("/api/v1/auth/token/revoke-all/").status_code == 403


def test_a_new_password_revokes_every_api_token(tenant, member, tenant_client):
    token = issue_token(tenant, member)
    assert (
        tenant_client.post("/accounts/sign-in/", {"username": member.email, "password": PASSWORD}).status_code
        == 302
    )
    new = "a-brand-new-long-password"
    response = tenant_client.post(
        "/accounts/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert api_client_for(tenant.primary_host, token).get("/api/v1/me/").status_code == 401


def test_getting_a_token_records_the_sign_in(tenant, member, outsider_api):
    assert member.last_login is None
    assert get_token(outsider_api, member.email).status_code == 200
    with tenant_context(tenant):
        member.refresh_from_db()
    assert member.last_login is not None
