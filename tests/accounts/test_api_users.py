"""/api/v1/me/ and /api/v1/users/: four personas on every endpoint, roles enforced, ids are UUIDs."""

import uuid

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.accounts.models import Invitation
from tenant_apps.accounts.roles import role_of
from tests.mailbox import mail

pytestmark = pytest.mark.django_db


def user_url(user):
    return f"/api/v1/users/{user.public_id}/"


# --- /me/ -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona, role", [("owner", "owner"), ("admin", "admin"), ("member", "member")])
def test_me_shows_the_signed_in_user_and_role(request, api_client, persona, role):
    user = request.getfixturevalue(persona)
    body = api_client(user).get("/api/v1/me/").json()
    assert body["id"] == str(user.public_id) and body["role"] == role
    assert "password" not in body and "pk" not in body


def test_me_refuses_outsiders_and_other_tenants_users(
    outsider_api, stranger, tenant, api_client, other_tenant
):
    assert outsider_api.get("/api/v1/me/").status_code == 401
    # stranger's token is valid on globex, not on acme
    client = api_client(stranger, where=other_tenant)
    assert client.get("/api/v1/me/").status_code == 200
    client.defaults["HTTP_HOST"] = tenant.primary_host
    assert client.get("/api/v1/me/").status_code == 401


# --- GET /users/ ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "admin", "member"])
def test_every_role_lists_the_users_of_its_own_workspace(
    request, api_client, persona, admin, member, stranger, django_assert_max_num_queries
):
    client = api_client(request.getfixturevalue(persona))
    # Token, user, role permissions (two), page, count, groups: none per listed user.
    with django_assert_max_num_queries(10):
        response = client.get("/api/v1/users/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    emails = [u["email"] for u in body["results"]]
    assert {"owner@acme.test", "admin@acme.test", "member@acme.test"} <= set(emails)
    assert "stranger@globex.test" not in emails
    assert all(uuid.UUID(u["id"]) for u in body["results"])


def test_an_account_without_a_role_sees_itself_but_not_the_directory(api_client, nobody, member):
    client = api_client(nobody)
    me = client.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["role"] is None
    assert client.get("/api/v1/users/").status_code == 403
    assert client.get(f"/api/v1/users/{member.public_id}/").status_code == 403


def test_the_user_list_is_paginated(api_client, owner, make_role_user):
    for i in range(3):
        make_role_user(f"user{i}@acme.test", "member")
    body = api_client(owner).get("/api/v1/users/?page_size=2").json()
    assert len(body["results"]) == 2 and body["next"] and body["count"] >= 4
    assert api_client(owner).get("/api/v1/users/?page=999").status_code == 404


def test_outsiders_and_other_tenants_users_cannot_list(outsider_api, stranger, other_tenant, tenant):
    from tests.accounts.conftest import api_client_for, issue_token

    assert outsider_api.get("/api/v1/users/").status_code == 401
    token = issue_token(other_tenant, stranger)
    assert api_client_for(tenant.primary_host, token).get("/api/v1/users/").status_code == 401


# --- GET /users/{id}/ -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "admin", "member"])
def test_every_role_reads_one_user(request, api_client, persona, member):
    response = api_client(request.getfixturevalue(persona)).get(user_url(member))
    assert response.status_code == 200 and response.json()["email"] == "member@acme.test"


def test_an_id_of_an_acme_user_is_a_404_on_globex(api_client, member, stranger, other_tenant):
    client = api_client(stranger, where=other_tenant)
    assert client.get(user_url(member)).status_code == 404
    assert client.patch(user_url(member), {"role": "member"}, format="json").status_code == 404
    assert client.delete(user_url(member)).status_code == 404


def test_unknown_or_malformed_ids_are_404(api_client, owner):
    client = api_client(owner)
    assert client.get(f"/api/v1/users/{uuid.uuid4()}/").status_code == 404
    assert client.get("/api/v1/users/42/").status_code == 404


def test_outsiders_cannot_read_a_user(outsider_api, member):
    assert outsider_api.get(user_url(member)).status_code == 401


# --- PATCH /users/{id}/ ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "admin"])
def test_owners_and_admins_change_a_members_role(request, tenant, api_client, persona, member):
    response = api_client(request.getfixturevalue(persona)).patch(
        user_url(member), {"role": "admin"}, format="json"
    )
    assert response.status_code == 200 and response.json()["role"] == "admin"
    with tenant_context(tenant):
        member.refresh_from_db()
        assert role_of(member) == "admin"


def test_a_member_cannot_change_roles(api_client, member, admin):
    response = api_client(member).patch(user_url(admin), {"role": "member"}, format="json")
    assert response.status_code == 403
    assert api_client(member).patch(user_url(member), {"role": "owner"}, format="json").status_code == 403


def test_an_admin_cannot_make_anyone_owner_nor_touch_an_owner(api_client, admin, member, owner):
    client = api_client(admin)
    assert client.patch(user_url(member), {"role": "owner"}, format="json").status_code == 403
    assert client.patch(user_url(owner), {"role": "member"}, format="json").status_code == 403
    assert client.delete(user_url(owner)).status_code == 403


def test_the_last_owner_cannot_be_demoted_through_the_api(api_client, owner):
    response = api_client(owner).patch(user_url(owner), {"role": "admin"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"role": ["A workspace must always have at least one owner."]}


def test_outsiders_cannot_change_roles(outsider_api, member):
    assert outsider_api.patch(user_url(member), {"role": "admin"}, format="json").status_code == 401


# --- DELETE /users/{id}/ --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "admin"])
def test_owners_and_admins_deactivate_a_member(request, tenant, api_client, persona, member):
    member_client = api_client(member)
    assert api_client(request.getfixturevalue(persona)).delete(user_url(member)).status_code == 204
    with tenant_context(tenant):
        member.refresh_from_db()
    assert not member.is_active
    assert member_client.get("/api/v1/me/").status_code == 401


def test_a_member_cannot_deactivate_anyone(api_client, member, admin):
    assert api_client(member).delete(user_url(admin)).status_code == 403


def test_the_last_owner_cannot_be_removed_through_the_api(api_client, owner):
    response = api_client(owner).delete(user_url(owner))
    assert response.status_code == 400
    assert "at least one owner" in response.json()["user"][0]


def test_outsiders_cannot_deactivate(outsider_api, member):
    assert outsider_api.delete(user_url(member)).status_code == 401


# --- POST /users/ (invite) ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "admin"])
def test_owners_and_admins_invite_through_the_users_endpoint(request, tenant, api_client, persona):
    response = api_client(request.getfixturevalue(persona)).post(
        "/api/v1/users/", {"email": "New@acme.test", "role": "member"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["email"] == "new@acme.test" and response.json()["status"] == "pending"
    assert mail.outbox[0].to == ["new@acme.test"]


def test_members_and_outsiders_cannot_invite(api_client, member, outsider_api):
    assert (
        api_client(member).post("/api/v1/users/", {"email": "x@acme.test"}, format="json").status_code == 403
    )
    assert outsider_api.post("/api/v1/users/", {"email": "x@acme.test"}, format="json").status_code == 401
    assert mail.outbox == []


def test_an_invite_from_globex_creates_nothing_in_acme(tenant, api_client, stranger, other_tenant):
    client = api_client(stranger, where=other_tenant)
    assert client.post("/api/v1/users/", {"email": "x@acme.test"}, format="json").status_code == 201
    with tenant_context(tenant):
        assert not Invitation.objects.filter(email="x@acme.test").exists()
